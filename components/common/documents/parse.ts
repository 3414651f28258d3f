import type { z } from "zod";
import { type ChurnError, InputError, messageOf, UsageError } from "../errors.js";

/** One problem zod found, as every parser here reports it. */
export type SchemaIssue = z.core.$ZodIssue;

/**
 * Where in a document or request body a problem is, the way people write it:
 * `customers[0].recency`; `top` names the whole value.
 */
export function issuePath(path: readonly PropertyKey[], top = "(top)"): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || top;
}

/**
 * The one way schema problems are described: `path: message; path: message`,
 * the first `limit` of them and how many more. `top` names the whole value
 * ("(top)" for a document, "body" for a request body).
 */
export function describeIssues(
  issues: readonly SchemaIssue[],
  options: { top?: string; limit?: number } = {},
): string {
  const limit = options.limit ?? issues.length;
  const shown = issues.slice(0, limit).map((i) => `${issuePath(i.path, options.top)}: ${i.message}`);
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : "";
  return shown.join("; ") + more;
}

/** Every problem of a failed parse in one line: `path: message; path: message`. */
export function formatIssues(error: z.ZodError): string {
  return describeIssues(error.issues);
}

/**
 * Parse a stored JSON document with its schema: the one way stored documents
 * are read (no casts). Invalid JSON or a schema mismatch is an InputError
 * naming the document (`where`) and every problem.
 */
export function parseDocument<S extends z.ZodType>(
  schema: S,
  text: string,
  where: string,
  /** What the document is, for the message: "run record", "bundle", ... */
  kind = "document",
): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${messageOf(error)}`);
  }
  return parseStoredValue(schema, value, where, kind);
}

/**
 * parseDocument for a part of a stored document that is already parsed (a
 * bundle's model, transform or calibrator, a step's summary): the same
 * InputError naming where it is and every problem.
 */
export function parseStoredValue<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  kind = "document",
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(`${where} is not a valid ${kind}: ${formatIssues(result.error)}`);
  return result.data;
}

/** Problems shown in a request error's message (the rest are counted), and kept in its details. */
const REQUEST_ISSUES_SHOWN = 5;
const REQUEST_ISSUES_KEPT = 20;

/** The problems of a request as its message shows them: the first few fields at fault, the whole body as "body". */
export function describeRequestIssues(issues: readonly SchemaIssue[]): string {
  return describeIssues(issues, { top: "body", limit: REQUEST_ISSUES_SHOWN });
}

export interface RequestOptions {
  /** 400 (default): a malformed message (UsageError); 422: well-formed, values refused (InputError). */
  status?: 400 | 422;
  /** A protocol's own error for the problems (its wire shape), instead of `invalid <what>: <problems>`. */
  invalid?: (issues: readonly SchemaIssue[]) => ChurnError;
}

/**
 * Validate an HTTP request body or query (already decoded by the server)
 * with its schema: parseDocument's sibling for what clients send. A
 * mismatch is `invalid <what>: path: message; ...` naming the first fields
 * at fault, with the issues in the error's details, unless the protocol
 * maps them to its own error (`invalid`).
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  options: RequestOptions = {},
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { issues } = result.error;
  if (options.invalid) throw options.invalid(issues);
  const message = `invalid ${what}: ${describeRequestIssues(issues)}`;
  const details = { details: { issues: issues.slice(0, REQUEST_ISSUES_KEPT) } };
  throw options.status === 422 ? new InputError(message, details) : new UsageError(message, details);
}
