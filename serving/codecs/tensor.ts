import { UsageError } from "../../components/common/errors.js";
import type { RawValue } from "../../components/models/inference.js";

/**
 * Per-tensor codecs for the Open Inference Protocol V2 JSON encoding: a
 * tensor is `{name, shape, datatype, data}` with `data` flat in row-major
 * order (nested arrays matching the shape are accepted too). Pure functions:
 * no HTTP, no model. Extensions, documented in openapi.yaml: `null` elements
 * mean "missing" in FP*, INT* and BYTES tensors (JSON cannot carry NaN), and
 * BYTES elements may also be JSON numbers or booleans (row-major mixed rows).
 */
export const DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export type Datatype = (typeof DATATYPES)[number];

export interface Tensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Record<string, unknown>;
  data: unknown[];
}

const INT_RANGES: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Number of elements a shape holds; throws on a shape that is not a list of non-negative integers. */
export function elementCount(shape: unknown, name: string): number {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new UsageError(`input "${name}": shape must be a non-empty list of dimensions`);
  }
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new UsageError(
        `input "${name}": shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`,
      );
    }
    n *= d;
  }
  return n;
}

/** Why an element does not fit a datatype, or undefined when it fits. */
export function elementProblem(datatype: Datatype, value: unknown): string | undefined {
  if (value === null) return datatype === "BOOL" ? "null is not a BOOL" : undefined;
  switch (datatype) {
    case "BOOL":
      return typeof value === "boolean" ? undefined : `${JSON.stringify(value)} is not a BOOL`;
    case "BYTES":
      return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
        ? undefined
        : `${typeof value === "object" ? "an object or array" : String(value)} is not a BYTES element`;
    case "FP16":
    case "FP32":
    case "FP64":
      return typeof value === "number" && Number.isFinite(value)
        ? undefined
        : `${shortJson(value)} is not a finite ${datatype} number`;
    default: {
      const range = INT_RANGES[datatype]!;
      if (typeof value !== "number" || !Number.isInteger(value))
        return `${shortJson(value)} is not an integer`;
      if (value < range[0] || value > range[1]) return `${value} is out of range for ${datatype}`;
      return undefined;
    }
  }
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Flatten `data` to exactly `count` elements. Accepts flat data, or data
 * nested exactly as deep as the shape; the depth is bounded by the shape, so a
 * deeply nested body cannot make this recurse.
 */
function flatten(data: unknown, shape: number[], count: number, name: string): unknown[] {
  if (!Array.isArray(data)) throw new UsageError(`input "${name}": data must be a list`);
  if (data.length === count && (count === 0 || !Array.isArray(data[0]))) return data;
  let level: unknown[] = data;
  for (let depth = 1; depth < shape.length; depth++) {
    const next: unknown[] = [];
    for (const item of level) {
      if (!Array.isArray(item)) {
        throw new UsageError(
          `input "${name}": data is nested differently from shape ${JSON.stringify(shape)}`,
        );
      }
      for (const inner of item) next.push(inner);
    }
    level = next;
  }
  if (level.length !== count) {
    throw new UsageError(
      `input "${name}": shape ${JSON.stringify(shape)} holds ${count} elements but data has ${level.length}`,
    );
  }
  return level;
}

/** Decode one tensor to its flat list of values, checking shape and every element against the datatype. */
export function decodeTensor(tensor: Tensor): RawValue[] {
  const count = elementCount(tensor.shape, tensor.name);
  const values = flatten(tensor.data, tensor.shape, count, tensor.name);
  for (let i = 0; i < values.length; i++) {
    const problem = elementProblem(tensor.datatype, values[i]);
    if (problem !== undefined) {
      throw new UsageError(`input "${tensor.name}", element ${i}: ${problem}`);
    }
  }
  return values as RawValue[];
}

/** Encode flat values as a tensor, checking they fit the datatype and the shape. */
export function encodeTensor(
  name: string,
  datatype: Datatype,
  shape: number[],
  values: RawValue[],
  parameters?: Record<string, unknown>,
): Tensor {
  const count = elementCount(shape, name);
  if (count !== values.length) {
    throw new UsageError(
      `output "${name}": shape ${JSON.stringify(shape)} does not hold ${values.length} values`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    const problem = elementProblem(datatype, values[i]);
    if (problem !== undefined) throw new UsageError(`output "${name}", element ${i}: ${problem}`);
  }
  const tensor: Tensor = { name, shape, datatype, data: values };
  if (parameters) tensor.parameters = parameters;
  return tensor;
}

/** The narrowest V2 datatype that can carry a list of values (what a client would declare). */
export function datatypeFor(values: RawValue[]): Datatype {
  let numbers = 0;
  let integers = 0;
  let booleans = 0;
  let nulls = 0;
  for (const v of values) {
    if (v === null) {
      nulls++;
      continue;
    }
    if (typeof v === "boolean") booleans++;
    else if (typeof v === "number") {
      numbers++;
      if (Number.isSafeInteger(v)) integers++;
    } else return "BYTES";
  }
  if (booleans > 0) return numbers > 0 || nulls > 0 ? "BYTES" : "BOOL";
  if (numbers > 0 && integers === numbers) return "INT64";
  return "FP64";
}
