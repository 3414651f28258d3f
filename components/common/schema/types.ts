import type { z } from "zod";
import type { COLUMN_ROLES, COLUMN_TYPES, columnSchemaSchema, datasetSchemaSchema } from "./parse.js";

/**
 * The dataset schema that ingest infers from a training file and records, so
 * weekly files are read with it and never re-inferred (DESIGN). Feature, train,
 * score and the server all read columns through it.
 */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** What a column is for in this pipeline (from churn.yaml), independent of its type. */
export type ColumnRole = (typeof COLUMN_ROLES)[number];

/** One column (derived from its schema, components/common/schema/parse.ts). */
export type ColumnSchema = z.output<typeof columnSchemaSchema>;

/** The dataset schema (derived from its schema, components/common/schema/parse.ts). */
export type DatasetSchema = z.output<typeof datasetSchemaSchema>;

/**
 * A batch of typed rows in memory, column-major. This is what ingest writes
 * (as Arrow IPC record batches) and what feature/train/score consume.
 * - numeric and date columns: Float64Array with NaN for missing (dates as epoch ms UTC)
 * - boolean columns: Float64Array with 1, 0 and NaN for missing
 * - categorical and id columns: string | null per row (null = missing)
 * The label, when present, is a Uint8Array of 0/1 under `label`.
 */
export interface RowBatch {
  numRows: number;
  /** 1-based line number in the source file of each row's first line (for error reports). */
  lines: Uint32Array;
  ids: string[];
  columns: Record<string, Float64Array | Array<string | null>>;
  label?: Uint8Array;
}
