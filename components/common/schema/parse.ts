import { z } from "zod";
import { parseDocument } from "../documents/parse.js";
import type { DatasetSchema } from "./types.js";

/** Column types, and what a column is for in this pipeline (from churn.yaml), independent of its type. */
export const COLUMN_TYPES = ["numeric", "categorical", "boolean", "date"] as const;
export const COLUMN_ROLES = ["id", "label", "exclude", "pii", "passthrough", "feature"] as const;

/** One column of the dataset schema. */
export const columnSchemaSchema = z.strictObject({
  /** Header name exactly as in the file (trimmed of the BOM, otherwise unchanged). */
  name: z.string(),
  type: z.enum(COLUMN_TYPES),
  role: z.enum(COLUMN_ROLES),
  /** Tokens that meant "missing" in this column when the schema was inferred, e.g. ["", "Unknown"]. */
  missingTokens: z.array(z.string()),
  /** Categorical columns: the values seen at inference time (sorted, capped). */
  categories: z.array(z.string()).optional(),
  /** Boolean columns: the literal texts read as true and false, e.g. ["Yes"] / ["No"]. */
  trueValues: z.array(z.string()).optional(),
  falseValues: z.array(z.string()).optional(),
  /** Date columns: the recognised format, e.g. "YYYY-MM-DD" or "YYYYMMDD". */
  dateFormat: z.string().optional(),
  /** Numeric columns: true when every value was an integer. */
  integer: z.boolean().optional(),
});

/**
 * The dataset schema (schema.json, and the one embedded in an Arrow
 * intermediate): the one definition; the DatasetSchema type is derived from it.
 */
export const datasetSchemaSchema = z.strictObject({
  /** Format version of this document. */
  version: z.literal(1),
  /** Columns in file order; the id column is present even when generated. */
  columns: z.array(columnSchemaSchema),
  /** Name of the id column (the generated one is `row_id` when generate_id is set). */
  idColumn: z.string(),
  /** True when ids are generated row numbers rather than read from the file. */
  generatedId: z.boolean(),
  /** Label column and its positive value, when the schema came from a training file. */
  label: z.strictObject({ column: z.string(), positive: z.string() }).optional(),
  /** How the source file was read: kept so reports can say it, not used to re-read. */
  source: z.strictObject({
    delimiter: z.string(),
    encoding: z.string(),
    decimal: z.enum([".", ","]),
    gzip: z.boolean(),
  }),
});

/** Parse a recorded schema.json (or an Arrow intermediate's); InputError naming the source and every problem. */
export function parseDatasetSchema(text: string, where: string): DatasetSchema {
  return parseDocument(datasetSchemaSchema, text, where);
}
