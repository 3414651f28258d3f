import { REJECTED_HEADER, type Reject, reasonKind } from "../common/csv/rejected.js";
import { csvField } from "../common/csv/write.js";
import { ProfileBuilder } from "../common/profile/profile.js";
import { isFloatColumn, storedColumns } from "../common/schema/arrow.js";
import { IdHashSet } from "../common/schema/idset.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "../common/schema/types.js";
import { booleanWord, parseDate, parseNumber } from "../common/schema/values.js";
import { MAX_LABEL_VALUES, short } from "./label-values.js";
import type { IngestOptions } from "./types.js";
import { UnseenCategories } from "./unseen.js";

/** The placeholder number array of a text column (never written). */
const NO_FLOATS = new Float64Array(0);

/**
 * One stored column while converting: where it is in the record, its missing
 * tokens, and the current batch's values. A column is stored as numbers
 * (`floats`: numeric, boolean, date) or as text (`texts`: categorical, see
 * isFloatColumn); the other array is an empty placeholder, so the per-row
 * code writes to a typed array without a cast.
 */
interface Slot {
  column: ColumnSchema;
  index: number;
  missing: Set<string>;
  isFloat: boolean;
  floats: Float64Array;
  texts: Array<string | null>;
  trueValues?: Set<string>;
  falseValues?: Set<string>;
  /** Scoring: the training categories of a category feature (null: not checked). */
  known: Set<string> | null;
}

/** Validates and converts records into batches under a fixed schema. */
export class RowConverter {
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
      isFloat: isFloatColumn(column),
      floats: NO_FLOATS,
      texts: [],
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
      if (slot.isFloat) {
        slot.floats = new Float64Array(n);
        batch.columns[slot.column.name] = slot.floats;
      } else {
        slot.texts = new Array<string | null>(n);
        batch.columns[slot.column.name] = slot.texts;
      }
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
    for (const slot of this.slots) this.convertField(slot, fields[slot.index]!, i);
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

  /** Convert one field into the current batch at row `i`, noting its problem (if any) for the row. */
  private convertField(slot: Slot, v: string, i: number): void {
    const type = slot.column.type;
    if (type === "numeric") {
      // Numbers first: the missing-token lookup is only needed when the text is not one.
      const x = parseNumber(v, this.decimalComma);
      if (Number.isNaN(x) && !slot.missing.has(v)) this.fail(slot.column.name, `not a number: "${short(v)}"`);
      slot.floats[i] = x;
      return;
    }
    if (slot.missing.has(v)) {
      if (slot.isFloat) slot.floats[i] = Number.NaN;
      else slot.texts[i] = null;
      return;
    }
    if (type === "categorical") {
      slot.texts[i] = v;
      if (slot.known !== null && !slot.known.has(v)) this.unseenValue(slot.column.name, v);
    } else if (type === "boolean") {
      const b = slot.trueValues?.has(v) ? 1 : slot.falseValues?.has(v) ? 0 : booleanWord(v);
      if (b === undefined) this.fail(slot.column.name, `not a boolean: "${short(v)}"`);
      slot.floats[i] = b ?? Number.NaN;
    } else {
      const ms = parseDate(v, slot.column.dateFormat ?? "");
      if (Number.isNaN(ms))
        this.fail(slot.column.name, `not a date (${slot.column.dateFormat}): "${short(v)}"`);
      slot.floats[i] = ms;
    }
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
