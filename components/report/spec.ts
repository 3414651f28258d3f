import { z } from "zod";
import type { ComponentContext, ComponentSpec } from "../common/component/spec.js";
import { InputError } from "../common/errors.js";
import { renderReport } from "./html.js";
import { type IngestCounts, summariseScores } from "./summary.js";

/**
 * The report component: aggregates the week's scores once into summary.json
 * (counts per tier, expected churners, distribution, common reasons) and a
 * self-contained report.html for marketing.
 */
export const reportParameters = z.strictObject({
  /** The weekly object, for the report's title. */
  trigger: z.string().nullable().default(null),
});
type ReportParameters = z.output<typeof reportParameters>;

async function readJson(
  ctx: ComponentContext<ReportParameters>,
  port: string,
): Promise<Record<string, unknown> | null> {
  const ref = ctx.inputs[port]?.[0];
  if (!ref) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.openInput(ref)) chunks.push(Buffer.from(chunk));
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new InputError(`${ref.object} is not valid JSON`);
  }
}

async function run(ctx: ComponentContext<ReportParameters>) {
  const profile = await readJson(ctx, "ingest");
  const rows = (profile?.rows ?? null) as IngestCounts | null;
  if (!rows || typeof rows.accepted !== "number")
    throw new InputError("the weekly ingest profile has no row counts");
  const decision = await readJson(ctx, "evaluation");
  const reason = typeof decision?.reason === "string" ? decision.reason : null;
  const summary = await summariseScores(
    ctx.openInput(ctx.inputs.scores![0]!),
    rows,
    reason,
    ctx.inputs.scores![0]!.object,
  );
  await ctx.writeOutput("summary", `${JSON.stringify(summary, null, 2)}\n`, {
    contentType: "application/json",
  });
  const stem = (ctx.parameters.trigger ?? "this week").replace(/^.*\//, "").replace(/\.csv(\.gz)?$/i, "");
  await ctx.writeOutput("report", renderReport(summary, stem), { contentType: "text/html" });
  return { counts: summary.counts };
}

export const reportComponent: ComponentSpec<typeof reportParameters> = {
  name: "report",
  description: "summarise the week's scores into summary.json and a readable report.html",
  inputs: {
    scores: { type: "csv", description: "the merged scores.csv" },
    ingest: { type: "json", description: "profile.json of the weekly ingest (row counts)" },
    evaluation: { type: "json", description: "the evaluate step's decision", optional: true },
  },
  outputs: {
    summary: { type: "json", file: "summary.json", description: "counts, tiers, expected churners" },
    report: { type: "html", file: "report.html", description: "self-contained report" },
  },
  parameters: reportParameters,
  run,
};
