import { z } from "zod";
import { bundleVersion } from "../common/bundle/bundle.js";
import { readBundleInput, readConfigInput } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { holdoutSplit, readLabelledRows, selectRows } from "../common/data/rows.js";
import {
  comparisonBasisSchema,
  type DecisionDocument,
  gateActionSchema,
} from "../common/documents/decision.js";
import type { RowBatch } from "../common/schema/types.js";
import { loadPredictor, type Predictor } from "../models/predictor.js";
import { type ChampionVerdict, judgeChampion } from "./champion.js";
import { decideGate, type GateModel } from "./gate.js";
import {
  type EvaluationReport,
  evaluatePredictions,
  globalImportance,
  type ImportanceRow,
} from "./report.js";
import { readStoredEvaluation, scoringBasisSchema, scoringEvaluation } from "./scoring.js";
import { suspiciousAucWarning } from "./warnings.js";

/**
 * The evaluate component: scores the candidate on the held-out rows of the
 * history (rows no training step learnt from), judges the champion when there
 * is one never on rows it trained on (champion.ts: fresh held-out rows, or
 * its recipe refitted on the candidate's folds), writes the full metrics
 * report, and decides the gate. It
 * also writes the evaluation of the model that will score the week
 * (scoring-report.json: the candidate's when it is promoted, else the
 * champion's stored one), which the report and drift describe.
 */
export const evaluateParameters = z.strictObject({
  importance_rows: z.int().min(1).default(2000).describe("held-out rows explained for the churn drivers"),
});
export type EvaluateParameters = z.output<typeof evaluateParameters>;

/** Calibrated probabilities of every row of a batch. */
export function predictBatch(predictor: Predictor, batch: RowBatch): Float64Array {
  return predictor.probabilities(predictor.encodeBatch(batch), batch.numRows);
}

/** Mean contributions per source column over the first `limit` rows (churn drivers). */
export function churnDrivers(predictor: Predictor, batch: RowBatch, limit: number): ImportanceRow[] {
  const n = Math.min(limit, batch.numRows);
  const x = predictor.encodeBatch(batch);
  const k = predictor.sources.length;
  const all = new Float64Array(n * k);
  for (let i = 0; i < n; i++) all.set(predictor.explainRow(x, i * predictor.numFeatures).bySource, i * k);
  return globalImportance(predictor.sources, all);
}

/** The churn.yaml sections evaluate reads: its cache key hashes only these (a change elsewhere reuses it). */
const evaluateReads = ["gate", "train", "generate_id"] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<EvaluateParameters, (typeof evaluateReads)[number]>) {
  const config = await readConfigInput(ctx);
  const candidateBundle = await readBundleInput(ctx, ctx.inputs.candidate![0]!);
  const candidate = loadPredictor(candidateBundle);
  const { batch } = await readLabelledRows(ctx);
  const split = holdoutSplit(batch.label!, config.train.seed);
  const holdout = selectRows(batch, split.valid);
  const y = holdout.label!;
  const p = predictBatch(candidate, holdout);
  const report: EvaluationReport = evaluatePredictions(y, p, { threshold: candidate.thresholds.high });
  const drivers = churnDrivers(candidate, holdout, ctx.parameters.importance_rows);

  let champion: GateModel | null = null;
  let championVersion: string | null = null;
  let championRecorded: number | null = null;
  let championRefit = false;
  let verdict: ChampionVerdict | null = null;
  const championRef = ctx.inputs.champion?.[0];
  if (championRef) {
    const championBundle = await readBundleInput(ctx, championRef);
    championVersion = bundleVersion(championBundle);
    championRecorded = championBundle.metrics.roc_auc;
    championRefit = championBundle.training.refit_on_all_rows === true;
    // Never on rows it trained on: fresh held-out rows, or its recipe refitted on the candidate's folds.
    verdict = await judgeChampion({
      storage: ctx.storage,
      generateId: config.generate_id,
      minCompareRows: config.gate.min_compare_rows,
      batch,
      split,
      candidateBundle,
      candidate,
      championBundle,
      championVersion,
      log: (message) => ctx.logger.info(message),
    });
    champion = verdict.champion;
  }
  const cv = (candidateBundle.training.candidates ?? []) as Array<{ family: string; cv_roc_auc: number }>;
  const family = candidateBundle.model.family;
  const decision = decideGate({
    candidate: { name: `${family} (held-out)`, rocAuc: report.rocAuc ?? Number.NaN },
    others: cv.map((c) => ({ name: `${c.family} (cross-validated)`, rocAuc: c.cv_roc_auc })),
    champion,
    ...(verdict ? { versus: verdict.versus } : {}),
    minRocAuc: config.gate.min_roc_auc,
  });
  const document: DecisionDocument = {
    ...decision,
    candidate_version: bundleVersion(candidateBundle),
    champion_version: championVersion,
    holdout_rows: holdout.numRows,
    ...(verdict ? { comparison: verdict.comparison } : {}),
  };
  ctx.logger.info(`evaluate: ${decision.reason}`);
  await ctx.writeOutput("decision", `${JSON.stringify(document, null, 2)}\n`, {
    contentType: "application/json",
  });
  // The customers the champion was compared on (none for a cross-validated comparison), for audit.
  await ctx.writeOutput(
    "comparison_rows",
    `${JSON.stringify({ basis: verdict?.comparison.basis ?? null, ids: verdict?.ids ?? [] })}\n`,
    { contentType: "application/json" },
  );
  const candidateReport = { ...report, drivers };
  await ctx.writeOutput("report", `${JSON.stringify(candidateReport, null, 2)}\n`, {
    contentType: "application/json",
  });
  // The report describes the model that scores the week: the champion when the candidate lost.
  // With a refit, the promoted (and scoring) model is the refit; its figures are the judged model's.
  const refitRef = ctx.inputs.refit?.[0];
  const refitVersion = refitRef ? bundleVersion(await readBundleInput(ctx, refitRef)) : null;
  const scoring = scoringEvaluation({
    action: decision.action,
    candidateVersion: refitVersion ?? bundleVersion(candidateBundle),
    candidateReport,
    championVersion,
    championStored:
      championVersion && decision.action !== "promote"
        ? await readStoredEvaluation(ctx.storage, championVersion)
        : null,
    championRecordedRocAuc: championRecorded,
    refitOnAllRows: decision.action === "promote" ? refitVersion !== null : championRefit,
  });
  await ctx.writeOutput("scoring_report", `${JSON.stringify(scoring, null, 2)}\n`, {
    contentType: "application/json",
  });
  const suspicious = suspiciousAucWarning(report.rocAuc, `${family} ${bundleVersion(candidateBundle)}`);
  if (suspicious) ctx.logger.warn(suspicious.message, { code: suspicious.code });
  return {
    warnings: suspicious ? [suspicious] : [],
    counts: { holdoutRows: holdout.numRows },
    summary: {
      action: decision.action,
      reason: decision.reason,
      roc_auc: report.rocAuc,
      pr_auc: report.prAuc,
      champion_roc_auc: champion?.rocAuc ?? null,
      comparison: verdict?.comparison.basis ?? null,
      scoring_model: scoring.model_version,
      scoring_basis: scoring.basis,
      drivers: drivers.slice(0, 5).map((d) => d.column),
    },
  };
}

/** The evaluate component spec. */
export const evaluateComponent = defineComponent({
  name: "evaluate",
  reads: evaluateReads,
  description: "metrics on the held-out rows and the promotion gate against the champion",
  inputs: {
    candidate: { type: "model", description: "the train step's candidate bundle" },
    refit: {
      type: "model",
      description: "the train step's refit on all rows (what scores when the candidate is promoted)",
      optional: true,
    },
    rows: { type: "arrow", description: "ingest-history's typed labelled rows (the held-out share is used)" },
    config: { type: "yaml", description: "churn.yaml (gate, train.seed)" },
    champion: { type: "model", description: "the current champion bundle", optional: true },
  },
  outputs: {
    decision: { type: "json", file: "decision.json", description: "the gate decision and its reason" },
    comparison_rows: {
      type: "json",
      file: "comparison-rows.json",
      description:
        "ids of the held-out rows champion and candidate were both scored on (fresh-rows comparison)",
    },
    report: { type: "json", file: "report.json", description: "the candidate's full evaluation report" },
    scoring_report: {
      type: "json",
      file: "scoring-report.json",
      description:
        "the evaluation of the model that scores the week (the champion's stored one when the candidate lost), with model_version and basis",
    },
  },
  parameters: evaluateParameters,
  summary: z.strictObject({
    action: gateActionSchema,
    reason: z.string(),
    roc_auc: z.number().nullable(),
    pr_auc: z.number().nullable(),
    champion_roc_auc: z.number().nullable(),
    comparison: comparisonBasisSchema.nullable(),
    scoring_model: z.string(),
    scoring_basis: scoringBasisSchema,
    drivers: z.array(z.string()),
  }),
  run,
});
