import { isAscii } from "node:buffer";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { TextDecoder } from "node:util";
import {
  Field,
  Float64,
  makeData,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint8,
  Uint32,
  Utf8,
} from "apache-arrow";
import { InputError } from "../errors.js";
import { parseDatasetSchema } from "./parse.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "./types.js";

/**
 * The typed intermediate between ingest and the later steps: an Apache Arrow
 * IPC stream of record batches. Why Arrow: it is typed and columnar (a numeric
 * column is one Float64 buffer, read back without parsing), it streams batch by
 * batch (flat memory, and sharded scoring can split on batches rather than CSV
 * byte ranges, so gzip and quoted newlines are safe), and pandas/pyarrow read it
 * directly (`pyarrow.ipc.open_stream`) when someone needs to debug a run.
 *
 * Layout: `__line` (uint32, source line), `__id` (utf8), `__label` (uint8 0/1,
 * training files only), then every schema column except id, label and pii
 * (pii never leaves ingest): numeric, boolean and date columns as float64 with
 * NaN for missing, categorical ones as utf8 with nulls. The DatasetSchema JSON
 * rides along in the schema metadata under `churn.schema`.
 */
export const LINE_FIELD = "__line";
export const ID_FIELD = "__id";
export const LABEL_FIELD = "__label";
const SCHEMA_KEY = "churn.schema";

/** Columns that go into the intermediate, in order. */
export function storedColumns(schema: DatasetSchema): ColumnSchema[] {
  return schema.columns.filter((c) => c.role !== "id" && c.role !== "label" && c.role !== "pii");
}

/** True when a column is held as Float64Array in a RowBatch. */
export function isFloatColumn(column: ColumnSchema): boolean {
  return column.type !== "categorical";
}

/** The Arrow schema for a dataset schema. */
export function arrowSchema(schema: DatasetSchema, withLabel: boolean): Schema {
  const fields: Field[] = [
    new Field(LINE_FIELD, new Uint32(), false),
    new Field(ID_FIELD, new Utf8(), false),
  ];
  if (withLabel) fields.push(new Field(LABEL_FIELD, new Uint8(), false));
  for (const column of storedColumns(schema)) {
    fields.push(
      new Field(
        column.name,
        isFloatColumn(column) ? new Float64() : new Utf8(),
        !isFloatColumn(column),
        new Map([
          ["churn.type", column.type],
          ["churn.role", column.role],
        ]),
      ),
    );
  }
  return new Schema(fields, new Map([[SCHEMA_KEY, JSON.stringify(schema)]]));
}

function utf8Data(values: ArrayLike<string | null>, length: number) {
  const offsets = new Int32Array(length + 1);
  const nulls = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const parts: string[] = new Array(length);
  let chars = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nullCount++;
      parts[i] = "";
    } else {
      nulls[i >> 3]! |= 1 << (i & 7);
      parts[i] = v;
      chars += v.length;
    }
  }
  const joined = parts.join("");
  const bytes = Buffer.from(joined, "utf8");
  if (bytes.length === chars) {
    // All ASCII: character offsets are byte offsets.
    let o = 0;
    for (let i = 0; i < length; i++) {
      offsets[i] = o;
      o += parts[i]!.length;
    }
    offsets[length] = o;
  } else {
    let o = 0;
    for (let i = 0; i < length; i++) {
      offsets[i] = o;
      o += Buffer.byteLength(parts[i]!, "utf8");
    }
    offsets[length] = o;
  }
  return makeData({
    type: new Utf8(),
    length,
    nullCount,
    valueOffsets: offsets,
    data: bytes,
    nullBitmap: nullCount > 0 ? nulls : undefined,
  });
}

/** Convert a RowBatch to an Arrow record batch under `schema` (from arrowSchema). */
export function toRecordBatch(dataset: DatasetSchema, schema: Schema, batch: RowBatch): RecordBatch {
  const n = batch.numRows;
  const children = [
    makeData({ type: new Uint32(), length: n, data: batch.lines.subarray(0, n) }),
    utf8Data(batch.ids, n),
  ];
  if (schema.fields[2]?.name === LABEL_FIELD) {
    if (!batch.label) throw new Error("training batch without labels");
    children.push(makeData({ type: new Uint8(), length: n, data: batch.label.subarray(0, n) }) as never);
  }
  for (const column of storedColumns(dataset)) {
    const values = batch.columns[column.name];
    if (!values) throw new Error(`batch lacks column ${column.name}`);
    if (values instanceof Float64Array) {
      children.push(makeData({ type: new Float64(), length: n, data: values.subarray(0, n) }) as never);
    } else {
      children.push(utf8Data(values, n) as never);
    }
  }
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children }));
}

/**
 * Streams RowBatches out as an Arrow IPC stream with backpressure: `readable`
 * is what storage consumes; `write` waits while the consumer lags, so memory
 * stays at about one batch.
 */
export class ArrowStreamWriter {
  private readonly duplex: Duplex;
  private readonly schema: Schema;
  /** `withLabel`: training files carry `__label`; scoring files do not, whatever the schema says. */
  constructor(
    private readonly dataset: DatasetSchema,
    withLabel: boolean,
  ) {
    this.schema = arrowSchema(dataset, withLabel);
    this.duplex = RecordBatchStreamWriter.throughNode({ autoDestroy: true });
    // Failures surface through the consumer (the storage write); keep them off the event loop.
    this.duplex.on("error", () => {});
  }

  /** The byte stream to hand to storage. */
  get readable(): Duplex {
    return this.duplex;
  }

  /** Write one batch. */
  async write(batch: RowBatch): Promise<void> {
    if (batch.numRows === 0) return;
    if (!this.duplex.write(toRecordBatch(this.dataset, this.schema, batch))) await once(this.duplex, "drain");
  }

  /** Finish the stream; an empty result still carries the schema. */
  end(): void {
    this.duplex.end();
  }

  /**
   * Abort (on error) so the consumer fails too: it sees the stream close
   * before its end (a premature close). Not `destroy(error)`: apache-arrow
   * then aborts its reader while a pull it never awaits is pending, and that
   * pull rejects unhandled, which killed the ingest step with exit 1 after
   * its real message (a bad-input failure retried three times; issue 25).
   */
  destroy(_error: Error): void {
    this.duplex.destroy();
  }
}

const utf8Decoder = new TextDecoder("utf-8");

/** Distinct values a column may have before interning gives up on it (ids, free text). */
const INTERN_LIMIT = 4096;

function readUtf8Column(
  data: {
    length: number;
    values: Uint8Array;
    valueOffsets: Int32Array;
    nullBitmap?: Uint8Array;
    nullCount: number;
  },
  intern: boolean,
): Array<string | null> {
  const { length, values, valueOffsets, nullBitmap } = data;
  const out: Array<string | null> = new Array(length);
  const hasNulls = data.nullCount > 0 && nullBitmap && nullBitmap.length > 0;
  const start = valueOffsets[0]!;
  const bytes = values.subarray(start, valueOffsets[length]!);
  // ASCII (the usual case): decode the whole buffer once and slice it.
  const whole = isAscii(bytes)
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
    : null;
  // Categorical columns repeat a few values: one string per distinct value (found
  // by a key of its bytes, checked byte by byte) instead of one per row saves the
  // allocation and lets later Map lookups reuse the string's cached hash.
  let seen: Map<number, string> | null = intern && whole !== null ? new Map() : null;
  for (let i = 0; i < length; i++) {
    if (hasNulls && ((nullBitmap[i >> 3]! >> (i & 7)) & 1) === 0) {
      out[i] = null;
      continue;
    }
    const a = valueOffsets[i]!;
    const b = valueOffsets[i + 1]!;
    if (seen !== null) {
      // A key from the length and four bytes costs the same for any length; values
      // sharing a key only miss the cache (each is still checked byte by byte).
      const len = b - a;
      const h =
        len === 0
          ? 0
          : ((((len * 31 + values[a]!) * 31 + values[a + (len > 1 ? 1 : 0)]!) * 31 +
              values[a + (len >> 1)]!) *
              31 +
              values[b - 1]!) |
            0;
      const known = seen.get(h);
      if (known !== undefined && sameAscii(known, values, a, b)) {
        out[i] = known;
        continue;
      }
      const text = whole!.slice(a - start, b - start);
      if (known === undefined) seen.set(h, text);
      if (seen.size > INTERN_LIMIT) seen = null;
      out[i] = text;
      continue;
    }
    out[i] = whole !== null ? whole.slice(a - start, b - start) : utf8Decoder.decode(values.subarray(a, b));
  }
  return out;
}

/** True when the ASCII string equals bytes[a, b). */
function sameAscii(text: string, bytes: Uint8Array, a: number, b: number): boolean {
  if (text.length !== b - a) return false;
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) !== bytes[a + k]) return false;
  return true;
}

/** The DatasetSchema stored in an intermediate's metadata. */
export function datasetSchemaOf(schema: Schema): DatasetSchema {
  const text = schema.metadata.get(SCHEMA_KEY);
  if (!text) throw new InputError("the Arrow stream carries no churn schema: it was not written by ingest");
  return parseDatasetSchema(text, "the Arrow stream's churn schema");
}

/**
 * Read an ingest intermediate back as RowBatches (one per record batch).
 * `onSchema` receives the DatasetSchema before the first batch.
 */
export async function* readRowBatches(
  input: AsyncIterable<Uint8Array>,
  onSchema?: (schema: DatasetSchema) => void,
): AsyncGenerator<RowBatch> {
  const reader = await RecordBatchReader.from(input);
  await reader.open();
  const dataset = datasetSchemaOf(reader.schema);
  onSchema?.(dataset);
  const columns = storedColumns(dataset);
  const withLabel = reader.schema.fields.some((f) => f.name === LABEL_FIELD);
  for await (const batch of reader) {
    const n = batch.numRows;
    const child = (name: string) => {
      const vector = batch.getChild(name);
      if (!vector) throw new InputError(`the Arrow stream lacks column "${name}"`);
      return vector.data[0]!;
    };
    const lines = child(LINE_FIELD).values as Uint32Array;
    const row: RowBatch = {
      numRows: n,
      lines,
      ids: readUtf8Column(child(ID_FIELD) as never, false) as string[],
      columns: {},
    };
    if (withLabel) row.label = child(LABEL_FIELD).values as Uint8Array;
    for (const column of columns) {
      const data = child(column.name);
      row.columns[column.name] = isFloatColumn(column)
        ? (data.values as Float64Array)
        : readUtf8Column(data as never, true);
    }
    yield row;
  }
}
