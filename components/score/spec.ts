import { PassThrough } from "node:stream";
import { z } from "zod";
import { readBundleInput, readConfigInput } from "../common/component/inputs.js";
import {
  type ComponentContext,
  type ConfigSection,
  defineComponent,
  type ObjectRef,
} from "../common/component/spec.js";
import { ChurnError, GateRefusedError, NotFoundError, UsageError } from "../common/errors.js";
import { readRowBatches } from "../common/schema/arrow.js";
import type { RowBatch } from "../common/schema/types.js";
import { loadPredictor, reasonOptionsOf } from "../models/predictor.js";
import { defaultWorkers, scoreArrow } from "./parallel.js";
import { scoresHeader } from "./scores-csv.js";
import {
  BatchClient,
  type LineOptions,
  rejectedLines,
  type ServerRejectedRow,
  scoreViaServer,
} from "./server-client.js";

/**
 * The score component: streams ingest-weekly's record batches through the
 * champion bundle into scores.csv (DESIGN columns, input order). Sharding
 * splits the stream by record batch, never by CSV bytes: shard s of n takes
 * the s-th contiguous block of batches, so concatenating the shards in order
 * (merge-scores) gives exactly the unsharded file.
 */
export const scoreParameters = z.strictObject({
  shard_index: z
    .int()
    .min(0)
    .default(0)
    .describe("this shard (0-based); JOB_COMPLETION_INDEX in an Indexed Job"),
  shard_count: z.int().min(1).default(1).describe("number of shards"),
  workers: z
    .union([z.literal("auto"), z.int().min(0)])
    .default("auto")
    .describe(
      "worker threads (0: score on the main thread); auto: with reasons, one per core for inputs over 1 MB; without, cores - 1 on 4+ cores for inputs over 8 MB; else 0",
    ),
  server_url: z
    .url()
    .nullable()
    .default(null)
    .describe(
      "score through this model server (V2) instead of in-process; default: churn.yaml score.server_url when score.mode is server",
    ),
  server_concurrency: z
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe("requests in flight when scoring through a server"),
  server_batch_rows: z
    .int()
    .min(1)
    .max(10_000)
    .default(500)
    .describe("rows per request when scoring through a server"),
});

/** Inputs smaller than these are scored on the main thread (starting workers would cost more). */
const PARALLEL_MIN_BYTES = 8 << 20;
const PARALLEL_MIN_BYTES_EXPLAINING = 1 << 20;
export type ScoreParameters = z.output<typeof scoreParameters>;

/** The batches [from, to) of shard `index` among `count` over `batches` batches. */
export function shardRange(batches: number, index: number, count: number): [number, number] {
  return [Math.floor((index * batches) / count), Math.floor(((index + 1) * batches) / count)];
}

/** The churn.yaml sections score reads: its cache key hashes only these (a change elsewhere reuses it). */
// campaign: score.reasons_for `contact-list` means the high tier plus campaign.eligible_tiers.
const scoreReads = [
  "score",
  "labels",
  "passthrough",
  "publish",
  "campaign",
] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<ScoreParameters, (typeof scoreReads)[number]>) {
  const { shard_index: index, shard_count: count } = ctx.parameters;
  if (index >= count) throw new NotFoundError(`shard_index ${index} is not below shard_count ${count}`);
  const config = await readConfigInput(ctx);
  const championRef = ctx.inputs.champion?.[0];
  // DESIGN exit 3: no model to score with (not bad input: training can fix it).
  if (!championRef)
    throw new GateRefusedError(
      `${ctx.storage.uri} has no champion model to score with: run churn train first`,
    );
  const bundle = await readBundleInput(ctx, championRef);
  const predictor = loadPredictor(bundle);
  const rowsRef = ctx.inputs.rows![0]!;
  let from = 0;
  let to = Number.POSITIVE_INFINITY;
  if (count > 1) {
    // A first pass counts the batches so each shard takes one contiguous block.
    let total = 0;
    for await (const _ of readRowBatches(ctx.openInput(rowsRef))) total++;
    [from, to] = shardRange(total, index, count);
  }
  const options = {
    ...reasonOptionsOf(config),
    passthrough: config.passthrough,
    // The guard is read from the config input, whose content hash is in this step's cache key.
    formulaGuard: config.publish.formula_guard,
  };
  const explaining = options.reasons > 0 && options.reasonsFor.length > 0;
  const minBytes = (explaining ? PARALLEL_MIN_BYTES_EXPLAINING : PARALLEL_MIN_BYTES) * count;
  const inputBytes = rowsRef.size ?? (await ctx.storage.stat(rowsRef.object))?.size ?? 0;
  const workers =
    ctx.parameters.workers === "auto"
      ? inputBytes >= minBytes
        ? defaultWorkers(explaining)
        : 0
      : ctx.parameters.workers;
  const serverUrl =
    ctx.parameters.server_url ?? (config.score.mode === "server" ? config.score.server_url : null);
  if (config.score.mode === "server" && serverUrl === null)
    throw new UsageError("churn.yaml score.mode is server but score.server_url is not set");
  if (serverUrl !== null) return runViaServer(ctx, serverUrl, predictor, options, rowsRef, from, to);
  const out = new PassThrough();
  const written = ctx.writeOutput("scores", out, { contentType: "text/csv" });
  written.catch(() => {});
  let rows = 0;
  try {
    // Only the first shard carries the header, so shards concatenate into one file.
    if (index === 0) out.write(scoresHeader(predictor.schema, options.passthrough, options.reasons));
    const chunks = scoreArrow(
      bundle,
      predictor.version,
      ctx.openInput(rowsRef),
      options,
      { from, to },
      workers,
      (n) => {
        rows += n;
      },
    );
    for await (const text of chunks) {
      if (!out.write(text)) await new Promise((resolve) => out.once("drain", resolve));
    }
    out.end();
  } catch (error) {
    out.destroy(error as Error);
    throw error;
  }
  await written;
  return {
    counts: { scored: rows },
    summary: { model_version: predictor.version, family: predictor.family, shard: { index, count }, workers },
  };
}

/** An async iterable of the batches [from, to) of a stream. */
async function* batchRange(
  batches: AsyncIterable<RowBatch>,
  from: number,
  to: number,
): AsyncGenerator<RowBatch> {
  let i = 0;
  for await (const batch of batches) {
    if (i >= from && i < to) yield batch;
    i++;
  }
}

/** score.mode server: the same scores.csv, computed by a model server over V2 (server-client.ts). */
async function runViaServer(
  ctx: ComponentContext<ScoreParameters>,
  url: string,
  predictor: ReturnType<typeof loadPredictor>,
  options: LineOptions,
  rowsRef: ObjectRef,
  from: number,
  to: number,
) {
  const client = new BatchClient({
    url,
    concurrency: ctx.parameters.server_concurrency,
    batchRows: ctx.parameters.server_batch_rows,
  });
  const served = await client.connect();
  // Identity rule: a server holding another model would write another file.
  if (served !== predictor.version)
    throw new ChurnError(
      `the server at ${url} serves model ${served}, but the champion is ${predictor.version}`,
    );
  const index = ctx.parameters.shard_index;
  const out = new PassThrough();
  const written = ctx.writeOutput("scores", out, { contentType: "text/csv" });
  written.catch(() => {});
  const rejected: ServerRejectedRow[] = [];
  let rows = 0;
  try {
    if (index === 0) out.write(scoresHeader(predictor.schema, options.passthrough, options.reasons));
    const batches = batchRange(readRowBatches(ctx.openInput(rowsRef)), from, to);
    for await (const text of scoreViaServer(client, predictor.schema, batches, options, rejected)) {
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) rows++;
      if (!out.write(text)) await new Promise((resolve) => out.once("drain", resolve));
    }
    out.end();
  } catch (error) {
    out.destroy(error as Error);
    throw error;
  }
  await written;
  // Rows the server refused: rejected.csv lines (publish appends them to ingest's rejected rows).
  await ctx.writeOutput("refused", rejectedLines(rejected), { contentType: "text/csv" });
  return {
    counts: { scored: rows, rejected: rejected.length },
    summary: {
      model_version: predictor.version,
      family: predictor.family,
      shard: { index, count: ctx.parameters.shard_count },
      server: { url, retried: client.retried, concurrency: client.options.concurrency },
    },
  };
}

/** The score component spec. */
export const scoreComponent = defineComponent({
  name: "score",
  reads: scoreReads,
  description: "probabilities, tiers and reasons for every accepted row, in input order",
  inputs: {
    rows: { type: "arrow", description: "ingest-weekly's typed rows (rows.arrow)" },
    champion: { type: "model", description: "the champion bundle", optional: true },
    config: { type: "yaml", description: "churn.yaml (score, passthrough, publish.formula_guard)" },
  },
  outputs: {
    scores: { type: "csv", file: "scores.csv", description: "scores.csv (this shard's part when sharded)" },
    refused: {
      type: "csv",
      file: "refused.csv",
      description: "score.mode server only: rejected.csv lines (no header) of the rows the server refused",
    },
  },
  parameters: scoreParameters,
  summary: z.strictObject({
    model_version: z.string(),
    family: z.string(),
    shard: z.strictObject({ index: z.int().optional(), count: z.int() }),
    workers: z.number().optional(),
    server: z.strictObject({ url: z.string(), retried: z.number(), concurrency: z.number() }).optional(),
  }),
  run,
});
