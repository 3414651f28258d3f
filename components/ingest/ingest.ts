import type { ChurnConfig } from "../common/config/schema.js";
import { type DecodeInfo, openText } from "../common/csv/decode.js";
import { CsvParser } from "../common/csv/parse.js";
import { REJECTED_HEADER, type Reject, reasonKind } from "../common/csv/rejected.js";
import { sniffDecimal, sniffDelimiter } from "../common/csv/sniff.js";
import { csvField } from "../common/csv/write.js";
import { InputError } from "../common/errors.js";
import { type Profile, ProfileBuilder, type UnseenCategory } from "../common/profile/profile.js";
import { isFloatColumn, storedColumns } from "../common/schema/arrow.js";
import { IdHashSet } from "../common/schema/idset.js";
import { GENERATED_ID_COLUMN, inferSchema } from "../common/schema/infer.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "../common/schema/types.js";
import { booleanWord, parseDate, parseNumber } from "../common/schema/values.js";
import { UnseenCategories } from "./unseen.js";

/**
 * The pure ingest implementation: bytes in, typed record batches, rejected
 * rows and a profile out, through callbacks. It knows nothing of storage,
 * runs or the CLI; the component entry and `churn validate` wire it up.
 */

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

const SNIFF_CHARS = 64 * 1024;

function short(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

interface Slot {
  column: ColumnSchema;
  index: number;
  missing: Set<string>;
  values: Float64Array | Array<string | null>;
  trueValues?: Set<string>;
  falseValues?: Set<string>;
  /** Scoring: the training categories of a category feature (null: not checked). */
  known: Set<string> | null;
}

/** Validates and converts records into batches under a fixed schema. */
class RowConverter {
  private readonly slots: Slot[];
  private readonly idIndex: number;
  private readonly labelIndex: number;
  private readonly ids: IdHashSet;
  private readonly piiIndexes: number[];
  private batch: RowBatch;
  private size = 0;
  private negative: string | null = null;
  private readonly otherLabels = new Map<string, number>();
  readonly ready: RowBatch[] = [];
  rejectedText: string[] = [];
  rowsIn = 0;
  accepted = 0;
  rejected = 0;
  readonly reasons: Record<string, number> = {};
  readonly firstRejects: Reject[] = [];
  readonly profile: ProfileBuilder;
  /** Scoring with the training schema: category values training never saw (ingest.unseen_categories). */
  readonly unseen: UnseenCategories | null;
  /** This row's unseen values, as column, value pairs (counted once the row's fate is known). */
  private readonly rowUnseen: string[] = [];

  constructor(
    private readonly schema: DatasetSchema,
    private readonly header: string[],
    private readonly options: IngestOptions,
    private readonly decimalComma: boolean,
    private readonly delimiter: string,
    private readonly raw: () => string,
    negative: string | null,
  ) {
    const missing = options.config.ingest.missing_values;
    this.idIndex = schema.generatedId ? -1 : header.indexOf(schema.idColumn);
    this.labelIndex = options.mode === "training" && schema.label ? header.indexOf(schema.label.column) : -1;
    this.piiIndexes = schema.columns.filter((c) => c.role === "pii").map((c) => header.indexOf(c.name));
    this.negative = negative;
    this.ids = options.ids ?? new IdHashSet(1 << 16);
    this.unseen =
      options.mode === "scoring" && options.schema
        ? new UnseenCategories(schema.columns, options.config.ingest.unseen_categories)
        : null;
    this.slots = storedColumns(schema).map((column) => ({
      column,
      index: header.indexOf(column.name),
      // Passthrough columns are copied unchanged into scores.csv: nothing in them is "missing".
      missing: new Set(column.role === "passthrough" ? [] : [...missing, ...column.missingTokens]),
      values: [],
      trueValues: column.trueValues ? new Set(column.trueValues) : undefined,
      falseValues: column.falseValues ? new Set(column.falseValues) : undefined,
      known: this.unseen?.knownOf(column.name) ?? null,
    }));
    this.batch = this.newBatch();
    this.profile = new ProfileBuilder(schema);
  }

  private newBatch(): RowBatch {
    const n = this.options.batchRows ?? 32_768;
    const batch: RowBatch = { numRows: 0, lines: new Uint32Array(n), ids: new Array(n), columns: {} };
    if (this.labelIndex >= 0) batch.label = new Uint8Array(n);
    for (const slot of this.slots) {
      slot.values = isFloatColumn(slot.column) ? new Float64Array(n) : new Array<string | null>(n);
      batch.columns[slot.column.name] = slot.values;
    }
    return batch;
  }

  /** Convert one record; accepted rows go to the current batch, others to rejected.csv. */
  record(fields: string[], line: number, raw: string | null = null): void {
    this.rowsIn++;
    const header = this.header;
    if (fields.length !== header.length) {
      const at = Math.min(fields.length, header.length - 1);
      const column = fields.length < header.length ? header[at]! : `(field ${header.length + 1})`;
      this.reject(
        line,
        column,
        [`wrong column count: expected ${header.length} fields, found ${fields.length}`],
        null,
        raw,
      );
      return;
    }
    // Reasons are collected in fields rather than through a closure: this is the per-row hot path.
    this.reasons_ = null;
    this.first = "";
    const fail = this.fail;
    const i = this.size;
    const batch = this.batch;
    let id: string;
    if (this.idIndex < 0) id = String(this.rowsIn);
    else {
      id = fields[this.idIndex]!;
      if (id.trim() === "") fail(this.schema.idColumn, "empty id");
    }
    if (this.labelIndex >= 0) {
      const value = fields[this.labelIndex]!;
      const label = this.schema.label!;
      if (value === label.positive) batch.label![i] = 1;
      else if (value.trim() === "" || this.slotMissing(value)) fail(label.column, "missing label");
      else if (this.countLabel(value) && (this.negative === null || value === this.negative)) {
        this.negative = value;
        batch.label![i] = 0;
      } else {
        fail(
          label.column,
          `unexpected label: "${short(value)}" is neither the positive "${label.positive}" nor the negative "${this.negative}"`,
        );
      }
    }
    for (const slot of this.slots) {
      const v = fields[slot.index]!;
      const values = slot.values;
      const type = slot.column.type;
      if (type === "numeric") {
        // Numbers first: the missing-token lookup is only needed when the text is not one.
        const x = parseNumber(v, this.decimalComma);
        if (Number.isNaN(x) && !slot.missing.has(v)) fail(slot.column.name, `not a number: "${short(v)}"`);
        (values as Float64Array)[i] = x;
        continue;
      }
      if (slot.missing.has(v)) {
        if (values instanceof Float64Array) values[i] = Number.NaN;
        else values[i] = null;
        continue;
      }
      if (type === "categorical") {
        (values as Array<string | null>)[i] = v;
        if (slot.known !== null && !slot.known.has(v)) this.unseenValue(slot.column.name, v);
      } else if (type === "boolean") {
        const b = slot.trueValues?.has(v) ? 1 : slot.falseValues?.has(v) ? 0 : booleanWord(v);
        if (b === undefined) fail(slot.column.name, `not a boolean: "${short(v)}"`);
        (values as Float64Array)[i] = b ?? Number.NaN;
      } else {
        const ms = parseDate(v, slot.column.dateFormat ?? "");
        if (Number.isNaN(ms)) fail(slot.column.name, `not a date (${slot.column.dateFormat}): "${short(v)}"`);
        (values as Float64Array)[i] = ms;
      }
    }
    if (this.reasons_ === null && !this.ids.add(id)) fail(this.schema.idColumn, "duplicate id");
    // Unseen values count for the rows they are reported for: accepted rows, or under `reject` the rows they reject.
    if (this.rowUnseen.length > 0) {
      if (this.reasons_ === null || this.unseen!.policy === "reject")
        for (let k = 0; k < this.rowUnseen.length; k += 2)
          this.unseen!.count(this.rowUnseen[k]!, this.rowUnseen[k + 1]!);
      this.rowUnseen.length = 0;
    }
    if (this.reasons_ !== null) {
      this.reject(line, this.first, this.reasons_, fields, raw);
      return;
    }
    batch.lines[i] = line;
    batch.ids[i] = id;
    this.accepted++;
    this.size++;
    if (this.size === batch.lines.length) this.flush();
  }

  private reasons_: string[] | null = null;
  private first = "";

  /** A category value training never saw: noted for the counts, and a reason to reject under `reject`. */
  private unseenValue(column: string, value: string): void {
    this.rowUnseen.push(column, value);
    if (this.unseen!.policy === "reject")
      this.fail(column, `unseen category: "${short(value)}" was never seen in training`);
  }
  /** Record one problem of the current row (bound once, so calling it allocates nothing). */
  private readonly fail = (column: string, reason: string): void => {
    if (this.reasons_ === null) {
      this.reasons_ = [];
      this.first = column;
    }
    this.reasons_.push(reason);
  };

  private slotMissing(value: string): boolean {
    return this.options.config.ingest.missing_values.includes(value);
  }

  /** A record the parser could not split (quote errors). */
  bad(line: number, field: number, reason: string, raw: string): void {
    this.rowsIn++;
    this.reject(line, this.header[field] ?? `(field ${field + 1})`, [reason], null, raw);
  }

  private reject(
    line: number,
    column: string,
    reasons: string[],
    fields: string[] | null,
    raw: string | null,
  ) {
    this.rejected++;
    const reason = reasons.join("; ");
    for (const r of reasons) {
      const kind = reasonKind(r);
      this.reasons[kind] = (this.reasons[kind] ?? 0) + 1;
    }
    if (this.firstRejects.length < (this.options.keepRejects ?? 20))
      this.firstRejects.push({ line, column, reason });
    if (this.rejectedText.length === 0 && this.rejected === 1) this.rejectedText.push(REJECTED_HEADER);
    this.rejectedText.push(
      `${line},${csvField(column)},${csvField(reason)},${csvField(this.safeRaw(fields, raw))}\n`,
    );
  }

  /** The raw record with pii blanked; withheld when the pii fields cannot be located. */
  private safeRaw(fields: string[] | null, raw: string | null): string {
    const text = raw ?? this.raw();
    if (this.piiIndexes.length === 0) return text;
    if (!fields || fields.length !== this.header.length) return "(withheld: the row may contain pii columns)";
    const copy = fields.slice();
    for (const k of this.piiIndexes) if (k >= 0) copy[k] = "";
    return copy.map((f) => csvField(f, this.delimiter)).join(this.delimiter);
  }

  /** Close the current batch (if it has rows) and start a new one. */
  flush(): void {
    if (this.size === 0) return;
    this.batch.numRows = this.size;
    this.profile.add(this.batch);
    this.ready.push(this.batch);
    this.size = 0;
    this.batch = this.newBatch();
  }

  get negativeValue(): string | null {
    return this.negative;
  }

  /** Label values other than the positive one, with their counts (for the message when the positive is never seen). */
  get labelValues(): ReadonlyMap<string, number> {
    return this.otherLabels;
  }

  /** Count a non-positive label value (at most MAX_LABEL_VALUES distinct ones); always true. */
  private countLabel(value: string): true {
    const count = this.otherLabels.get(value);
    if (count !== undefined) this.otherLabels.set(value, count + 1);
    else if (this.otherLabels.size < MAX_LABEL_VALUES) this.otherLabels.set(value, 1);
    return true;
  }
}

/** Distinct non-positive label values counted for the wrong-positive message: a label has two. */
const MAX_LABEL_VALUES = 20;

/**
 * The sentence for a label column that never holds the configured positive
 * value: every value seen with its count, and the near match when there is one
 * (another letter case, extra spaces, one or two typos).
 */
export function wrongPositiveMessage(
  source: string,
  label: { column: string; positive: string },
  seen: ReadonlyMap<string, number>,
): string {
  const values = [...seen.entries()].sort((a, b) => b[1] - a[1]);
  const listed = values.map(([v, n]) => `"${short(v)}" (${n.toLocaleString("en-US")} rows)`).join(", ");
  const near = values.map(([v]) => v).find((v) => isNearMatch(v, label.positive));
  const hint = near
    ? `: did you mean label.positive: "${near}"?`
    : "; set label.positive in churn.yaml to one of them";
  return `${source}: the label column "${label.column}" never holds the positive value "${label.positive}"; values seen: ${listed}${hint}`;
}

/** Another letter case or spacing, or at most two edits apart: what a person mistyping a value does. */
function isNearMatch(value: string, wanted: string): boolean {
  const a = value.trim().toLowerCase();
  const b = wanted.trim().toLowerCase();
  return a === b || editDistance(a, b) <= Math.min(2, Math.floor(b.length / 4));
}

/** Levenshtein distance (two rows; labels are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}

/** Check the header: names unique, required columns present. Returns the header (empty names filled). */
function checkHeader(header: string[], options: IngestOptions, delimiter: string): string[] {
  const { source, config } = options;
  const names = header.map((name, i) => (name.trim() === "" ? `column_${i + 1}` : name));
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const before = seen.get(name);
    if (before !== undefined) {
      throw new InputError(
        `${source}, line 1: the header names "${name}" twice (columns ${before + 1} and ${i + 1}); column names must be unique`,
      );
    }
    seen.set(name, i);
  });
  const listed = names.length > 8 ? `${names.slice(0, 8).join(", ")}, ...` : names.join(", ");
  const hint =
    names.length === 1 ? ` (the whole header is one column: is the delimiter "${delimiter}" right?)` : "";
  if (options.schema) {
    const required = options.schema.columns.filter(
      (c) => !(c.role === "id" && options.schema!.generatedId) && c.role !== "label",
    );
    const absent = required.filter((c) => !seen.has(c.name)).map((c) => `"${c.name}"`);
    if (absent.length > 0) {
      throw new InputError(
        `${source}, line 1: the header lacks ${absent.length} column${absent.length === 1 ? "" : "s"} of the recorded training schema: ${absent.join(", ")}${hint}`,
      );
    }
    if (options.mode === "training" && options.schema.label && !seen.has(options.schema.label.column)) {
      throw new InputError(
        `${source}, line 1: no label column "${options.schema.label.column}" (columns: ${listed})`,
      );
    }
    return names;
  }
  if (!config.generate_id && config.id_column && !seen.has(config.id_column)) {
    throw new InputError(
      `${source}, line 1: no id column "${config.id_column}" in the header (columns: ${listed})${hint}; set id_column, or generate_id: true for files without one`,
    );
  }
  if (options.mode === "training") {
    if (!config.label) {
      throw new InputError(`${source}: training needs a label: set label: {column, positive} in churn.yaml`);
    }
    if (!seen.has(config.label.column)) {
      throw new InputError(
        `${source}, line 1: no label column "${config.label.column}" in the header (columns: ${listed})${hint}`,
      );
    }
  }
  return names;
}

/** The most frequent non-positive label value in the sample: the negative class. */
function negativeFromSample(
  rows: string[][],
  index: number,
  positive: string,
  missing: string[],
): string | null {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const v = row[index];
    if (v === undefined || v === positive || v.trim() === "" || missing.includes(v)) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

/**
 * Ingest one CSV source. Throws InputError for a wholly unusable file; per-row
 * problems become rejected rows. The caller checks `rejectShareExceeded` after
 * it has written rejected.csv (see `assertRejectShare`).
 */
export async function ingest(
  input: AsyncIterable<Uint8Array>,
  options: IngestOptions,
  sinks: IngestSinks = {},
): Promise<IngestResult> {
  const { source, config } = options;
  const info: DecodeInfo = { encoding: "utf-8", bom: false, gzip: false };
  const text = openText(input, { source, encoding: config.ingest.encoding }, info);
  const sampleRows = options.sampleRows ?? 10_000;

  let header: string[] | null = null;
  let converter: RowConverter | null = null;
  let schema: DatasetSchema | null = null;
  let decimal: "." | "," = config.ingest.decimal === "auto" ? "." : config.ingest.decimal;
  const sample: Array<{
    fields: string[];
    line: number;
    raw: string;
    bad?: { field: number; reason: string };
  }> = [];
  let parser: CsvParser | null = null;
  let delimiter: string = config.ingest.delimiter === "auto" ? "," : config.ingest.delimiter;

  const startConverter = () => {
    if (!header) return;
    if (config.ingest.decimal === "auto") {
      decimal =
        options.schema && delimiter === ","
          ? "."
          : sniffDecimal(
              sample.map((s) => s.fields),
              delimiter,
            );
    }
    const format = { delimiter, encoding: info.encoding, gzip: info.gzip };
    schema =
      options.schema ??
      inferSchema(
        header,
        sample.filter((s) => !s.bad).map((s) => s.fields),
        {
          idColumn: config.id_column,
          generateId: config.generate_id,
          label: config.label,
          exclude: config.exclude,
          pii: config.pii,
          passthrough: config.passthrough,
          missingValues: config.ingest.missing_values,
          decimal,
          source: { ...format, decimal },
          file: source,
        },
      );
    const labelIndex = schema.label ? header.indexOf(schema.label.column) : -1;
    const negative =
      options.mode === "training" && schema.label && labelIndex >= 0
        ? negativeFromSample(
            sample.map((s) => s.fields),
            labelIndex,
            schema.label.positive,
            config.ingest.missing_values,
          )
        : null;
    converter = new RowConverter(
      schema,
      header,
      options,
      decimal === ",",
      delimiter,
      () => parser!.raw(),
      negative,
    );
    for (const row of sample) {
      if (row.bad) converter.bad(row.line, row.bad.field, row.bad.reason, row.raw);
      else converter.record(row.fields, row.line, row.raw);
    }
    sample.length = 0;
  };

  const onRecord = (fields: string[], line: number) => {
    if (!header) {
      // Whitespace-only lines before the header are blank lines, not a header.
      if (fields.every((f) => f.trim() === "")) return;
      header = checkHeader(fields.slice(), options, delimiter);
      if (options.schema) startConverter();
      return;
    }
    if (converter) {
      converter.record(fields, line);
      return;
    }
    sample.push({ fields: fields.slice(), line, raw: parser!.raw() });
    if (sample.length >= sampleRows) startConverter();
  };
  const onBad = (line: number, field: number, reason: string) => {
    if (!header) {
      parser!.records--;
      throw new InputError(`${source}, line ${line}: the header cannot be read (${reason})`);
    }
    if (converter) converter.bad(line, field, reason, parser!.raw());
    else sample.push({ fields: [], line, raw: parser!.raw(), bad: { field, reason } });
  };

  let schemaSent = false;
  const drain = async () => {
    const c = converter as RowConverter | null;
    if (!c) return;
    if (!schemaSent) {
      schemaSent = true;
      await sinks.schema?.(schema!);
    }
    if (c.rejectedText.length > 0) {
      const chunk = c.rejectedText.join("");
      c.rejectedText = [];
      await sinks.rejected?.(chunk);
    }
    while (c.ready.length > 0) {
      // Shift before the optional call: `f?.(x)` skips evaluating x when f is absent.
      const batch = c.ready.shift()!;
      await sinks.batch?.(batch);
    }
  };

  let pending = "";
  let sawText = false;
  for await (const chunk of text) {
    if (!parser) {
      pending += chunk;
      if (pending.length < SNIFF_CHARS) continue;
      if (config.ingest.delimiter === "auto") delimiter = sniffDelimiter(pending);
      parser = new CsvParser({ delimiter, source }, onRecord, onBad);
      sawText = pending.trim().length > 0;
      parser.push(pending);
      pending = "";
    } else {
      parser.push(chunk);
    }
    await drain();
  }
  if (!parser) {
    sawText = pending.trim().length > 0;
    if (config.ingest.delimiter === "auto") delimiter = sniffDelimiter(pending);
    parser = new CsvParser({ delimiter, source }, onRecord, onBad);
    parser.push(pending);
  }
  parser.end();
  if (!sawText || !header) {
    throw new InputError(`${source} is empty: expected a header line and data rows`);
  }
  if (!converter) startConverter();
  const c = converter as unknown as RowConverter;
  if (c.rowsIn === 0) {
    throw new InputError(`${source} has a header but no data rows`);
  }
  c.flush();
  await drain();
  const finalSchema = schema as unknown as DatasetSchema;
  if (options.mode === "training" && finalSchema.label && c.accepted > 0) {
    const profile = c.profile.result(c.rowsIn, c.rejected);
    if ((profile.label?.positives ?? 0) === 0) {
      throw new InputError(wrongPositiveMessage(source, finalSchema.label, c.labelValues));
    }
  }
  const maxShare = config.ingest.max_reject_share;
  const headerNames = header as string[];
  return {
    source,
    schema: finalSchema,
    rowsIn: c.rowsIn,
    accepted: c.accepted,
    rejected: c.rejected,
    reasons: c.reasons,
    firstRejects: c.firstRejects,
    profile: c.profile.result(c.rowsIn, c.rejected),
    format: { ...info, delimiter, decimal },
    unseenCategories: c.unseen?.result() ?? [],
    ignoredColumns: headerNames.filter(
      (name) => !finalSchema.columns.some((col) => col.name === name) && name !== GENERATED_ID_COLUMN,
    ),
    maxRejectShare: maxShare,
    rejectShareExceeded: c.rejected > maxShare * c.rowsIn,
  };
}

/** Throw the one-sentence InputError when too many rows were rejected (after rejected.csv is written). */
export function assertRejectShare(result: IngestResult, rejectedWhere?: string): void {
  if (!result.rejectShareExceeded) return;
  const share = ((100 * result.rejected) / result.rowsIn).toFixed(1);
  const first = result.firstRejects[0];
  const example = first ? `; first: line ${first.line}, column "${first.column}": ${first.reason}` : "";
  throw new InputError(
    `${result.source}: ${result.rejected} of ${result.rowsIn} rows rejected (${share}%), more than ingest.max_reject_share ${(100 * result.maxRejectShare).toFixed(1)}%${example}${rejectedWhere ? ` (all in ${rejectedWhere})` : ""}`,
    { details: { rowsIn: result.rowsIn, rejected: result.rejected, reasons: result.reasons } },
  );
}
