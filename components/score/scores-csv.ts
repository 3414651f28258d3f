import { csvField, csvLine, guardFormula, mayNeedFormulaGuard } from "../common/csv/write.js";
import { InputError } from "../common/errors.js";
import { isNullAt, type RawBatch, type RawUtf8, rawBatchOf, utf8At } from "../common/schema/raw-batch.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { RawEncoder } from "../models/features/encode-raw.js";
import { formatProbability, type Predictor, type ReasonOptions } from "../models/predictor.js";
import { type RowReasons, reasonColumns } from "../models/reasons.js";
import type { Tier } from "../models/tiers.js";

/**
 * scores.csv (DESIGN): the header, the quoting and the one writer of its
 * lines. Lines are written as UTF-8 bytes straight from the raw Arrow buffers:
 * ids and passthrough texts are copied byte for byte, so a million-row file
 * makes no string per row (building and re-encoding those strings was most of
 * the step's time besides the model itself). Text values people read in a
 * spreadsheet (passthrough texts, reasons) go through the formula guard of
 * components/common/csv/write.ts when `formulaGuard` is on; ids never do.
 */

export type ScoreOptions = ReasonOptions & {
  passthrough: readonly string[];
  /** churn.yaml publish.formula_guard: a leading `'` on text values that start like a formula. */
  formulaGuard: boolean;
};

/** A text value of scores.csv (a passthrough text or a reason) as its CSV field. */
export function textField(text: string, formulaGuard: boolean): string {
  return csvField(formulaGuard ? guardFormula(text) : text);
}

/** scores.csv header (DESIGN): id, churn_probability, risk_tier, reason_1..k, reason_codes, model_version, passthrough. */
export function scoresHeader(schema: DatasetSchema, passthrough: readonly string[], reasons: number): string {
  return csvLine([
    schema.idColumn,
    "churn_probability",
    "risk_tier",
    ...reasonColumns(reasons),
    "model_version",
    ...passthrough,
  ]);
}

/** Text of a passthrough value from a typed batch column (also used by the batch client). */
export function passthroughText(
  schema: DatasetSchema,
  column: string,
  value: string | number | null,
  formulaGuard: boolean,
): string {
  if (value === null) return "";
  if (typeof value === "string") return textField(value, formulaGuard);
  if (Number.isNaN(value)) return "";
  const type = schema.columns.find((c) => c.name === column)?.type;
  if (type === "date") return new Date(value).toISOString().slice(0, 10);
  if (type === "boolean") return value === 0 ? "false" : "true";
  return String(value);
}

const COMMA = 44;
const QUOTE = 34;
const NEWLINE = 10;
const CR = 13;
const utf8 = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A growing UTF-8 buffer. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** A few bytes (a loop: set() is a builtin call that costs more at this size). */
  bytes(src: Uint8Array): void {
    this.reserve(src.length);
    const buf = this.buf;
    let at = this.pos;
    for (let k = 0; k < src.length; k++) buf[at++] = src[k]!;
    this.pos = at;
  }

  /**
   * formatProbability(p), i.e. p.toFixed(6), without making the string.
   * toFixed takes the integer n nearest to p·10⁶ (the larger on a tie). For
   * p in [0, 1] the product y = p * 1e6 is within half an ulp (< 1.2e-10) of
   * the exact one, so when y's fraction is more than 1e-6 from one half,
   * Math.round(y) is that n; the few values nearer a tie use toFixed itself.
   */
  probability(p: number): void {
    const y = p * 1e6;
    if (!(p >= 0 && p <= 1) || Math.abs(y - Math.floor(y) - 0.5) < 1e-6) {
      this.ascii(formatProbability(p));
      return;
    }
    let n = Math.round(y);
    this.reserve(8);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = n === 1_000_000 ? 49 : 48;
    buf[at + 1] = 46;
    for (let k = 7; k >= 2; k--) {
      buf[at + k] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos = at + 8;
  }

  /** A string of code units below 128 (numbers, tiers). */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let k = 0; k < text.length; k++) this.buf[this.pos++] = text.charCodeAt(k);
  }

  text(text: string): void {
    this.reserve(text.length * 3);
    this.pos += utf8.encodeInto(text, this.buf.subarray(this.pos)).written;
  }

  /**
   * Value i of a utf8 column as a CSV field, quoted exactly when csvField
   * would quote its text (missing: empty); with `formulaGuard`, exactly
   * textField's text (the rare value that starts like a formula is decoded
   * and goes through it).
   */
  utf8Field(column: RawUtf8, i: number, formulaGuard = false): void {
    if (isNullAt(column, i)) return;
    const { bytes } = column;
    const a = column.offsets[i]!;
    const b = column.offsets[i + 1]!;
    if (formulaGuard && b > a && mayNeedFormulaGuard(bytes[a]!)) {
      this.text(textField(decoder.decode(bytes.subarray(a, b)), true));
      return;
    }
    // Bytes below 128 are whole characters in UTF-8, so this byte test is csvField's character test.
    let quote = false;
    for (let k = a; k < b; k++) {
      const c = bytes[k]!;
      if (c === QUOTE || c === COMMA || c === NEWLINE || c === CR) {
        quote = true;
        break;
      }
    }
    if (!quote) {
      // A loop, not set(subarray): ids are a few bytes, and a view per row is garbage.
      this.reserve(b - a);
      const buf = this.buf;
      let at = this.pos;
      for (let k = a; k < b; k++) buf[at++] = bytes[k]!;
      this.pos = at;
      return;
    }
    this.reserve(2 * (b - a) + 2);
    this.buf[this.pos++] = QUOTE;
    for (let k = a; k < b; k++) {
      if (bytes[k] === QUOTE) this.buf[this.pos++] = QUOTE;
      this.buf[this.pos++] = bytes[k]!;
    }
    this.buf[this.pos++] = QUOTE;
  }

  /** The bytes written, in a buffer of their own (it may be transferred or queued). */
  take(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const TIER_BYTES: Record<Tier, Uint8Array> = {
  high: utf8.encode("high"),
  medium: utf8.encode("medium"),
  low: utf8.encode("low"),
};

/**
 * Writes the scores.csv lines (no header) of a stream's batches, in order. One
 * per stream: it keeps scratch matrices and the categorical level tables.
 */
export class ScoresCsvWriter {
  private readonly encoder: RawEncoder;
  private readonly withReasons: ReadonlySet<Tier>;
  private readonly emptyReasons: Uint8Array;
  private readonly tail: Uint8Array;
  private x = new Float64Array(0);
  private p = new Float64Array(0);

  constructor(
    private readonly predictor: Predictor,
    private readonly options: ScoreOptions,
  ) {
    this.encoder = new RawEncoder(predictor.transform);
    this.withReasons = new Set(options.reasonsFor);
    // reason_1..k and reason_codes, all empty.
    this.emptyReasons = utf8.encode(",".repeat(options.reasons + 1));
    this.tail = utf8.encode(`,${predictor.version}`);
  }

  /** The lines of one raw batch as UTF-8. */
  write(raw: RawBatch): Uint8Array {
    const { predictor, options } = this;
    const n = raw.numRows;
    const d = predictor.numFeatures;
    if (this.x.length < n * d) this.x = new Float64Array(n * d);
    if (this.p.length < n) this.p = new Float64Array(n);
    const x = this.encoder.encodeInto(raw, this.x);
    const p = predictor.probabilities(x, n, this.p);
    const pass = options.passthrough.map((name) => {
      const c = raw.columns[name];
      if (c === undefined) throw new InputError(`the rows have no passthrough column "${name}"`);
      return c;
    });
    const k = options.reasons;
    const reasons = this.reasonsOf(raw, x, p, n);
    let next = 0;
    const schema = predictor.schema;
    // About 40 bytes a line besides the id and the version; the writer grows if reasons need more.
    const w = new ByteWriter(raw.ids.offsets[n]! - raw.ids.offsets[0]! + n * (40 + this.tail.length));
    for (let i = 0; i < n; i++) {
      const pi = p[i]!;
      const tier = predictor.tierOf(pi);
      w.utf8Field(raw.ids, i);
      w.byte(COMMA);
      w.probability(pi);
      w.byte(COMMA);
      w.bytes(TIER_BYTES[tier]);
      if (k > 0 && this.withReasons.has(tier)) {
        const { texts, codes } = reasons[next++]!;
        for (let r = 0; r < k; r++) {
          w.byte(COMMA);
          if (texts[r] !== undefined) w.text(textField(texts[r]!, options.formulaGuard));
        }
        w.byte(COMMA);
        w.text(textField(codes, options.formulaGuard));
      } else w.bytes(this.emptyReasons);
      w.bytes(this.tail);
      for (let j = 0; j < pass.length; j++) {
        w.byte(COMMA);
        const c = pass[j]!;
        if (c instanceof Float64Array)
          w.ascii(passthroughText(schema, options.passthrough[j]!, c[i]!, options.formulaGuard));
        else w.utf8Field(c, i, options.formulaGuard);
      }
      w.byte(NEWLINE);
    }
    return w.take();
  }

  /** The reasons of the batch's rows whose tier gets them, in row order, computed as one batch. */
  private reasonsOf(raw: RawBatch, x: Float64Array, p: Float64Array, n: number): RowReasons[] {
    const { predictor, options } = this;
    if (options.reasons <= 0) return [];
    const d = predictor.numFeatures;
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (this.withReasons.has(predictor.tierOf(p[i]!))) rows.push(i);
    const value = (r: number, column: string) => {
      const c = raw.columns[column]!;
      return c instanceof Float64Array ? c[rows[r]!]! : utf8At(c, rows[r]!);
    };
    const offsets = Int32Array.from(rows, (i) => i * d);
    return predictor.reasonsOfRows(x, offsets, rows.length, value, options.reasons, options.labels);
  }
}

/** Scores one decoded batch into scores.csv lines (no header), through the same writer. */
export function scoreBatchCsv(predictor: Predictor, batch: RowBatch, options: ScoreOptions): string {
  return decoder.decode(new ScoresCsvWriter(predictor, options).write(rawBatchOf(batch)));
}
