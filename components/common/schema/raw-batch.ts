import { RecordBatchReader } from "apache-arrow";
import { InputError } from "../errors.js";
import { datasetSchemaOf, ID_FIELD, isFloatColumn, LINE_FIELD, storedColumns } from "./arrow.js";
import type { RowBatch } from "./types.js";

/**
 * Ingest's record batches as their plain Arrow buffers: typed arrays, no
 * per-row strings. Scoring reads these rather than RowBatches because it
 * never needs most of the strings: categorical values resolve to levels from
 * their bytes, ids are copied into scores.csv as bytes, and only the rows that
 * get reasons decode a value. The buffers also transfer to worker threads as
 * they are, where cloning arrays of strings would cost more than scoring them.
 */

/** A utf8 Arrow column: value i is bytes[offsets[i], offsets[i + 1]). */
export interface RawUtf8 {
  offsets: Int32Array;
  bytes: Uint8Array;
  /** Validity bitmap (bit i set: row i has a value), or null when nothing is missing. */
  valid: Uint8Array | null;
}

/** One record batch (or a piece of one) as typed arrays. */
export interface RawBatch {
  numRows: number;
  /** Source line of each row, as RowBatch.lines. */
  lines: Uint32Array;
  ids: RawUtf8;
  /** Numeric, boolean and date columns as Float64Array (NaN missing); categorical ones as utf8. */
  columns: Record<string, Float64Array | RawUtf8>;
}

interface ArrowData {
  values: Uint8Array | Float64Array | Uint32Array;
  valueOffsets: Int32Array;
  nullBitmap?: Uint8Array;
  nullCount: number;
}

/** True when row i of a utf8 column is missing. */
export function isNullAt(column: RawUtf8, i: number): boolean {
  const valid = column.valid;
  return valid !== null && ((valid[i >> 3]! >> (i & 7)) & 1) === 0;
}

const decoder = new TextDecoder("utf-8");

/** Row i of a utf8 column as a string (null when missing). */
export function utf8At(column: RawUtf8, i: number): string | null {
  if (isNullAt(column, i)) return null;
  return decoder.decode(column.bytes.subarray(column.offsets[i]!, column.offsets[i + 1]!));
}

/**
 * Rows [from, to) of a utf8 Arrow column. `from` is a multiple of 8 so the
 * validity bitmap stays byte-aligned. `copy`: own buffers with offsets from 0
 * (to transfer to a worker); else views of the record batch's buffers.
 */
function rawUtf8(data: ArrowData, from: number, to: number, copy: boolean): RawUtf8 {
  const hasNulls = data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0;
  const validFrom = from >> 3;
  const validTo = (to + 7) >> 3;
  if (!copy) {
    return {
      offsets: data.valueOffsets.subarray(from, to + 1),
      bytes: data.values as Uint8Array,
      valid: hasNulls ? data.nullBitmap!.subarray(validFrom, validTo) : null,
    };
  }
  const start = data.valueOffsets[from]!;
  const offsets = new Int32Array(to - from + 1);
  for (let i = 0; i < offsets.length; i++) offsets[i] = data.valueOffsets[from + i]! - start;
  return {
    offsets,
    bytes: (data.values as Uint8Array).slice(start, data.valueOffsets[to]!),
    valid: hasNulls ? data.nullBitmap!.slice(validFrom, validTo) : null,
  };
}

/**
 * Reads an ingest Arrow stream as raw batches: one array per record batch,
 * split into pieces of at most `pieceRows` rows (rounded down to a multiple
 * of 8) so work spreads evenly over workers. `copy`: each piece owns its
 * buffers, ready to transfer; else pieces are views valid until the next batch.
 */
export async function* readRawBatches(
  input: AsyncIterable<Uint8Array>,
  { pieceRows = Number.POSITIVE_INFINITY, copy = false }: { pieceRows?: number; copy?: boolean } = {},
): AsyncGenerator<RawBatch[]> {
  const reader = await RecordBatchReader.from(input);
  await reader.open();
  const columns = storedColumns(datasetSchemaOf(reader.schema));
  const step = Number.isFinite(pieceRows)
    ? Math.max(8, pieceRows - (pieceRows % 8))
    : Number.POSITIVE_INFINITY;
  for await (const batch of reader) {
    const child = (name: string) => {
      const vector = batch.getChild(name);
      if (!vector) throw new InputError(`the Arrow stream lacks column "${name}"`);
      return vector.data[0] as unknown as ArrowData;
    };
    const floats = (data: ArrowData, from: number, to: number) =>
      copy ? (data.values as Float64Array).slice(from, to) : (data.values as Float64Array).subarray(from, to);
    // Each column's data once per record batch; the pieces only slice it.
    const lines = child(LINE_FIELD).values as Uint32Array;
    const ids = child(ID_FIELD);
    const data = columns.map((column) => child(column.name));
    const pieces: RawBatch[] = [];
    let from = 0;
    do {
      const to = Math.min(batch.numRows, from + step);
      const raw: RawBatch = {
        numRows: to - from,
        lines: copy ? lines.slice(from, to) : lines.subarray(from, to),
        ids: rawUtf8(ids, from, to, copy),
        columns: {},
      };
      columns.forEach((column, c) => {
        raw.columns[column.name] = isFloatColumn(column)
          ? floats(data[c]!, from, to)
          : rawUtf8(data[c]!, from, to, copy);
      });
      pieces.push(raw);
      from = to;
    } while (from < batch.numRows);
    yield pieces;
  }
}

function decodeUtf8(column: RawUtf8, n: number): Array<string | null> {
  const out: Array<string | null> = new Array(n);
  for (let i = 0; i < n; i++) out[i] = utf8At(column, i);
  return out;
}

/** The RowBatch of a raw batch (what readRowBatches gives for the same rows). */
export function decodeRawBatch(raw: RawBatch): RowBatch {
  const columns: RowBatch["columns"] = {};
  for (const [name, c] of Object.entries(raw.columns))
    columns[name] = c instanceof Float64Array ? c : decodeUtf8(c, raw.numRows);
  return {
    numRows: raw.numRows,
    lines: raw.lines,
    ids: decodeUtf8(raw.ids, raw.numRows) as string[],
    columns,
  };
}

const encoder = new TextEncoder();

function encodeUtf8(values: ReadonlyArray<string | null>, n: number): RawUtf8 {
  const offsets = new Int32Array(n + 1);
  const parts: Uint8Array[] = [];
  let valid: Uint8Array | null = null;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? null;
    if (v === null) {
      valid ??= new Uint8Array((n + 7) >> 3).fill(0xff);
      valid[i >> 3]! &= ~(1 << (i & 7));
    } else {
      const bytes = encoder.encode(v);
      parts.push(bytes);
      size += bytes.length;
    }
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { offsets, bytes, valid };
}

/** A RowBatch as a raw batch (for callers holding decoded rows, e.g. one row at a time). */
export function rawBatchOf(batch: RowBatch): RawBatch {
  const n = batch.numRows;
  const columns: RawBatch["columns"] = {};
  for (const [name, c] of Object.entries(batch.columns))
    columns[name] = c instanceof Float64Array ? c.subarray(0, n) : encodeUtf8(c, n);
  return { numRows: n, lines: batch.lines.subarray(0, n), ids: encodeUtf8(batch.ids, n), columns };
}

/** The buffers of a copied raw batch, to transfer with postMessage. */
export function transferList(raw: RawBatch): ArrayBuffer[] {
  const list: ArrayBuffer[] = [raw.lines.buffer as ArrayBuffer];
  const utf8 = (u: RawUtf8) => {
    list.push(u.offsets.buffer as ArrayBuffer, u.bytes.buffer as ArrayBuffer);
    if (u.valid) list.push(u.valid.buffer as ArrayBuffer);
  };
  utf8(raw.ids);
  for (const c of Object.values(raw.columns)) {
    if (c instanceof Float64Array) list.push(c.buffer as ArrayBuffer);
    else utf8(c);
  }
  return list;
}
