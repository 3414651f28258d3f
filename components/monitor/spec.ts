import { z } from "zod";
import { readChampion } from "../common/bundle/champion.js";
import { readConfigInput, readInputJson } from "../common/component/inputs.js";
import {
  type ComponentContext,
  type ComponentResult,
  type ConfigSection,
  defineComponent,
  type ObjectRef,
} from "../common/component/spec.js";
import { openText } from "../common/csv/decode.js";
import { baseStem } from "../common/layout/index.js";
import { computeDrift } from "../common/monitoring/drift.js";
import { updateRealised } from "../common/monitoring/realised.js";
import { cacheBypassReasons, evaluateTriggers } from "../common/monitoring/triggers.js";
import type { Profile } from "../common/profile/profile.js";
import { updateCampaignEffect } from "./campaign-outcomes.js";
import { type HistoryIds, joinLabelledWeeks, type LabelledWeek, readHistoryIds } from "./join-labels.js";

/**
 * The monitoring components that run before training in the weekly pipeline:
 * `join-labels` (the feedback loop: labelled weekly rows join the training
 * history) and `retrain-triggers` (decides whether a retrain must be forced).
 */

/** A whole input object as text, gunzipped and decoded like any CSV input. */
async function decodedText<P>(ctx: ComponentContext<P>, ref: ObjectRef): Promise<string> {
  let text = "";
  for await (const chunk of openText(ctx.openInput(ref), { source: ref.object })) text += chunk;
  return text;
}

const noParameters = z.strictObject({});

/** join-labels: whether rows joined, and which weeks. */
const joinLabelsSummary = z.strictObject({
  joined: z.boolean(),
  reason: z.string().optional(),
  weeks: z.array(z.unknown()).optional(),
  withoutWeekly: z.array(z.string()).optional(),
});

/** retrain-triggers: what fired, and the reasons to bypass the cache (read by the runner). */
const retrainTriggersSummary = z.strictObject({
  fired: z.array(z.string()),
  bypass_cache: z.array(z.string()),
});

/** The churn.yaml sections join-labels reads: its cache key hashes only these (a change elsewhere reuses it). */
const joinLabelsReads = [
  "retrain",
  "id_column",
  "generate_id",
  "label",
  "pii",
  "ingest",
] as const satisfies readonly ConfigSection[];

async function joinLabels(
  ctx: ComponentContext<z.output<typeof noParameters>, (typeof joinLabelsReads)[number]>,
): Promise<ComponentResult<z.input<typeof joinLabelsSummary>>> {
  const config = await readConfigInput(ctx);
  const skip = (reason: string) => ({ counts: { rows_joined: 0 }, summary: { joined: false, reason } });
  if (!config.retrain.on_labels) return skip("retrain.on_labels is false");
  if (!config.label) return skip("churn.yaml has no label");
  if (config.generate_id || !config.id_column)
    return skip("generate_id: true gives weekly rows no stable id to match labels with");
  const labels = ctx.inputs.labels ?? [];
  const weeklyByStem = new Map((ctx.inputs.weekly ?? []).map((ref) => [baseStem(ref.object), ref]));
  const pairs: Array<{ labels: ObjectRef; weekly: ObjectRef }> = [];
  const withoutWeekly: string[] = [];
  for (const ref of labels) {
    const weekly = weeklyByStem.get(baseStem(ref.object));
    if (weekly) pairs.push({ labels: ref, weekly });
    else withoutWeekly.push(ref.object);
  }
  if (pairs.length === 0)
    return {
      counts: { labels_files: labels.length, rows_joined: 0 },
      summary: { joined: false, reason: "no labels/<stem>.csv with its weekly/<stem>.csv", withoutWeekly },
    };
  const csv = { delimiter: config.ingest.delimiter, encoding: config.ingest.encoding };
  const history: HistoryIds = { ids: new Set(), negative: null };
  for (const ref of ctx.inputs.history ?? [])
    await readHistoryIds(ctx.openInput(ref), ref.object, config.id_column, config.label, history, csv);
  const weeks: LabelledWeek[] = [];
  for (const pair of pairs) {
    weeks.push({
      stem: baseStem(pair.labels.object),
      labelsObject: pair.labels.object,
      labelsText: await decodedText(ctx, pair.labels),
      weeklyObject: pair.weekly.object,
      weekly: ctx.openInput(pair.weekly),
    });
  }
  const joined = await joinLabelledWeeks(weeks, {
    idColumn: config.id_column,
    label: config.label,
    history,
    blank: config.pii,
    csv,
  });
  if (joined.csv !== null) await ctx.writeOutput("labelled", joined.csv, { contentType: "text/csv" });
  const sum = (key: "unlabelled" | "in_history" | "superseded" | "unreadable") =>
    joined.weeks.reduce((t, w) => t + w[key], 0);
  ctx.logger.info("join-labels: labelled weekly rows for training", {
    weeks: joined.weeks.length,
    rows: joined.rows,
  });
  return {
    counts: {
      labels_files: labels.length,
      weeks_joined: joined.weeks.length,
      rows_joined: joined.rows,
      unlabelled: sum("unlabelled"),
      in_history: sum("in_history"),
      superseded: sum("superseded"),
      unreadable: sum("unreadable"),
    },
    summary: { joined: joined.rows > 0, weeks: joined.weeks, withoutWeekly },
  };
}

/** The join-labels component: labelled weekly rows as extra training rows (retrain.on_labels). */
export const joinLabelsComponent = defineComponent({
  name: "join-labels",
  reads: joinLabelsReads,
  description: "join weekly/<stem> rows with the outcomes in labels/<stem>.csv into extra training rows",
  inputs: {
    labels: { type: "csv", description: "labels/<stem>.csv files (id, label)", optional: true, many: true },
    weekly: {
      type: "csv",
      description: "the weekly files that have labels (joined on the id column)",
      optional: true,
      many: true,
    },
    history: {
      type: "csv",
      description: "input/ files: their ids take precedence over labelled weekly rows",
      optional: true,
      many: true,
    },
    config: { type: "yaml", description: "churn.yaml (id column, label, retrain.on_labels)" },
  },
  outputs: {
    labelled: {
      type: "csv",
      file: "labelled.csv",
      description: "weekly rows with their label column set (absent when no row joined)",
    },
  },
  parameters: noParameters,
  summary: joinLabelsSummary,
  run: joinLabels,
});

/** The churn.yaml sections retrain-triggers reads: its cache key hashes only these (a change elsewhere reuses it). */
const retrainTriggersReads = [
  "retrain",
  "ingest",
  "id_column",
  "generate_id",
  "label",
  "pii",
] as const satisfies readonly ConfigSection[];

async function retrainTriggers(
  ctx: ComponentContext<z.output<typeof noParameters>, (typeof retrainTriggersReads)[number]>,
): Promise<ComponentResult<z.input<typeof retrainTriggersSummary>>> {
  const config = await readConfigInput(ctx);
  const training = (await readInputJson(ctx, ctx.inputs.training![0]!)) as Profile;
  const weekly = (await readInputJson(ctx, ctx.inputs.weekly![0]!)) as Profile;
  const drift =
    Array.isArray(training.columns) && Array.isArray(weekly.columns)
      ? computeDrift(training, weekly, null)
      : null;
  const positive = typeof training.label?.positive === "string" ? training.label.positive : null;
  // Realised performance of past weeks is measured here, before training, so its trigger can act this run.
  const realised = await updateRealised(ctx.storage, positive);
  // The campaign's measured effect comes from the same arrived labels (contacted vs control of each week's list).
  const campaignEffect = await updateCampaignEffect(ctx.storage, positive);
  await ctx.writeOutput("campaign_effect", `${JSON.stringify(campaignEffect, null, 2)}\n`, {
    contentType: "application/json",
  });
  const champion = await readChampion(ctx.storage);
  const triggers = evaluateTriggers({
    settings: config.retrain,
    trainedThisRun: null,
    maxFeaturePsi: drift ? drift.max_feature_psi : null,
    drifted: drift?.significant ?? [],
    arrived: realised.arrived,
    championSince: champion ? new Date(champion.pointer.changed_at) : null,
    now: new Date(),
  });
  // Without a champion there is no cached model to bypass: the first training runs anyway.
  const bypass = champion ? cacheBypassReasons(triggers.fired) : [];
  const decision = {
    fired: triggers.fired,
    bypass_cache: bypass,
    checks: triggers.states,
    max_feature_psi: drift?.max_feature_psi ?? null,
    drifted: drift?.significant ?? [],
  };
  await ctx.writeOutput("decision", `${JSON.stringify(decision, null, 2)}\n`, {
    contentType: "application/json",
  });
  await ctx.writeOutput(
    "realised",
    `${JSON.stringify({ ...realised.history, arrived: realised.arrived }, null, 2)}\n`,
    {
      contentType: "application/json",
    },
  );
  if (bypass.length > 0)
    ctx.logger.info("retraining triggers fired: train and evaluate run with the cache bypassed", {
      triggers: bypass,
    });
  return {
    counts: {
      fired: triggers.fired.length,
      realised_weeks: realised.arrived.length,
      campaign_weeks: campaignEffect.weeks.length,
    },
    // The runner reads bypass_cache (see StepDefinition.cacheBypass).
    summary: { fired: triggers.fired, bypass_cache: bypass },
  };
}

/** The retrain-triggers component: which retraining triggers fire before training, and whether to force it. */
export const retrainTriggersComponent = defineComponent({
  name: "retrain-triggers",
  reads: retrainTriggersReads,
  description:
    "evaluate the retraining triggers before training (drift, realised ROC-AUC, model age) and ask for a forced retrain",
  inputs: {
    training: { type: "json", description: "profile.json of the training ingest (drift reference)" },
    weekly: { type: "json", description: "profile.json of the weekly ingest" },
    config: { type: "yaml", description: "churn.yaml (retrain)" },
  },
  outputs: {
    decision: {
      type: "json",
      file: "triggers.json",
      description: "every trigger check, the ones that fired and the ones that bypass the cache",
    },
    realised: {
      type: "json",
      file: "realised.json",
      description: "realised metrics of every labelled week, and the weeks measured this run",
    },
    campaign_effect: {
      type: "json",
      file: "campaign-effect.json",
      description:
        "churn among contacted vs control customers of each labelled week's contact list, per week and accumulated, with 95% intervals",
    },
  },
  parameters: noParameters,
  summary: retrainTriggersSummary,
  writes: [
    { object: "monitoring/realised.json", description: "realised metrics of the weeks whose labels arrived" },
    {
      object: "monitoring/campaign/<stem>.json",
      description: "contacted and control customers with outcomes of each labelled week's contact list",
    },
  ],
  run: retrainTriggers,
});
