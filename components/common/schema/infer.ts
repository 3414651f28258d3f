import { InputError } from "../errors.js";
import type { ColumnRole, ColumnSchema, DatasetSchema } from "./types.js";
import { booleanWord, detectDateFormat, parseNumber } from "./values.js";

/** Name of the id column made up when `generate_id` is set (1-based row numbers). */
export const GENERATED_ID_COLUMN = "row_id";

/**
 * Share of a column's non-missing sample values that must parse as a type for
 * the column to get it. Below 1 on purpose: a few corrupt cells in the sample
 * must become rejected rows, not turn a numeric column into text.
 */
export const TYPE_SHARE = 0.99;

/** Most categories recorded per column. */
export const MAX_CATEGORIES = 1000;

export interface RoleConfig {
  idColumn?: string;
  generateId: boolean;
  label?: { column: string; positive: string };
  exclude: string[];
  pii: string[];
  passthrough: string[];
}

export interface InferOptions extends RoleConfig {
  missingValues: string[];
  decimal: "." | ",";
  source: DatasetSchema["source"];
  /** File name for error messages. */
  file?: string;
}

/** The role of a column from churn.yaml; the first matching rule wins (id, label, pii, exclude, passthrough). */
export function roleOf(name: string, roles: RoleConfig): ColumnRole {
  if (!roles.generateId && name === roles.idColumn) return "id";
  if (name === roles.label?.column) return "label";
  if (roles.pii.includes(name)) return "pii";
  if (roles.exclude.includes(name)) return "exclude";
  if (roles.passthrough.includes(name)) return "passthrough";
  return "feature";
}

/** Infer one column's type from its sample values (already without missing tokens). */
export function inferColumn(
  name: string,
  role: ColumnRole,
  values: string[],
  missingSeen: string[],
  decimal: "." | ",",
): ColumnSchema {
  const column: ColumnSchema = { name, type: "categorical", role, missingTokens: missingSeen };
  // pii is never read; passthrough is copied into scores.csv unchanged (DESIGN), so
  // both stay raw text: no missing tokens, no number re-printing.
  if (role === "pii" || role === "passthrough") return { ...column, missingTokens: [] };
  if (role === "id" || values.length === 0) return column;
  const need = Math.ceil(values.length * TYPE_SHARE);

  let numeric = 0;
  let integer = true;
  for (const v of values) {
    const x = parseNumber(v, decimal === ",");
    if (!Number.isNaN(x)) {
      numeric++;
      if (integer && !Number.isInteger(x)) integer = false;
    }
  }
  if (numeric >= need) return { ...column, type: "numeric", integer };

  const trueValues = new Set<string>();
  const falseValues = new Set<string>();
  let booleans = 0;
  for (const v of values) {
    const b = booleanWord(v);
    if (b === 1) trueValues.add(v);
    else if (b === 0) falseValues.add(v);
    if (b !== undefined) booleans++;
  }
  if (booleans >= need && trueValues.size + falseValues.size <= 4) {
    return {
      ...column,
      type: "boolean",
      trueValues: [...trueValues].sort(),
      falseValues: [...falseValues].sort(),
    };
  }

  const distinct = new Map<string, number>();
  for (const v of values) distinct.set(v, (distinct.get(v) ?? 0) + 1);
  const dateFormat = detectDateFormat([...distinct.keys()].filter((v) => (distinct.get(v) ?? 0) > 0));
  if (dateFormat) return { ...column, type: "date", dateFormat };

  const categories = [...distinct.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_CATEGORIES)
    .map(([value]) => value)
    .sort();
  return { ...column, categories };
}

/**
 * Infer the DatasetSchema of a file from its header and a sample of rows (rows
 * whose field count differs from the header are ignored here; they are
 * rejected later). Every row is then validated against the result.
 */
export function inferSchema(header: string[], rows: string[][], options: InferOptions): DatasetSchema {
  const missing = new Set(options.missingValues);
  const columns: ColumnSchema[] = header.map((name, index) => {
    const role = roleOf(name, options);
    const values: string[] = [];
    const missingSeen = new Set<string>();
    if (role !== "pii") {
      for (const row of rows) {
        if (row.length !== header.length) continue;
        const v = row[index]!;
        if (missing.has(v)) missingSeen.add(v);
        else values.push(v);
      }
    }
    return inferColumn(name, role, values, [...missingSeen].sort(), options.decimal);
  });
  let idColumn = options.idColumn ?? GENERATED_ID_COLUMN;
  if (options.generateId) {
    if (header.includes(GENERATED_ID_COLUMN)) {
      throw new InputError(
        `${options.file ?? "the file"}, line 1: generate_id is set but the header already has a column named "${GENERATED_ID_COLUMN}": set id_column: ${GENERATED_ID_COLUMN} instead`,
      );
    }
    idColumn = GENERATED_ID_COLUMN;
    columns.unshift({ name: GENERATED_ID_COLUMN, type: "categorical", role: "id", missingTokens: [] });
  }
  const schema: DatasetSchema = {
    version: 1,
    columns,
    idColumn,
    generatedId: options.generateId,
    source: { ...options.source, decimal: options.decimal },
  };
  if (options.label) schema.label = { ...options.label };
  return schema;
}
