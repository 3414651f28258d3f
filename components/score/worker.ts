import { parentPort, workerData } from "node:worker_threads";
import type { Bundle } from "../common/bundle/bundle.js";
import { InputError } from "../common/errors.js";
import { decodeRawBatch, type RawBatch, type ScoreOptions } from "./parallel.js";
import { loadPredictor, type ScoreScratch, scoreBatchCsv } from "./predictor.js";

/** A scoring worker thread (see parallel.ts): raw batch in, scores.csv text out. */
const { bundle, version, options } = workerData as { bundle: Bundle; version: string; options: ScoreOptions };
const predictor = loadPredictor(bundle, version);
const encoder = new TextEncoder();
const scratch: ScoreScratch = { x: new Float64Array(0), p: new Float64Array(0) };

parentPort!.on("message", (message: { seq: number; raw: RawBatch }) => {
  try {
    // Encoded here and transferred, so the main thread neither copies nor encodes the text.
    const bytes = encoder.encode(scoreBatchCsv(predictor, decodeRawBatch(message.raw), options, scratch));
    parentPort!.postMessage({ seq: message.seq, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({
      seq: message.seq,
      error: { message: (error as Error).message, input: error instanceof InputError },
    });
  }
});
