import { z } from "zod";
import { readInputText } from "../common/component/inputs.js";
import { type ComponentContext, defineComponent } from "../common/component/spec.js";
import { buildManifest, manifestText, type PublishedFile } from "../common/documents/manifest.js";
import { parseDocument } from "../common/documents/parse.js";
import { sha256Hex } from "../common/hash.js";
import { OUTPUT_FILES, weekFileOf, writtenBy } from "../common/layout/index.js";
import { movePointer, publishIndex } from "./lookup.js";

/**
 * The publish component: copies the week's results from the run's step
 * folders to `output/<stem>/` and writes `_SUCCESS`, the manifest of the set
 * (components/common/documents/manifest.ts), last. The published names stay
 * `output/<stem>/<file>` (readers and scripts rely on them), and each file is
 * replaced atomically by the store (file://: staged and renamed into place;
 * gs://: an object appears only whole). The previous manifest stays until the
 * new one replaces it: a reader that follows it meanwhile reads the listed
 * generations (gs:// with versioning: the previous set, whole) or finds a
 * file that no longer matches it (elsewhere: "a publish is in progress"),
 * never a mix. `_FAILED` of an earlier attempt is removed just before the
 * manifest appears.
 */
export const publishParameters = z.strictObject({
  output_prefix: z
    .string()
    .regex(/^output\/(lifetime\/)?[^/]+\/$/, "must look like output/<stem>/ or output/lifetime/<stem>/"),
  run_id: z.string().min(1),
  trigger: z.string().nullable(),
  /** Seconds per finished step and the steps served from cache, as the runner recorded them. */
  timings: z.record(z.string(), z.number().nullable()).default({}),
  cache_hits: z.array(z.string()).default([]),
});
type PublishParameters = z.output<typeof publishParameters>;

/** Which input lands under which public name. */
const PUBLIC_NAMES: Record<string, string> = {
  scores: OUTPUT_FILES.scores,
  contact_list: OUTPUT_FILES.contactList,
  rejected: OUTPUT_FILES.rejected,
  report: OUTPUT_FILES.report,
  drift: OUTPUT_FILES.drift,
  customers: OUTPUT_FILES.customers,
  alerts: OUTPUT_FILES.alerts,
};

/** Write a text file of the set; its sha256 is that of the bytes written (no re-read). */
async function writeText(
  ctx: ComponentContext<PublishParameters>,
  name: string,
  text: string,
  contentType: string,
): Promise<PublishedFile> {
  const bytes = Buffer.from(text, "utf8");
  const info = await ctx.storage.write(`${ctx.parameters.output_prefix}${name}`, bytes, {
    metadata: writtenBy("publish"),
    contentType,
  });
  return { name, info, sha256: sha256Hex(bytes) };
}

async function run(ctx: ComponentContext<PublishParameters>) {
  const { storage, parameters } = ctx;
  const prefix = parameters.output_prefix;
  const metadata = writtenBy("publish");
  const published: PublishedFile[] = [];
  // Rows a model server refused join the ingest step's rejected rows (score.mode server).
  const refused: string[] = [];
  for (const ref of ctx.inputs.refused ?? []) refused.push(await readInputText(ctx, ref));
  for (const [port, name] of Object.entries(PUBLIC_NAMES)) {
    const ref = ctx.inputs[port]?.[0];
    if (!ref) continue;
    if (port === "rejected" && refused.some((text) => text !== ""))
      published.push(
        await writeText(ctx, name, (await readInputText(ctx, ref)) + refused.join(""), "text/csv"),
      );
    else {
      // A copy keeps the stored bytes, so their sha256 is the one the upstream step
      // recorded while writing them (step outputs are written once, never changed).
      const info = await storage.copy(ref.object, `${prefix}${name}`, { metadata });
      published.push({ name, info, sha256: ref.sha256 });
    }
  }

  // A week's folder (not a lifetime one) gets the customer index, listed in the manifest like the rest.
  const stem = weekFileOf(`${prefix}${OUTPUT_FILES.summary}`)?.stem ?? null;
  const scoresRef = ctx.inputs.scores?.[0];
  let indexed: number | null = null;
  if (stem !== null && scoresRef) {
    const listRef = ctx.inputs.contact_list?.[0];
    const index = await publishIndex({
      storage,
      prefix,
      stem,
      scores: ctx.openInput(scoresRef),
      scoresSha256: scoresRef.sha256,
      scoresSource: scoresRef.object,
      contactList: listRef ? ctx.openInput(listRef) : null,
      contactListSource: listRef?.object ?? "",
    });
    published.push(index.file);
    indexed = index.count;
  }

  // summary.json = the report's summary plus the run's timings and cache hits.
  const summaryRef = ctx.inputs.summary![0]!;
  const summary = parseDocument(
    z.record(z.string(), z.unknown()),
    await storage.readText(summaryRef.object),
    summaryRef.object,
  );
  const modelVersion = typeof summary.model_version === "string" ? summary.model_version : null;
  const document = {
    ...summary,
    run_id: parameters.run_id,
    trigger: parameters.trigger,
    published_at: new Date().toISOString(),
    timings: parameters.timings,
    cache_hits: parameters.cache_hits,
  };
  published.push(
    await writeText(ctx, OUTPUT_FILES.summary, `${JSON.stringify(document, null, 2)}\n`, "application/json"),
  );
  await storage.delete(`${prefix}${OUTPUT_FILES.failed}`);
  const manifest = buildManifest(parameters.run_id, modelVersion, published);
  await storage.write(`${prefix}${OUTPUT_FILES.success}`, manifestText(manifest), {
    metadata,
    contentType: "application/json",
  });
  const files = [...published.map((f) => `${prefix}${f.name}`), `${prefix}${OUTPUT_FILES.success}`];
  const counts = (summary.counts ?? {}) as Record<string, number>;
  ctx.logger.info("published", { prefix, files: files.length });
  // Only a complete week may become the lookup's newest: the pointer moves after _SUCCESS.
  let latest: boolean | null = null;
  if (stem !== null && indexed !== null && parameters.trigger !== null) {
    const pointer = await movePointer(storage, stem, parameters.trigger, parameters.run_id);
    latest = pointer.moved;
    ctx.logger.info(pointer.moved ? "customer lookup points at this week" : "customer lookup pointer left", {
      customers: indexed,
      reason: pointer.reason,
    });
  }
  return { counts, summary: { files, model_version: modelVersion, latest } };
}

export const publishComponent = defineComponent({
  name: "publish",
  description:
    "copy the run's results (scores and the contact list, or customers and alerts), rejected rows, summary and report to the output folder, then _SUCCESS (the manifest of the set)",
  inputs: {
    scores: { type: "csv", description: "scores.csv of the week", optional: true },
    contact_list: {
      type: "csv",
      description: "contact-list.csv of the week (the contact-list step)",
      optional: true,
    },
    rejected: { type: "csv", description: "rejected.csv of the weekly ingest" },
    refused: {
      type: "csv",
      description:
        "rows the model server refused (score.mode server), one part per shard: appended to rejected.csv",
      optional: true,
      many: true,
    },
    summary: { type: "json", description: "the week's summary from the report step" },
    report: { type: "html", description: "report.html", optional: true },
    drift: { type: "json", description: "drift.json of the report step", optional: true },
    customers: { type: "csv", description: "customers.csv of the lifetime pipeline", optional: true },
    alerts: { type: "csv", description: "alerts.csv of the lifetime pipeline", optional: true },
  },
  outputs: {},
  parameters: publishParameters,
  summary: z.strictObject({
    files: z.array(z.string()),
    model_version: z.string().nullable(),
    /** Whether output/_latest.json now points at this week (null: no customer index, e.g. lifetime). */
    latest: z.boolean().nullable(),
  }),
  runtime: ["output_prefix", "run_id", "trigger", "timings", "cache_hits"],
  writes: [
    {
      object: "output/<stem>/",
      description:
        "the week's public files and its customer index (lookup.index), then _SUCCESS, their manifest (lifetime: output/lifetime/<stem>/)",
    },
    {
      object: "output/_latest.json",
      description:
        "after _SUCCESS: the pointer to the newest complete week (latest weekly upload) for the customer lookup",
    },
  ],
  run,
});
