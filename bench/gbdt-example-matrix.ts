/**
 * The feature matrix the train step cross-validates on, for an example
 * history of N rows (the `churn init` generator): the real ingest and feature
 * steps run in-process (training with the logistic family only, to be quick),
 * then the training part of the history is encoded exactly as
 * components/train/spec.ts does. Cached under $TMPDIR/churn-bench-gbdt/ so
 * repeated benchmark runs skip it; shared by the GBDT benchmarks.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatBatches, holdoutSplit, selectRows } from "../components/common/data/rows.js";
import { readRowBatches } from "../components/common/schema/arrow.js";
import type { RowBatch } from "../components/common/schema/types.js";
import { openStorage } from "../components/common/storage/index.js";
import { exampleConfigText, exampleRows } from "../components/example-bucket/index.js";
import { parseFeatureTransform } from "../components/models/features/schema.js";
import { transformBatch } from "../components/models/features/transform.js";
import { retrainPipeline } from "../pipelines/definitions/weekly.js";
import { InProcessExecutor } from "../pipelines/runner/executor.js";
import { runPipeline } from "../pipelines/runner/run.js";

/** A dense training matrix: row-major x (rows × names.length) and 0/1 labels. */
export interface ExampleMatrix {
  x: Float64Array;
  y: Uint8Array;
  names: string[];
  rows: number;
}

const SEED = 42;

async function build(rows: number): Promise<ExampleMatrix> {
  const dir = mkdtempSync(join(tmpdir(), "churn-bench-matrix-"));
  try {
    const storage = await openStorage(`file://${dir}`);
    const config = exampleConfigText(SEED).replace(/families: \[[^\]]*\]/, "families: [logistic]");
    if (!config.includes("families: [logistic]"))
      throw new Error("the example churn.yaml has no families line");
    await storage.write("churn.yaml", config);
    await storage.write("input/history.csv", exampleRows({ rows, seed: SEED, labelled: true }));
    const run = await runPipeline({
      storage,
      pipeline: retrainPipeline,
      executor: new InProcessExecutor(storage),
    });
    if (run.exitCode !== 0) throw new Error(`example training run failed: ${run.record.reason}`);
    const stepOut = async (step: string) =>
      JSON.parse(await storage.readText(`runs/${run.record.run_id}/steps/${step}/output.json`)) as {
        outputs: Record<string, { object: string }>;
      };
    const transform = parseFeatureTransform(
      JSON.parse(await storage.readText((await stepOut("feature")).outputs.transform!.object)),
    );
    const batches: RowBatch[] = [];
    const rowsObject = (await stepOut("ingest-history")).outputs.rows!.object;
    for await (const b of readRowBatches(storage.createReadStream(rowsObject))) batches.push(b);
    const batch = concatBatches(batches);
    const split = holdoutSplit(batch.label!, SEED);
    const train = selectRows(batch, split.train);
    const m = transformBatch(transform, train);
    return { x: m.x, y: train.label!, names: m.names, rows: m.numRows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The training matrix of an N-row example history (built once, then read from the cache). */
export async function exampleMatrix(rows: number): Promise<ExampleMatrix> {
  const cache = join(tmpdir(), "churn-bench-gbdt");
  const base = join(cache, `example-${rows}-seed${SEED}`);
  if (existsSync(`${base}.json`)) {
    const meta = JSON.parse(readFileSync(`${base}.json`, "utf8")) as { names: string[]; rows: number };
    // Read straight into the matrix: a Buffer plus a copy would double the peak RSS measured later.
    const x = new Float64Array(statSync(`${base}.x`).size / 8);
    const fd = openSync(`${base}.x`, "r");
    try {
      const bytes = new Uint8Array(x.buffer);
      for (let at = 0; at < bytes.length; ) at += readSync(fd, bytes, at, bytes.length - at, at);
    } finally {
      closeSync(fd);
    }
    const y = new Uint8Array(readFileSync(`${base}.y`));
    return { x, y, names: meta.names, rows: meta.rows };
  }
  const m = await build(rows);
  mkdirSync(cache, { recursive: true });
  writeFileSync(`${base}.x`, new Uint8Array(m.x.buffer, m.x.byteOffset, m.x.byteLength));
  writeFileSync(`${base}.y`, m.y);
  writeFileSync(`${base}.json`, JSON.stringify({ names: m.names, rows: m.rows }));
  return m;
}
