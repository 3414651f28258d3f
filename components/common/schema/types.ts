/**
 * The dataset schema that ingest infers from a training file and records, so
 * weekly files are read with it and never re-inferred (DESIGN). Feature, train,
 * score and the server all read columns through it.
 */
export type ColumnType = "numeric" | "categorical" | "boolean" | "date";

/** What a column is for in this pipeline (from churn.yaml), independent of its type. */
export type ColumnRole = "id" | "label" | "exclude" | "pii" | "passthrough" | "feature";

export interface ColumnSchema {
  /** Header name exactly as in the file (trimmed of the BOM, otherwise unchanged). */
  name: string;
  type: ColumnType;
  role: ColumnRole;
  /** Tokens that meant "missing" in this column when the schema was inferred, e.g. ["", "Unknown"]. */
  missingTokens: string[];
  /** Categorical columns: the values seen at inference time (sorted, capped). */
  categories?: string[];
  /** Boolean columns: the literal texts read as true and false, e.g. ["Yes"] / ["No"]. */
  trueValues?: string[];
  falseValues?: string[];
  /** Date columns: the recognised format, e.g. "YYYY-MM-DD" or "YYYYMMDD". */
  dateFormat?: string;
  /** Numeric columns: true when every value was an integer. */
  integer?: boolean;
}

export interface DatasetSchema {
  /** Format version of this document. */
  version: 1;
  /** Columns in file order; the id column is present even when generated. */
  columns: ColumnSchema[];
  /** Name of the id column (the generated one is `row_id` when generate_id is set). */
  idColumn: string;
  /** True when ids are generated row numbers rather than read from the file. */
  generatedId: boolean;
  /** Label column and its positive value, when the schema came from a training file. */
  label?: { column: string; positive: string };
  /** How the source file was read: kept so reports can say it, not used to re-read. */
  source: { delimiter: string; encoding: string; decimal: "." | ","; gzip: boolean };
}

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
