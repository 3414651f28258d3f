import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Bundle } from "../common/bundle/bundle.js";
import { ChurnError, InputError } from "../common/errors.js";
import { readRawBatches, transferList } from "../common/schema/raw-batch.js";
import { loadPredictor } from "../models/predictor.js";
import { type ScoreOptions, ScoresCsvWriter } from "./scores-csv.js";

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
 * Scores an ingest Arrow stream into scores.csv chunks (UTF-8, no header), in
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
): AsyncGenerator<Uint8Array> {
  if (workers <= 0) {
    const writer = new ScoresCsvWriter(loadPredictor(bundle, version), options);
    let b = 0;
    for await (const [raw] of readRawBatches(input)) {
      if (b >= range.from && b < range.to) {
        onRows(raw!.numRows);
        yield writer.write(raw!);
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
    for await (const pieces of readRawBatches(input, { pieceRows, copy: true })) {
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
