import { z } from "zod";
import { parseRequest } from "../../components/common/documents/parse.js";
import { type ChurnError, UsageError } from "../../components/common/errors.js";
import type {
  Explanation,
  InferenceModel,
  RawRow,
  RawValue,
  ScoredRow,
} from "../../components/models/inference.js";

/**
 * Codec for Seldon Core v1 (`SeldonMessage`), answering like Seldon's
 * scikit-learn server does for predict_proba: `data.names` ["t:0", "t:1"] and
 * `data.ndarray` rows [1-p, p]; tiers, reasons and the model version ride in
 * `meta.tags`. Requests: `data.names` + `data.ndarray` (or `data.tensor`), or
 * `jsonData` holding one row object or a list of them. Without `data.names`,
 * ndarray rows are read as the feature columns in schema order.
 */
export const SELDON_CLASS_NAMES = ["t:0", "t:1"];

const scalar = z.union([z.number(), z.string(), z.boolean(), z.null()]);

const dataSchema = z
  .strictObject({
    names: z.array(z.string()).optional(),
    ndarray: z.array(z.unknown()).optional(),
    tensor: z
      .strictObject({ shape: z.array(z.number().int().nonnegative()), values: z.array(scalar) })
      .optional(),
  })
  .refine((d) => (d.ndarray === undefined) !== (d.tensor === undefined), {
    message: "give exactly one of data.ndarray and data.tensor",
  });

const metaSchema = z
  .object({ puid: z.string().optional(), tags: z.record(z.string(), z.unknown()).optional() })
  .passthrough();

/** The Seldon v1 request envelope (strict: unknown top-level fields are a 400). */
export const seldonRequestSchema = z
  .strictObject({
    data: dataSchema.optional(),
    jsonData: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
    meta: metaSchema.optional(),
  })
  .refine((m) => (m.data === undefined) !== (m.jsonData === undefined), {
    message: "give exactly one of data and jsonData",
  });

export interface SeldonResponse {
  data: { names: string[]; ndarray: Array<Array<number | string | boolean | null>> };
  meta: { puid?: string; tags: Record<string, unknown>; requestPath: Record<string, string> };
}

export interface SeldonError {
  status: { code: number; info: string; reason: string; status: "FAILURE" };
}

export interface DecodedSeldon {
  rows: RawRow[];
  puid?: string;
  /** `meta.tags.reasons`: how many reasons per row (validated by the core). */
  reasons?: unknown;
}

function isScalar(v: unknown): v is RawValue {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function zipRow(names: string[], values: unknown, index: number): RawRow {
  if (!Array.isArray(values)) throw new UsageError(`data.ndarray[${index}] must be a list of values`);
  if (values.length !== names.length) {
    throw new UsageError(`data.ndarray[${index}] has ${values.length} values for ${names.length} names`);
  }
  const row: RawRow = {};
  for (let c = 0; c < names.length; c++) {
    const v = values[c];
    if (!isScalar(v))
      throw new UsageError(`data.ndarray[${index}][${c}] (${names[c]}) is not a scalar value`);
    row[names[c]!] = v;
  }
  return row;
}

/**
 * Decode a Seldon v1 request into rows. `features` (schema order) names the
 * ndarray columns when the request gives no `data.names`.
 */
export function decodeSeldonRequest(body: unknown, features: string[]): DecodedSeldon {
  const message = parseRequest(seldonRequestSchema, body, "Seldon message");
  const decoded: DecodedSeldon = { rows: [] };
  if (message.meta?.puid !== undefined) decoded.puid = message.meta.puid;
  if (message.meta?.tags?.reasons !== undefined) decoded.reasons = message.meta.tags.reasons;
  if (message.jsonData !== undefined) {
    const items = Array.isArray(message.jsonData) ? message.jsonData : [message.jsonData];
    decoded.rows = items.map((item, i) => {
      if (item === null || typeof item !== "object" || Array.isArray(item)) {
        throw new UsageError(`jsonData[${i}] must be an object of column values`);
      }
      for (const [key, value] of Object.entries(item)) {
        if (!isScalar(value)) throw new UsageError(`jsonData[${i}].${key} is not a scalar value`);
      }
      return item as RawRow;
    });
    return decoded;
  }
  const data = message.data!;
  const names = data.names && data.names.length > 0 ? data.names : features;
  if (new Set(names).size !== names.length) throw new UsageError("data.names lists a column twice");
  if (data.tensor) {
    const { shape, values } = data.tensor;
    const k = shape.length === 2 ? shape[1]! : -1;
    if (k !== names.length || shape[0]! * k !== values.length) {
      throw new UsageError(
        `data.tensor: shape ${JSON.stringify(shape)} must be [rows, ${names.length}] and hold all ${values.length} values`,
      );
    }
    for (let r = 0; r < shape[0]!; r++) decoded.rows.push(zipRow(names, values.slice(r * k, r * k + k), r));
    return decoded;
  }
  const ndarray = data.ndarray!;
  // A single flat row is accepted as one sample.
  if (ndarray.length > 0 && ndarray.every(isScalar)) {
    decoded.rows = [zipRow(names, ndarray, 0)];
  } else {
    decoded.rows = ndarray.map((values, i) => zipRow(names, values, i));
  }
  return decoded;
}

function meta(model: Pick<InferenceModel, "name" | "version">, tags: Record<string, unknown>, puid?: string) {
  const m: SeldonResponse["meta"] = { tags, requestPath: { [model.name]: model.version } };
  if (puid !== undefined) m.puid = puid;
  return m;
}

/** Encode scored rows like Seldon's sklearn server (predict_proba), with tiers and reasons in meta.tags. */
export function encodeSeldonResponse(
  model: Pick<InferenceModel, "name" | "version">,
  scored: ScoredRow[],
  puid?: string,
): SeldonResponse {
  return {
    data: { names: SELDON_CLASS_NAMES, ndarray: scored.map((s) => [1 - s.probability, s.probability]) },
    meta: meta(
      model,
      {
        tiers: scored.map((s) => s.tier),
        reasons: scored.map((s) => s.reasons),
        reason_codes: scored.map((s) => s.reasonCodes),
        model_version: model.version,
      },
      puid,
    ),
  };
}

/** Encode explanations: `data.names` are the features, each ndarray row a row's contributions; bases in meta.tags. */
export function encodeSeldonExplanation(
  model: Pick<InferenceModel, "name" | "version">,
  explanations: Explanation[],
  features: string[],
  puid?: string,
): SeldonResponse {
  return {
    data: { names: features, ndarray: explanations.map((e) => features.map((f) => e.contributions[f] ?? 0)) },
    meta: meta(model, { base: explanations.map((e) => e.base), model_version: model.version }, puid),
  };
}

const REASONS: Record<number, string> = {
  404: "MICROSERVICE_NOT_FOUND",
  408: "MICROSERVICE_TIMEOUT",
  500: "MICROSERVICE_INTERNAL_ERROR",
  503: "MICROSERVICE_NOT_READY",
};

/** The one mapping from the error hierarchy to Seldon's error shape. */
export function encodeSeldonError(error: ChurnError): SeldonError {
  const code = error.httpStatus;
  return {
    status: {
      code,
      info: error.message,
      reason: REASONS[code] ?? (code < 500 ? "MICROSERVICE_BAD_DATA" : "MICROSERVICE_INTERNAL_ERROR"),
      status: "FAILURE",
    },
  };
}
