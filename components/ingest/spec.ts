import { PassThrough } from "node:stream";
import { z } from "zod";
import { readConfigInput, readInputText } from "../common/component/inputs.js";
import {
  type ComponentContext,
  type ConfigSection,
  defineComponent,
  type ObjectRef,
} from "../common/component/spec.js";
import { REJECTED_HEADER } from "../common/csv/rejected.js";
import { ArrowStreamWriter } from "../common/schema/arrow.js";
import { IdHashSet } from "../common/schema/idset.js";
import { parseDatasetSchema } from "../common/schema/parse.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { drained } from "../common/storage/streams.js";
import { assertRejectShare, type IngestResult, ingest } from "./ingest.js";
import { type IngestSummary, ingestSummarySchema } from "./summary.js";
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

/** Summary of one ingested file (what output.json and the CLI show). */
/** One file of the ingest summary. */
type IngestFileSummary = IngestSummary["files"][number];

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

async function run(ctx: ComponentContext<IngestParameters, (typeof ingestReads)[number]>) {
  const { parameters } = ctx;
  const config = await readConfigInput(ctx);
  const schemaRef = ctx.inputs.schema?.[0];
  let recorded: DatasetSchema | undefined = schemaRef
    ? parseDatasetSchema(await readInputText(ctx, schemaRef), schemaRef.object)
    : undefined;

  // rejected.csv streams out as rows are rejected; the Arrow stream as batches complete.
  const rejected = new PassThrough();
  const rejectedDone = ctx.writeOutput("rejected", rejected, { contentType: "text/csv" });
  rejectedDone.catch(() => {});
  rejected.on("error", () => {});
  rejected.write(REJECTED_HEADER);
  let writer: ArrowStreamWriter | null = null;
  let rowsDone: Promise<ObjectRef> | null = null;
  const ids = new IdHashSet(1 << 16);
  const files: IngestFileSummary[] = [];
  let last: IngestResult | null = null;
  const results: IngestResult[] = [];

  try {
    // Labelled weekly rows (join-labels) come after input/, so the schema is the history's.
    for (const ref of [...ctx.inputs.data!, ...(ctx.inputs.labelled ?? [])]) {
      ctx.logger.info("ingest: reading", { object: ref.object });
      const result = await ingest(
        ctx.openInput(ref),
        {
          source: ref.object,
          config,
          mode: parameters.mode,
          schema: recorded,
          sampleRows: parameters.sample_rows,
          batchRows: parameters.batch_rows,
          ids,
        },
        {
          schema(schema) {
            if (writer) return;
            writer = new ArrowStreamWriter(schema, parameters.mode === "training");
            rowsDone = ctx.writeOutput("rows", writer.readable, {
              contentType: "application/vnd.apache.arrow.stream",
            });
            rowsDone.catch(() => {});
          },
          async batch(batch) {
            await writer!.write(batch);
          },
          async rejected(text) {
            // rejected.csv has one header for all files.
            const body = text.startsWith(REJECTED_HEADER) ? text.slice(REJECTED_HEADER.length) : text;
            // drained() also settles when the write of rejected.csv failed (no "drain" ever comes then).
            if (!rejected.write(body)) await drained(rejected);
          },
        },
      );
      // Later files are read with the first file's schema, so every batch has the same columns.
      recorded ??= result.schema;
      last = result;
      results.push(result);
      files.push({
        object: ref.object,
        rowsIn: result.rowsIn,
        accepted: result.accepted,
        rejected: result.rejected,
        reasons: result.reasons,
        firstRejects: result.firstRejects.slice(0, 5),
        format: result.format,
        ignoredColumns: result.ignoredColumns,
      });
      ctx.logger.info("ingest: read", {
        object: ref.object,
        rows: result.rowsIn,
        accepted: result.accepted,
        rejected: result.rejected,
      });
    }
    rejected.end();
    (writer as ArrowStreamWriter | null)?.end();
    await rejectedDone;
    if (rowsDone) await rowsDone;
  } catch (error) {
    rejected.destroy(error as Error);
    (writer as ArrowStreamWriter | null)?.destroy(error as Error);
    throw error;
  }
  const final = last!;
  await ctx.writeOutput("schema", `${JSON.stringify(final.schema, null, 2)}\n`, {
    contentType: "application/json",
  });
  const unseen = results.flatMap((r) => r.unseenCategories);
  const profile = {
    ...(results.length === 1
      ? final.profile
      : { ...final.profile, files: results.map((r) => ({ object: r.source, rows: r.profile.rows })) }),
    ...(parameters.mode === "scoring" ? { unseenCategories: unseen } : {}),
  };
  await ctx.writeOutput("profile", `${JSON.stringify(profile, null, 2)}\n`, {
    contentType: "application/json",
  });
  // Too many rejects fails the step only now, after rejected.csv is written.
  for (const result of results)
    assertRejectShare(result, `${ctx.storage.uri}/${ctx.outputPrefix}rejected.csv`);
  const totals = files.reduce(
    (t, f) => ({
      rowsIn: t.rowsIn + f.rowsIn,
      accepted: t.accepted + f.accepted,
      rejected: t.rejected + f.rejected,
    }),
    { rowsIn: 0, accepted: 0, rejected: 0 },
  );
  return {
    counts: totals,
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
