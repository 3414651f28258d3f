import { InputError } from "../components/common/errors.js";
import type { ColumnSchema, DatasetSchema } from "../components/common/schema/types.js";
import { booleanWord, parseDate, parseNumber } from "../components/common/schema/values.js";
import type { FeatureRow, RawRow } from "../components/models/inference.js";

/**
 * Validation of request rows against the training schema, shared by every
 * protocol. Rows may carry any column the schema knows; only feature columns
 * reach the model, converted to their canonical types. Every problem found
 * (up to a cap) is reported in one message naming row and column.
 */
export interface NormalizeLimits {
  /** Largest batch accepted in one request. */
  maxRows: number;
  /** How many problems one error message lists before it stops looking. */
  maxProblems: number;
}

export interface RowProblem {
  /** 0-based index of the row in the request. */
  row: number;
  column: string;
  reason: string;
}

interface Plan {
  known: Map<string, ColumnSchema>;
  features: ColumnSchema[];
  missing: Map<string, Set<string>>;
}

const plans = new WeakMap<DatasetSchema, Plan>();

function planFor(schema: DatasetSchema): Plan {
  let plan = plans.get(schema);
  if (!plan) {
    const known = new Map(schema.columns.map((c) => [c.name, c]));
    // The label and a generated id may be absent from the column list: still known names.
    if (schema.label && !known.has(schema.label.column)) {
      known.set(schema.label.column, {
        name: schema.label.column,
        type: "categorical",
        role: "label",
        missingTokens: [],
      });
    }
    const features = schema.columns.filter((c) => c.role === "feature");
    const missing = new Map(features.map((c) => [c.name, new Set(c.missingTokens)]));
    plan = { known, features, missing };
    plans.set(schema, plan);
  }
  return plan;
}

/** Names of every column a request row may carry (features and the ignored roles). */
export function knownColumns(schema: DatasetSchema): string[] {
  return [...planFor(schema).known.keys()];
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

/** Convert one value to the column's canonical type, or return a reason it cannot be. */
export function normalizeValue(
  column: ColumnSchema,
  value: unknown,
  missingTokens: Set<string>,
): { ok: true; value: number | string | boolean | null } | { ok: false; reason: string } {
  if (value === null) return { ok: true, value: null };
  if (typeof value === "string" && missingTokens.has(value)) return { ok: true, value: null };
  switch (column.type) {
    case "numeric": {
      const n =
        typeof value === "number" ? value : typeof value === "string" ? parseNumber(value) : Number.NaN;
      if (Number.isFinite(n)) return { ok: true, value: n };
      return { ok: false, reason: `expected a finite number, got ${describe(value)}` };
    }
    case "boolean": {
      if (typeof value === "boolean") return { ok: true, value };
      if (value === 0 || value === 1) return { ok: true, value: value === 1 };
      if (typeof value === "string") {
        if (column.trueValues?.includes(value)) return { ok: true, value: true };
        if (column.falseValues?.includes(value)) return { ok: true, value: false };
        const word = booleanWord(value);
        if (word !== undefined) return { ok: true, value: word === 1 };
      }
      return { ok: false, reason: `expected a boolean, got ${describe(value)}` };
    }
    case "categorical": {
      if (typeof value === "string") return { ok: true, value };
      // A categorical column may hold codes that JSON clients send as numbers.
      if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value: String(value) };
      if (typeof value === "boolean") return { ok: true, value: String(value) };
      return { ok: false, reason: `expected a string, got ${describe(value)}` };
    }
    case "date": {
      if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
      if (typeof value === "string" && column.dateFormat) {
        const ms = parseDate(value, column.dateFormat);
        if (!Number.isNaN(ms)) return { ok: true, value: ms };
        return { ok: false, reason: `expected a date as ${column.dateFormat}, got ${describe(value)}` };
      }
      return { ok: false, reason: `expected a date (string or epoch ms), got ${describe(value)}` };
    }
  }
}

/**
 * Check raw rows against the schema and return feature rows in canonical form.
 * Throws InputError (422) listing the problems: unknown column, missing
 * feature, wrong type, not an object, empty or oversized batch.
 */
export function normalizeRows(schema: DatasetSchema, rows: unknown, limits: NormalizeLimits): FeatureRow[] {
  if (!Array.isArray(rows)) throw new InputError("the request holds no rows");
  if (rows.length === 0) throw new InputError("the batch is empty: send at least one row");
  if (rows.length > limits.maxRows) {
    throw new InputError(`the batch has ${rows.length} rows, more than the limit of ${limits.maxRows}`, {
      details: { rows: rows.length, maxRows: limits.maxRows },
    });
  }
  const plan = planFor(schema);
  const problems: RowProblem[] = [];
  const out: FeatureRow[] = new Array(rows.length);
  const note = (row: number, column: string, reason: string): boolean => {
    problems.push({ row, column, reason });
    return problems.length >= limits.maxProblems;
  };
  scan: for (let i = 0; i < rows.length; i++) {
    const raw = rows[i] as RawRow;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      if (note(i, "", `expected an object of column values, got ${describe(raw)}`)) break;
      continue;
    }
    for (const key in raw) {
      if (!plan.known.has(key)) {
        if (note(i, key, "unknown column (not in the model's training schema)")) break scan;
      }
    }
    const row: FeatureRow = {};
    for (const column of plan.features) {
      const value = raw[column.name];
      if (value === undefined) {
        if (note(i, column.name, "missing feature column (send null for a missing value)")) break scan;
        continue;
      }
      const result = normalizeValue(column, value, plan.missing.get(column.name)!);
      if (result.ok) row[column.name] = result.value;
      else if (note(i, column.name, result.reason)) break scan;
    }
    out[i] = row;
  }
  if (problems.length > 0) throw new InputError(problemMessage(problems, limits), { details: { problems } });
  return out;
}

function problemMessage(problems: RowProblem[], limits: NormalizeLimits): string {
  const parts = problems.map((p) =>
    p.column ? `row ${p.row + 1}, column "${p.column}": ${p.reason}` : `row ${p.row + 1}: ${p.reason}`,
  );
  const more = problems.length >= limits.maxProblems ? " (stopped looking after this many)" : "";
  return `${problems.length} problem${problems.length === 1 ? "" : "s"} in the rows: ${parts.join("; ")}${more}`;
}
