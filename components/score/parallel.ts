import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { RecordBatchReader } from "apache-arrow";
import type { Bundle } from "../common/bundle/bundle.js";
import { ChurnError, InputError } from "../common/errors.js";
import {
  datasetSchemaOf,
  ID_FIELD,
  isFloatColumn,
  LINE_FIELD,
  readRowBatches,
  storedColumns,
} from "../common/schema/arrow.js";
import type { RowBatch } from "../common/schema/types.js";
import { loadPredictor, type ReasonOptions, type ScoreScratch, scoreBatchCsv } from "./predictor.js";

/**
 * Scoring on every core: record batches go round-robin to worker threads, each
 * holding its own copy of the same predictor, and their scores.csv text comes
 * back in batch order. A row's text depends only on the row and the bundle,
 * so the output is byte-identical to scoring on one thread.
 *
 * Batches travel as their raw Arrow buffers (typed arrays, copied once and
 * transferred), not as decoded rows: cloning arrays of strings costs more
 * than scoring them, and would leave the main thread the bottleneck.
 */

export type ScoreOptions = ReasonOptions & { passthrough: readonly string[] };

/**
 * Worker threads for a big input. Probabilities alone: one per core but one
 * (the main thread reads, hashes and writes), and none below 4 cores: on a
 * 2-core machine the measured gain was nil (bench/score.ts), the threads only
 * competed with the reader. With reasons, TreeSHAP dominates (~100x the cost
 * of a probability) and the reader is nearly idle, so every core gets a worker.
 */
export function defaultWorkers(explaining: boolean): number {
  const cores = availableParallelism();
  if (explaining) return cores >= 2 ? cores : 0;
  return cores >= 4 ? cores - 1 : 0;
}

/** A utf8 Arrow column as plain buffers: offsets start at 0. */
interface RawUtf8 {
  offsets: Int32Array;
  bytes: Uint8Array;
  /** Validity bitmap, or null when nothing is missing. */
  valid: Uint8Array | null;
}

/** One record batch as transferable buffers. */
export interface RawBatch {
  numRows: number;
  lines: Uint32Array;
  ids: RawUtf8;
  columns: Record<string, Float64Array | RawUtf8>;
}

interface ArrowData {
  length: number;
  offset: number;
  values: Uint8Array | Float64Array | Uint32Array;
  valueOffsets: Int32Array;
  nullBitmap?: Uint8Array;
  nullCount: number;
}

/** Rows [from, to) of a utf8 Arrow column as plain buffers; `from` is a multiple of 8 so the validity bitmap stays byte-aligned. */
function rawUtf8(data: ArrowData, from: number, to: number): RawUtf8 {
  const n = to - from;
  const start = data.valueOffsets[from]!;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = data.valueOffsets[from + i]! - start;
  const bytes = (data.values as Uint8Array).slice(start, data.valueOffsets[to]!);
  const valid =
    data.nullCount > 0 && data.nullBitmap?.length ? data.nullBitmap.slice(from >> 3, (to + 7) >> 3) : null;
  return { offsets, bytes, valid };
}

const decoder = new TextDecoder("utf-8");

function decodeUtf8(raw: RawUtf8, n: number): Array<string | null> {
  const out: Array<string | null> = new Array(n);
  const { offsets, bytes, valid } = raw;
  let ascii = true;
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i]! > 127) {
      ascii = false;
      break;
    }
  const whole = ascii
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
    : null;
  for (let i = 0; i < n; i++) {
    if (valid && ((valid[i >> 3]! >> (i & 7)) & 1) === 0) out[i] = null;
    else
      out[i] =
        whole !== null
          ? whole.slice(offsets[i]!, offsets[i + 1]!)
          : decoder.decode(bytes.subarray(offsets[i]!, offsets[i + 1]!));
  }
  return out;
}

/** Rebuilds the RowBatch of a raw batch (what readRowBatches would have given). */
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

function transferList(raw: RawBatch): ArrayBuffer[] {
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

/**
 * Reads an ingest Arrow stream as raw batches (copies of their buffers, ready
 * to transfer): one array per record batch, split into pieces of at most
 * `pieceRows` rows so the work spreads evenly over the workers.
 */
export async function* readRawBatches(
  input: AsyncIterable<Uint8Array>,
  pieceRows = Number.POSITIVE_INFINITY,
): AsyncGenerator<RawBatch[]> {
  const reader = await RecordBatchReader.from(input);
  await reader.open();
  const columns = storedColumns(datasetSchemaOf(reader.schema));
  // Pieces start at multiples of 8 rows: validity bitmaps then split on byte boundaries.
  const step = Number.isFinite(pieceRows)
    ? Math.max(8, pieceRows - (pieceRows % 8))
    : Number.POSITIVE_INFINITY;
  for await (const batch of reader) {
    const child = (name: string) => {
      const vector = batch.getChild(name);
      if (!vector) throw new InputError(`the Arrow stream lacks column "${name}"`);
      return vector.data[0] as unknown as ArrowData;
    };
    const pieces: RawBatch[] = [];
    let from = 0;
    do {
      const to = Math.min(batch.numRows, from + step);
      const raw: RawBatch = {
        numRows: to - from,
        lines: (child(LINE_FIELD).values as Uint32Array).slice(from, to),
        ids: rawUtf8(child(ID_FIELD), from, to),
        columns: {},
      };
      for (const column of columns) {
        const data = child(column.name);
        raw.columns[column.name] = isFloatColumn(column)
          ? (data.values as Float64Array).slice(from, to)
          : rawUtf8(data, from, to);
      }
      pieces.push(raw);
      from = to;
    } while (from < batch.numRows);
    yield pieces;
  }
}

interface Reply {
  seq: number;
  bytes?: Uint8Array;
  error?: { message: string; input: boolean };
}

/** Young generation of a worker: three 64 MB semi-spaces' worth, as STEP_NODE_FLAGS gives the main thread. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 192 };

function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./worker.js", import.meta.url), { workerData, resourceLimits: WORKER_LIMITS });
  // From sources (tsx, vitest) the worker registers tsx's loader before importing the TypeScript file.
  const source = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)}); });`;
  return new Worker(source, { eval: true, workerData, resourceLimits: WORKER_LIMITS });
}

/** Which record batches to score: [from, to) by batch index. */
export interface BatchRange {
  from: number;
  to: number;
}

/**
 * Scores an ingest Arrow stream into scores.csv chunks (text, or UTF-8 bytes from workers; no header), in
 * input order, on `workers` worker threads (0: on this thread); `onRows` counts the rows scored.
 */
export async function* scoreArrow(
  bundle: Bundle,
  version: string,
  input: AsyncIterable<Uint8Array>,
  options: ScoreOptions,
  range: BatchRange,
  workers: number,
  onRows: (rows: number) => void,
): AsyncGenerator<string | Uint8Array> {
  if (workers <= 0) {
    const predictor = loadPredictor(bundle, version);
    const scratch: ScoreScratch = { x: new Float64Array(0), p: new Float64Array(0) };
    let b = 0;
    for await (const batch of readRowBatches(input)) {
      if (b >= range.from && b < range.to) {
        onRows(batch.numRows);
        yield scoreBatchCsv(predictor, batch, options, scratch);
      }
      b++;
    }
    return;
  }
  const data = { bundle, version, options: { ...options, reasonsFor: [...options.reasonsFor] } };
  // Reasons cost ~100x a probability and fall unevenly on rows (only some tiers get them),
  // so they travel in small pieces; probabilities in bigger ones, where per-message cost shows.
  const pieceRows = options.reasons > 0 && options.reasonsFor.length > 0 ? 1024 : 8192;
  const pool = Array.from({ length: workers }, () => startWorker(data));
  const waiting = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
  const fail = (error: Error) => {
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  for (const worker of pool) {
    worker.on("message", (reply: Reply) => {
      const w = waiting.get(reply.seq);
      if (!w) return;
      waiting.delete(reply.seq);
      if (reply.error)
        w.reject(
          reply.error.input ? new InputError(reply.error.message) : new ChurnError(reply.error.message),
        );
      else w.resolve(reply.bytes!);
    });
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) => {
      if (code !== 0) fail(new ChurnError(`a scoring worker stopped with exit code ${code}`));
    });
  }
  const inFlight: Array<Promise<Uint8Array>> = [];
  try {
    let b = 0;
    let seq = 0;
    for await (const pieces of readRawBatches(input, pieceRows)) {
      if (b >= range.from && b < range.to) {
        for (const raw of pieces) {
          const id = seq++;
          const done = new Promise<Uint8Array>((resolve, reject) => waiting.set(id, { resolve, reject }));
          done.catch(() => {});
          onRows(raw.numRows);
          pool[id % workers]!.postMessage({ seq: id, raw }, transferList(raw));
          inFlight.push(done);
          // Two pieces queued per worker keeps every core busy with bounded memory.
          while (inFlight.length >= 2 * workers) yield await inFlight.shift()!;
        }
      }
      b++;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
