import { z } from "zod";
import { readConfigInput, readInputText } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { InputError } from "../common/errors.js";
import { IdHashSet } from "../common/schema/idset.js";
import { parseDatasetSchema } from "../common/schema/parse.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { assertRejectShare, type IngestOptions, type IngestResult, ingest } from "./ingest.js";
import { IngestStepOutputs } from "./outputs.js";
import { fileSummary, stepProfile, totalsOf } from "./step-summary.js";
import { ingestSummarySchema } from "./summary.js";
import { unseenWarnings } from "./unseen.js";

/**
 * The ingest component: CSV files in; typed Arrow record batches, rejected.csv,
 * a profile and the schema out. Step names: `ingest-history` (training,
 * infers and records the schema) and `ingest-weekly` (scoring, reads with the
 * recorded training schema when given).
 */
export const ingestParameters = z.strictObject({
  mode: z.enum(["training", "scoring"]).describe("training: labels required; scoring: label ignored"),
  sample_rows: z.int().min(100).default(10_000).describe("rows used to infer the schema"),
  batch_rows: z.int().min(1).default(32_768).describe("rows per Arrow record batch"),
});
export type IngestParameters = z.output<typeof ingestParameters>;

/** The churn.yaml sections ingest reads: its cache key hashes only these (a change elsewhere reuses it). */
const ingestReads = [
  "id_column",
  "generate_id",
  "label",
  "exclude",
  "pii",
  "passthrough",
  "ingest",
] as const satisfies readonly ConfigSection[];

type IngestReads = (typeof ingestReads)[number];
type IngestContext = ComponentContext<IngestParameters, IngestReads>;

/**
 * Read every input file into the step's outputs, in order: input/ first,
 * then labelled weekly rows (join-labels), so the schema is the history's.
 * Later files are read with the first file's schema, so every batch has the
 * same columns.
 */
async function ingestFiles(
  ctx: IngestContext,
  config: IngestOptions["config"],
  recorded: DatasetSchema | undefined,
  outputs: IngestStepOutputs,
): Promise<IngestResult[]> {
  const { parameters } = ctx;
  const ids = new IdHashSet(1 << 16);
  const results: IngestResult[] = [];
  let schema = recorded;
  for (const ref of [...(ctx.inputs.data ?? []), ...(ctx.inputs.labelled ?? [])]) {
    ctx.logger.info("ingest: reading", { object: ref.object });
    const result = await ingest(
      ctx.openInput(ref),
      {
        source: ref.object,
        config,
        mode: parameters.mode,
        schema,
        sampleRows: parameters.sample_rows,
        batchRows: parameters.batch_rows,
        ids,
      },
      outputs,
    );
    schema ??= result.schema;
    results.push(result);
    const { rowsIn: rows, accepted, rejected } = result;
    ctx.logger.info("ingest: read", { object: ref.object, rows, accepted, rejected });
  }
  return results;
}

/** Write schema.json and profile.json of the step (after the streamed outputs are stored). */
async function writeDocuments(ctx: IngestContext, results: readonly IngestResult[]): Promise<void> {
  const final = results.at(-1);
  if (!final) throw new InputError(`ingest: the step ${ctx.outputPrefix} was given no file to read`);
  await ctx.writeOutput("schema", `${JSON.stringify(final.schema, null, 2)}\n`, {
    contentType: "application/json",
  });
  const profile = stepProfile(results, ctx.parameters.mode);
  await ctx.writeOutput("profile", `${JSON.stringify(profile, null, 2)}\n`, {
    contentType: "application/json",
  });
}

async function run(ctx: IngestContext) {
  const config = await readConfigInput(ctx);
  const schemaRef = ctx.inputs.schema?.[0];
  const recorded = schemaRef
    ? parseDatasetSchema(await readInputText(ctx, schemaRef), schemaRef.object)
    : undefined;
  const outputs = new IngestStepOutputs(
    (port, data, options) => ctx.writeOutput(port, data, options),
    ctx.parameters.mode === "training",
  );
  let results: IngestResult[];
  try {
    results = await ingestFiles(ctx, config, recorded, outputs);
    await outputs.end();
  } catch (error) {
    outputs.abort(error);
    throw error;
  }
  await writeDocuments(ctx, results);
  // Too many rejects fails the step only now, after rejected.csv is written.
  for (const result of results)
    assertRejectShare(result, `${ctx.storage.uri}/${ctx.outputPrefix}rejected.csv`);
  const files = results.map((r) => fileSummary(r.source, r));
  const unseen = results.flatMap((r) => r.unseenCategories);
  return {
    counts: totalsOf(files),
    summary: { files, schemaInferred: !schemaRef },
    warnings: unseenWarnings(unseen, config.ingest.unseen_categories),
  };
}

/** The ingest component spec. */
export const ingestComponent = defineComponent({
  name: "ingest",
  reads: ingestReads,
  description: "validate CSV files against the data contract and convert them to typed Arrow record batches",
  inputs: {
    data: { type: "csv", description: "the CSV file(s) to ingest (.csv or .csv.gz)", many: true },
    config: { type: "yaml", description: "churn.yaml" },
    labelled: {
      type: "csv",
      description:
        "training mode: labelled weekly rows from join-labels (retrain.on_labels), read after data",
      optional: true,
    },
    schema: {
      type: "json",
      description: "the recorded training schema (weekly files are read with it, never re-inferred)",
      optional: true,
    },
  },
  outputs: {
    rows: { type: "arrow", file: "rows.arrow", description: "accepted rows as an Arrow IPC stream" },
    rejected: { type: "csv", file: "rejected.csv", description: "line,column,reason,raw per rejected row" },
    profile: { type: "json", file: "profile.json", description: "counts and per-column statistics" },
    schema: { type: "json", file: "schema.json", description: "the dataset schema in effect" },
  },
  parameters: ingestParameters,
  summary: ingestSummarySchema,
  run,
});
