import { z } from "zod";
import { parseRequest } from "../../components/common/documents/parse.js";
import { UsageError } from "../../components/common/errors.js";
import type { ColumnSchema } from "../../components/common/schema/types.js";
import type {
  Explanation,
  InferenceModel,
  RawRow,
  RawValue,
  ScoredRow,
} from "../../components/models/inference.js";
import { DATATYPES, type Datatype, decodeTensor, encodeTensor, type Tensor } from "./tensor.js";

/**
 * Whole-request codec for the Open Inference Protocol V2 (KServe/Triton/
 * MLServer REST): an infer request becomes rows of column values, and scored
 * rows become output tensors. Two input layouts:
 * - one named input per column, shape [n] or [n, 1];
 * - one row-major input, shape [n, k], with the k column names in
 *   `parameters.columns` (on the input or on the request).
 * Outputs: `probability` FP64 [n], `tier` BYTES [n], `reasons` BYTES [n]
 * (a row's reasons joined with REASON_SEPARATOR, "" when it has none; with
 * `parameters.format: "json"` on the requested reasons output, each element
 * is instead a JSON array of the reasons, which no reason text can make
 * ambiguous: the batch client asks for that), `reason_codes` BYTES [n] (the
 * same reasons in machine form, `Column:+0.84;Other:+0.41`, "" without).
 */
export const COLUMNS_PARAMETER = "columns";
export const REASON_SEPARATOR = "; ";
/** Value of `outputs[].parameters.format` asking for reasons as JSON arrays. */
export const REASONS_JSON_FORMAT = "json";
export const OUTPUT_NAMES = ["probability", "tier", "reasons", "reason_codes"] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];
export const EXPLAIN_OUTPUT_NAMES = ["base", "contributions"] as const;

const parametersSchema = z.record(z.string(), z.unknown());

const tensorSchema = z.strictObject({
  name: z.string().min(1),
  shape: z.array(z.number()),
  datatype: z.enum(DATATYPES),
  parameters: parametersSchema.optional(),
  data: z.array(z.unknown()),
});

const requestOutputSchema = z.strictObject({
  name: z.string().min(1),
  parameters: parametersSchema.optional(),
});

/** The V2 inference request envelope (strict: unknown fields are a 400). */
export const inferRequestSchema = z.strictObject({
  id: z.string().optional(),
  parameters: parametersSchema.optional(),
  inputs: z.array(tensorSchema).min(1, "at least one input is required"),
  outputs: z.array(requestOutputSchema).optional(),
});
export type InferRequest = z.infer<typeof inferRequestSchema>;

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: Tensor[];
}

export interface DecodedRequest {
  id?: string;
  rows: RawRow[];
  /** Output names asked for, or undefined for all of them. */
  outputs?: string[];
  /** The reasons output was asked for with parameters.format "json". */
  reasonsJson?: boolean;
  /** The request's parameters (the lifetime model reads `horizon` there). */
  parameters?: Record<string, unknown>;
}

function columnsParameter(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v): v is string => typeof v === "string")
  ) {
    throw new UsageError(`${where}.${COLUMNS_PARAMETER} must be a non-empty list of column names`);
  }
  const seen = new Set<string>();
  for (const name of value) {
    if (seen.has(name)) throw new UsageError(`${where}.${COLUMNS_PARAMETER} names column "${name}" twice`);
    seen.add(name);
  }
  return value;
}

function rowMajor(input: Tensor, columns: string[]): RawRow[] {
  const values = decodeTensor(input);
  const [n, k] = input.shape;
  if (input.shape.length !== 2 || k !== columns.length) {
    throw new UsageError(
      `input "${input.name}": a row-major input needs shape [rows, ${columns.length}] for its ${columns.length} columns, got ${JSON.stringify(input.shape)}`,
    );
  }
  const rows: RawRow[] = new Array(n);
  for (let r = 0; r < n!; r++) {
    const row: RawRow = {};
    for (let c = 0; c < k; c++) row[columns[c]!] = values[r * k + c]!;
    rows[r] = row;
  }
  return rows;
}

function perColumn(inputs: Tensor[]): RawRow[] {
  let n = -1;
  let first = "";
  const columns: Array<[string, RawValue[]]> = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    if (seen.has(input.name)) throw new UsageError(`input "${input.name}" appears twice`);
    seen.add(input.name);
    const shape = input.shape;
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw new UsageError(
        `input "${input.name}": a per-column input needs shape [rows] or [rows, 1], got ${JSON.stringify(shape)} (for a row-major input, name its columns in parameters.${COLUMNS_PARAMETER})`,
      );
    }
    const values = decodeTensor(input);
    if (n === -1) {
      n = values.length;
      first = input.name;
    } else if (values.length !== n) {
      throw new UsageError(
        `inputs disagree on the number of rows: "${first}" has ${n}, "${input.name}" has ${values.length}`,
      );
    }
    columns.push([input.name, values]);
  }
  const rows: RawRow[] = new Array(n);
  for (let r = 0; r < n; r++) {
    const row: RawRow = {};
    for (const [name, values] of columns) row[name] = values[r]!;
    rows[r] = row;
  }
  return rows;
}

/** Decode a V2 infer request body into rows (throws UsageError with the field at fault). */
export function decodeInferRequest(body: unknown): DecodedRequest {
  const request = parseRequest(inferRequestSchema, body, "inference request");
  const inputs: Tensor[] = request.inputs;
  const requestColumns = columnsParameter(request.parameters?.[COLUMNS_PARAMETER], "parameters");
  const inputColumns =
    inputs.length === 1
      ? columnsParameter(inputs[0]!.parameters?.[COLUMNS_PARAMETER], "inputs[0].parameters")
      : undefined;
  const columns = inputColumns ?? requestColumns;
  let rows: RawRow[];
  if (columns) {
    if (inputs.length !== 1) {
      throw new UsageError(
        `parameters.${COLUMNS_PARAMETER} describes one row-major input, but the request has ${inputs.length} inputs`,
      );
    }
    rows = rowMajor(inputs[0]!, columns);
  } else {
    rows = perColumn(inputs);
  }
  const decoded: DecodedRequest = { rows };
  if (request.id !== undefined) decoded.id = request.id;
  if (request.parameters) decoded.parameters = request.parameters;
  if (request.outputs) decoded.outputs = request.outputs.map((o) => o.name);
  const reasons = request.outputs?.find((o) => o.name === "reasons");
  if (reasons?.parameters?.format === REASONS_JSON_FORMAT) decoded.reasonsJson = true;
  return decoded;
}

function wanted(outputs: string[] | undefined, known: readonly string[], model: string): Set<string> {
  if (!outputs) return new Set(known);
  for (const name of outputs) {
    if (!known.includes(name)) {
      throw new UsageError(`unknown output "${name}": model ${model} has outputs ${known.join(", ")}`);
    }
  }
  return new Set(outputs);
}

/** Check an outputs filter before any work is done (400 for a name the model does not have). */
export function checkOutputs(outputs: string[] | undefined, model: string, explain = false): void {
  wanted(outputs, explain ? EXPLAIN_OUTPUT_NAMES : OUTPUT_NAMES, model);
}

/** Encode scored rows as a V2 infer response, honouring the request's outputs filter and echoing its id. */
export function encodeInferResponse(
  model: Pick<InferenceModel, "name" | "version">,
  scored: ScoredRow[],
  request: Pick<DecodedRequest, "id" | "outputs" | "reasonsJson">,
): InferResponse {
  const n = scored.length;
  const want = wanted(request.outputs, OUTPUT_NAMES, model.name);
  const outputs: Tensor[] = [];
  for (const name of OUTPUT_NAMES) {
    if (!want.has(name)) continue;
    if (name === "probability") {
      outputs.push(
        encodeTensor(
          name,
          "FP64",
          [n],
          scored.map((s) => s.probability),
        ),
      );
    } else if (name === "tier") {
      outputs.push(
        encodeTensor(
          name,
          "BYTES",
          [n],
          scored.map((s) => s.tier),
        ),
      );
    } else if (name === "reason_codes") {
      outputs.push(
        encodeTensor(
          name,
          "BYTES",
          [n],
          scored.map((s) => s.reasonCodes),
        ),
      );
    } else {
      outputs.push(
        encodeTensor(
          name,
          "BYTES",
          [n],
          scored.map((s) =>
            request.reasonsJson ? JSON.stringify(s.reasons) : s.reasons.join(REASON_SEPARATOR),
          ),
          request.reasonsJson ? { format: REASONS_JSON_FORMAT } : { separator: REASON_SEPARATOR },
        ),
      );
    }
  }
  const response: InferResponse = { model_name: model.name, model_version: model.version, outputs };
  if (request.id !== undefined) response.id = request.id;
  return response;
}

/**
 * Encode explanations: `base` FP64 [n] and `contributions` FP64 [n, k], its
 * k columns named in the tensor's `parameters.columns` (feature order).
 */
export function encodeExplainResponse(
  model: Pick<InferenceModel, "name" | "version">,
  explanations: Explanation[],
  features: string[],
  request: Pick<DecodedRequest, "id" | "outputs">,
): InferResponse {
  const n = explanations.length;
  const want = wanted(request.outputs, EXPLAIN_OUTPUT_NAMES, model.name);
  const outputs: Tensor[] = [];
  if (want.has("base"))
    outputs.push(
      encodeTensor(
        "base",
        "FP64",
        [n],
        explanations.map((e) => e.base),
      ),
    );
  if (want.has("contributions")) {
    const flat: number[] = [];
    for (const e of explanations) for (const f of features) flat.push(e.contributions[f] ?? 0);
    outputs.push(
      encodeTensor("contributions", "FP64", [n, features.length], flat, { [COLUMNS_PARAMETER]: features }),
    );
  }
  const response: InferResponse = { model_name: model.name, model_version: model.version, outputs };
  if (request.id !== undefined) response.id = request.id;
  return response;
}

/** The V2 datatype a client should send for a column. */
export function columnDatatype(column: ColumnSchema): Datatype {
  if (column.type === "numeric") return "FP64";
  if (column.type === "boolean") return "BOOL";
  return "BYTES";
}

/** V2 model metadata: one input per feature column, and the three outputs. */
export function modelMetadata(model: InferenceModel): {
  name: string;
  versions: string[];
  platform: string;
  inputs: Array<{ name: string; datatype: Datatype; shape: number[] }>;
  outputs: Array<{ name: string; datatype: Datatype; shape: number[] }>;
  parameters: Record<string, unknown>;
} {
  const features = model.schema.columns.filter((c) => c.role === "feature");
  return {
    name: model.name,
    versions: [model.version],
    platform: "churn-js",
    inputs: features.map((c) => ({ name: c.name, datatype: columnDatatype(c), shape: [-1] })),
    outputs: [
      { name: "probability", datatype: "FP64", shape: [-1] },
      { name: "tier", datatype: "BYTES", shape: [-1] },
      { name: "reasons", datatype: "BYTES", shape: [-1] },
      { name: "reason_codes", datatype: "BYTES", shape: [-1] },
    ],
    parameters: {
      ignored_columns: model.schema.columns.filter((c) => c.role !== "feature").map((c) => c.name),
      reason_separator: REASON_SEPARATOR,
    },
  };
}
