import { UsageError } from "../components/common/errors.js";
import { UnsupportedMediaTypeError } from "./errors.js";

/**
 * The one rule for request bodies' media types (serving/openapi.yaml declares
 * the same). Every route with a body reads JSON, sent as `application/json`,
 * `text/plain` or with no Content-Type at all (clients that omit it still
 * mean JSON), in UTF-8 (a charset other than utf-8 is a 415). Routes that
 * speak Seldon's microservice form (`/predict`, `/api/v1.0/predictions`) also
 * read `application/x-www-form-urlencoded`: a `json=` field is a Seldon
 * message (what `SeldonClient(...).microservice(transport="rest")` posts), and
 * a form body that is itself one JSON object is that object (what `curl -d`
 * sends). Anything else is a 415.
 */
export const JSON_MEDIA_TYPES = ["application/json", "text/plain"] as const;
export const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/** A `json=` field that is no JSON: a malformed Seldon message (answered in Seldon's error shape). */
export class MalformedSeldonForm extends UsageError {}

/** A Seldon message that arrived as the `json=` field of a form-encoded body. */
export class SeldonFormMessage {
  constructor(readonly message: unknown) {}
}

/** The media type of a Content-Type header, lower case without parameters, and its charset if any. */
function parseContentType(header: string): { type: string; charset?: string } {
  const [type = "", ...params] = header.split(";");
  let charset: string | undefined;
  for (const param of params) {
    const [key, value] = param.split("=");
    if (key?.trim().toLowerCase() === "charset") charset = value?.trim().replace(/^"|"$/g, "").toLowerCase();
  }
  return { type: type.trim().toLowerCase(), ...(charset !== undefined ? { charset } : {}) };
}

const SEND = "send application/json (the binary tensor extension is not supported)";

/**
 * Check a request's Content-Type for a route before its body is read: a 415
 * naming the type when the route does not read it. `form` says whether the
 * route reads the form-encoded body.
 */
export function checkContentType(header: string | undefined, form: boolean): void {
  if (header === undefined) return;
  const { type, charset } = parseContentType(header);
  const shown = JSON.stringify(header.slice(0, 80));
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new UnsupportedMediaTypeError(`unsupported charset in Content-Type ${shown}: send UTF-8`);
  }
  if ((JSON_MEDIA_TYPES as readonly string[]).includes(type)) return;
  if (type === FORM_MEDIA_TYPE && form) return;
  const also = form ? ` or ${FORM_MEDIA_TYPE} with a json= field` : "";
  throw new UnsupportedMediaTypeError(`unsupported Content-Type ${shown}: ${SEND}${also}`);
}

/** The unsupported-type error for a body no route reads (the parser's fallback). */
export function unsupportedType(header: string): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(
    `unsupported Content-Type ${JSON.stringify(header.slice(0, 80))}: ${SEND}`,
  );
}

/** A form-encoded body: one JSON object as is, or a Seldon message from its `json=` field. */
export function parseFormBody(body: string): unknown {
  const text = body.trim();
  if (text.startsWith("{")) return parseJson(text, "the form-encoded body");
  const json = new URLSearchParams(text).get("json");
  if (json === null) {
    throw new UsageError(
      "a form-encoded body must carry a json= field (a Seldon message) or be one JSON object",
    );
  }
  try {
    return new SeldonFormMessage(JSON.parse(json));
  } catch (error) {
    throw new MalformedSeldonForm(`malformed JSON in the json= field: ${(error as Error).message}`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`malformed JSON in ${what}: ${(error as Error).message}`);
  }
}
