import type { ChurnConfig } from "../common/config/schema.js";
import type { DecodeInfo } from "../common/csv/decode.js";
import type { Reject } from "../common/csv/rejected.js";
import type { Profile, UnseenCategory } from "../common/profile/profile.js";
import type { IdHashSet } from "../common/schema/idset.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";

/** What ingest takes and gives: its options, the sinks it writes through, and its result. */

/** The parts of churn.yaml ingest reads. */
export type IngestConfig = Pick<
  ChurnConfig,
  "id_column" | "generate_id" | "label" | "exclude" | "pii" | "passthrough" | "ingest"
>;

export interface IngestOptions {
  /** Name of the source for messages (object name or path). */
  source: string;
  config: IngestConfig;
  /** "training": labels required and checked; "scoring": label ignored. */
  mode: "training" | "scoring";
  /** The recorded training schema: when given, types are taken from it, never re-inferred. */
  schema?: DatasetSchema;
  /** Rows looked at to infer the schema (all rows are validated against it). */
  sampleRows?: number;
  /** Rows per record batch. */
  batchRows?: number;
  /** How many rejected rows to keep in memory for the summary. */
  keepRejects?: number;
  /** Seen-id set shared across the files of one step, so ids are unique over all of them. */
  ids?: IdHashSet;
}

export interface IngestSinks {
  /** Called once, before the first batch, with the schema in effect. */
  schema?(schema: DatasetSchema): void | Promise<void>;
  /** Accepted rows; the batch's arrays may be reused after the promise settles. */
  batch?(batch: RowBatch): void | Promise<void>;
  /** Text for rejected.csv (its header comes with the first call). */
  rejected?(text: string): void | Promise<void>;
}

export interface IngestResult {
  source: string;
  schema: DatasetSchema;
  rowsIn: number;
  accepted: number;
  rejected: number;
  /** Count per reason kind (the reason text up to its first colon). */
  reasons: Record<string, number>;
  firstRejects: Reject[];
  profile: Profile;
  format: DecodeInfo & { delimiter: string; decimal: "." | "," };
  /** Columns of a scoring file that the recorded schema does not know (ignored). */
  ignoredColumns: string[];
  /** Scoring with the training schema: category values never seen in training, per column. */
  unseenCategories: UnseenCategory[];
  maxRejectShare: number;
  rejectShareExceeded: boolean;
}
