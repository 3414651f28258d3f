import { parentPort, workerData } from "node:worker_threads";
import type { Bundle } from "../common/bundle/bundle.js";
import { InputError } from "../common/errors.js";
import type { RawBatch } from "../common/schema/raw-batch.js";
import { loadPredictor } from "../models/predictor.js";
import { type ScoreOptions, ScoresCsvWriter } from "./scores-csv.js";

/** A scoring worker thread (see parallel.ts): raw batch in, scores.csv bytes out. */
const { bundle, version, options } = workerData as { bundle: Bundle; version: string; options: ScoreOptions };
const writer = new ScoresCsvWriter(loadPredictor(bundle, version), options);

parentPort!.on("message", (message: { seq: number; raw: RawBatch }) => {
  try {
    // Transferred, so the main thread neither copies nor encodes the text.
    const bytes = writer.write(message.raw);
    parentPort!.postMessage({ seq: message.seq, bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({
      seq: message.seq,
      error: { message: (error as Error).message, input: error instanceof InputError },
    });
  }
});
