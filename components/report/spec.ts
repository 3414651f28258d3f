import { z } from "zod";
import { readChampion } from "../common/bundle/champion.js";
import { readInputJson, readInputText } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { parseConfigText } from "../common/config/index.js";
import { campaignDocumentSchema } from "../common/documents/campaign.js";
import { campaignEffectSchema } from "../common/documents/campaign-effect.js";
import { decisionDocumentSchema, decisionLineSchema } from "../common/documents/decision.js";
import { parseDocument } from "../common/documents/parse.js";
import { InputError } from "../common/errors.js";
import { baseStem } from "../common/layout/index.js";
import { computeDrift, type DriftReport, ScoreBinner } from "../common/monitoring/drift.js";
import { type RealisedHistory, type RealisedWeek, updateRealised } from "../common/monitoring/realised.js";
import { evaluateTriggers, type TriggerState, withHistoryChanged } from "../common/monitoring/triggers.js";
import { type Profile, unseenCategorySchema } from "../common/profile/profile.js";
import { type Warning, warningSchema, warningsOf } from "../common/warnings.js";
import { readContactPreview } from "./contact-preview.js";
import { type MissingCount, renderReport } from "./html.js";
import { countCsvRecords, type IngestCounts, summariseScores } from "./summary.js";
import { scoreDriftWarning } from "./warnings.js";

/**
 * The report component: aggregates the week's scores once into summary.json
 * (counts per tier, expected churners, distribution, common reasons) and a
 * self-contained report.html for marketing.
 */
export const reportParameters = z.strictObject({
  /** The weekly object, for the report's title. */
  trigger: z.string().nullable().default(null),
  /** Steps whose cached result the runner bypassed because a retraining trigger fired (run-time). */
  cache_bypassed: z.array(z.string()).default([]),
  /** The warnings of the run's steps so far (run-time): first in report.html and in summary.json. */
  warnings: z.array(warningSchema).default([]),
});
type ReportParameters = z.output<typeof reportParameters>;

/** The part of promote's promotion.json the report reads (older runs' have no decision line). */
const promotionLineSchema = z.looseObject({ decision: decisionLineSchema.optional() });

/** An optional port's object as text, or null when the port is empty. */
async function readText(ctx: ComponentContext<ReportParameters>, port: string): Promise<string | null> {
  const ref = ctx.inputs[port]?.[0];
  return ref ? readInputText(ctx, ref) : null;
}

/** An optional port's object as JSON, or null when the port is empty. */
async function readJson(
  ctx: ComponentContext<ReportParameters>,
  port: string,
): Promise<Record<string, unknown> | null> {
  const ref = ctx.inputs[port]?.[0];
  return ref ? ((await readInputJson(ctx, ref)) as Record<string, unknown>) : null;
}

/** The parts of the evaluate step's report.json the report uses. */
export interface EvaluationSection {
  rocAuc?: number | null;
  prAuc?: number | null;
  calibration?: Array<{
    bin: number;
    count: number;
    meanPredicted: number;
    observedRate: number;
    maxPredicted: number;
  }>;
  lift?: Array<{
    decile: number;
    count: number;
    positives?: number;
    rate: number;
    lift: number;
    cumulativeGain: number;
  }>;
  /** Global importance on the held-out rows (churn drivers), largest first. */
  drivers?: Array<{ column: string; meanAbs: number; mean: number }>;
  /** The model these figures describe (the one that scored the week; evaluate's scoring-report.json). */
  model_version?: string;
  role?: "candidate" | "champion";
  basis?: string;
  /** The scoring model was refitted on all rows after the gate (the figures are from before the refit). */
  refit_on_all_rows?: boolean;
}

/** Which model the evaluation describes, for drift.json (null when evaluate did not say). */
function scoringModelOf(evaluation: EvaluationSection | null) {
  if (!evaluation?.model_version) return null;
  return {
    version: evaluation.model_version,
    role: evaluation.role ?? null,
    basis: evaluation.basis ?? null,
  };
}

/** Missing values per column of the weekly profile (pii columns are not profiled, so never shown). */
function missingCounts(profile: Profile): MissingCount[] {
  if (!Array.isArray(profile.columns)) return [];
  return profile.columns
    .filter((c) => c.role === "feature" && c.missing > 0)
    .map((c) => ({ column: c.name, missing: c.missing, rate: c.missingRate }));
}

/** The churn.yaml sections report reads: its cache key hashes only these (a change elsewhere reuses it). */
const reportReads = ["retrain"] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<ReportParameters, (typeof reportReads)[number]>) {
  const profile = await readJson(ctx, "ingest");
  const rows = (profile?.rows ?? null) as IngestCounts | null;
  if (!rows || typeof rows.accepted !== "number")
    throw new InputError("the weekly ingest profile has no row counts");
  const decision = await readJson(ctx, "evaluation");
  // The decision as this run says it (promote's decisionLine: never a cached run's stale sentence).
  const promotionRef = ctx.inputs.promotion?.[0];
  const line = promotionRef
    ? (parseDocument(promotionLineSchema, await readInputText(ctx, promotionRef), promotionRef.object)
        .decision ?? null)
    : null;
  const reason = line?.text ?? (typeof decision?.reason === "string" ? decision.reason : null);
  const evaluation = (await readJson(ctx, "evaluation_report")) as EvaluationSection | null;
  const calibration = Array.isArray(evaluation?.calibration) ? evaluation.calibration : [];
  const binner = calibration.length > 1 ? new ScoreBinner(calibration) : null;
  let refused = 0;
  for (const ref of ctx.inputs.refused ?? [])
    refused += countCsvRecords(await readInputText(ctx, ref), ref.object);
  const summary = await summariseScores(
    ctx.openInput(ctx.inputs.scores![0]!),
    { ...rows, refused },
    reason,
    ctx.inputs.scores![0]!.object,
    binner ? (p) => binner.add(p) : undefined,
  );
  const training = (await readJson(ctx, "training")) as Profile | null;
  let drift: DriftReport | null = null;
  if (training && Array.isArray(training.columns) && profile && Array.isArray(profile.columns)) {
    drift = computeDrift(training, profile as unknown as Profile, binner);
  }
  // Always written: a missing output would fail every consumer of the port.
  const driftDoc = {
    ...(drift ?? { available: false, reason: "the training profile was not an input of this step" }),
    // The model whose held-out scores are the score-drift reference: the one that scored the week.
    scoring_model: scoringModelOf(evaluation),
  };
  await ctx.writeOutput("drift", `${JSON.stringify(driftDoc, null, 2)}\n`, {
    contentType: "application/json",
  });
  // Realised performance of past weeks whose labels arrived, and the retraining triggers.
  const configText = await readText(ctx, "config");
  const config = configText === null ? null : parseConfigText(configText, ctx.inputs.config![0]!.object);
  const positive = typeof training?.label?.positive === "string" ? training.label.positive : null;
  const candidate = typeof decision?.candidate_version === "string" ? decision.candidate_version : null;
  const compared = typeof decision?.champion_version === "string" ? decision.champion_version : null;
  // The champion is left out of evaluate when it equals the candidate, so only a differing one proves new training.
  const trainedThisRun = candidate && compared ? candidate !== compared : null;
  // The weekly pipeline decides the triggers before training (retrain-triggers step); without that
  // step's outputs (a bare report run) they are evaluated here, after the fact.
  const pre = (await readJson(ctx, "retrain")) as { checks?: TriggerState[] } | null;
  const preRealised = (await readJson(ctx, "realised")) as
    | (RealisedHistory & { arrived?: RealisedWeek[] })
    | null;
  const realised =
    preRealised && Array.isArray(preRealised.weeks)
      ? { history: { weeks: preRealised.weeks }, arrived: preRealised.arrived ?? [] }
      : await updateRealised(ctx.storage, positive);
  let triggers: { fired: string[]; states: TriggerState[] } | null = null;
  if (config && pre && Array.isArray(pre.checks)) {
    triggers = withHistoryChanged(pre.checks, config.retrain, trainedThisRun);
  } else if (config) {
    const champion = await readChampion(ctx.storage);
    triggers = evaluateTriggers({
      settings: config.retrain,
      trainedThisRun,
      maxFeaturePsi: drift ? drift.max_feature_psi : null,
      drifted: drift?.significant ?? [],
      arrived: realised.arrived,
      championSince: champion ? new Date(champion.pointer.changed_at) : null,
      now: new Date(),
    });
  }
  const bypassed = ctx.parameters.cache_bypassed;
  const own = [scoreDriftWarning(drift?.score?.psi ?? null, config?.retrain.max_psi ?? null)].filter(
    (w) => w !== null,
  );
  // The run's warnings so far, then the report's own: what people see first.
  const warnings: Warning[] = [...ctx.parameters.warnings, ...warningsOf("report", own)];
  const campaignRef = ctx.inputs.campaign?.[0];
  const campaign = campaignRef
    ? parseDocument(campaignDocumentSchema, await readInputText(ctx, campaignRef), campaignRef.object)
    : null;
  // The first customers to call, for the report's first section (only the top of the list is read).
  const listRef = ctx.inputs.contact_list?.[0];
  const preview = listRef ? await readContactPreview(ctx.openInput(listRef), listRef.object) : null;
  // Churn among contacted vs control customers of past weeks whose outcomes arrived (retrain-triggers).
  const effectRef = ctx.inputs.campaign_effect?.[0];
  const campaignEffect = effectRef
    ? parseDocument(campaignEffectSchema, await readInputText(ctx, effectRef), effectRef.object)
    : null;
  // Category values the weekly ingest found that training never saw (ingest.unseen_categories).
  const unseen = z
    .array(unseenCategorySchema)
    .catch([])
    .parse((profile as { unseenCategories?: unknown }).unseenCategories ?? []);
  const published = {
    ...summary,
    campaign,
    campaign_effect: campaignEffect,
    unseen_categories: unseen,
    warnings,
    realised: realised.history.weeks,
    retrain_triggers: triggers
      ? {
          fired: triggers.fired,
          // Steps (train, evaluate) re-run although their cache held a result, because a trigger fired.
          cache_bypassed: bypassed,
          forced_retrain: bypassed.includes("train"),
          checks: triggers.states,
        }
      : null,
    drift: drift
      ? {
          max_feature_psi: drift.max_feature_psi,
          significant: drift.significant,
          score_psi: drift.score?.psi ?? null,
        }
      : null,
  };
  await ctx.writeOutput("summary", `${JSON.stringify(published, null, 2)}\n`, {
    contentType: "application/json",
  });
  const stem = baseStem(ctx.parameters.trigger ?? "this week");
  await ctx.writeOutput(
    "report",
    renderReport(summary, stem, {
      drift,
      evaluation,
      realised: realised.history as RealisedHistory,
      triggers: triggers?.fired ?? null,
      missing: missingCounts(profile as unknown as Profile),
      unseen,
      warnings,
      campaign,
      preview,
      campaignEffect,
      decision: decisionDocumentSchema.safeParse(decision).data ?? null,
      decisionLine: line,
      generatedAt: new Date(),
    }),
    {
      contentType: "text/html",
    },
  );
  return {
    warnings: own,
    counts: summary.counts,
    summary: {
      max_feature_psi: drift?.max_feature_psi ?? null,
      drifted: drift?.significant ?? [],
      realised_weeks: realised.arrived.map((w) => ({ week: w.week, roc_auc: w.roc_auc })),
      retrain_triggers: triggers?.fired ?? null,
      cache_bypassed: bypassed,
    },
  };
}

export const reportComponent = defineComponent({
  name: "report",
  reads: reportReads,
  description: "summarise the week's scores into summary.json and a readable report.html",
  inputs: {
    scores: { type: "csv", description: "the merged scores.csv" },
    ingest: { type: "json", description: "profile.json of the weekly ingest (row counts)" },
    campaign: {
      type: "json",
      description: "campaign.json of the contact-list step (the campaign's totals)",
      optional: true,
    },
    contact_list: {
      type: "csv",
      description: "contact-list.csv of the contact-list step (the report shows its top 20)",
      optional: true,
    },
    campaign_effect: {
      type: "json",
      description:
        "the retrain-triggers step's campaign-effect.json (contacted vs control churn of labelled weeks)",
      optional: true,
    },
    refused: {
      type: "csv",
      description: "rows the model server refused (score.mode server), one part per shard",
      optional: true,
      many: true,
    },
    evaluation: { type: "json", description: "the evaluate step's decision", optional: true },
    promotion: {
      type: "json",
      description: "the promote step's promotion.json (the decision as this run says it)",
      optional: true,
    },
    evaluation_report: {
      type: "json",
      description: "the evaluate step's metrics report (calibration, lift: model metrics and score drift)",
      optional: true,
    },
    config: { type: "yaml", description: "churn.yaml (retrain triggers)", optional: true },
    retrain: {
      type: "json",
      description: "the retrain-triggers step's decision (checks made before training)",
      optional: true,
    },
    realised: {
      type: "json",
      description: "the retrain-triggers step's realised metrics of labelled weeks",
      optional: true,
    },
    training: {
      type: "json",
      description: "profile.json of the training ingest (reference distributions for drift)",
      optional: true,
    },
  },
  outputs: {
    summary: { type: "json", file: "summary.json", description: "counts, tiers, expected churners" },
    report: { type: "html", file: "report.html", description: "self-contained report" },
    drift: {
      type: "json",
      file: "drift.json",
      description:
        "PSI per feature and of the scores against training ({available: false} without a training profile)",
    },
  },
  parameters: reportParameters,
  summary: z.strictObject({
    max_feature_psi: z.number().nullable(),
    drifted: z.array(z.unknown()),
    realised_weeks: z.array(z.strictObject({ week: z.string(), roc_auc: z.number().nullable() })),
    retrain_triggers: z.array(z.string()).nullable(),
    cache_bypassed: z.array(z.string()),
  }),
  runtime: ["trigger", "cache_bypassed", "warnings"],
  writes: [
    {
      object: "monitoring/realised.json",
      description: "realised metrics of labelled weeks, when no retrain-triggers step ran before",
    },
  ],
  run,
});
