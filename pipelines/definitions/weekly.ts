import { LIFETIME_VALUES } from "../../components/common/config/schema.js";
import { LIFETIME_VALUES_SETTING } from "../../components/common/documents/lifetime-output.js";
import {
  CONFIG_OBJECT,
  CSV_NAME,
  WEEKLY_PREFIX,
  weekOutputPrefix,
} from "../../components/common/layout/index.js";
import type { PipelineDefinition, StepDefinition } from "../dag.js";

const CONFIG = { object: CONFIG_OBJECT } as const;
const CSV = CSV_NAME.source;

/** Training steps shared by `weekly` and `retrain` (DESIGN step names). */
export const trainingSteps: StepDefinition[] = [
  {
    // The feedback loop (retrain.on_labels): scored weeks whose outcomes arrived become training rows.
    name: "join-labels",
    component: "join-labels",
    description:
      "join weekly/<stem> rows with labels/<stem>.csv into extra training rows (retrain.on_labels)",
    inputs: {
      labels: { prefix: "labels/", pattern: CSV, optional: true },
      // Only the weeks that have labels: unlabelled weekly files are never read or hashed here.
      weekly: { prefix: "weekly/", pattern: CSV, optional: true, withStemIn: "labels/" },
      history: { prefix: "input/", pattern: CSV, optional: true },
      config: CONFIG,
    },
    resources: { cpu: "1", memory: "1Gi" },
  },
  {
    name: "ingest-history",
    component: "ingest",
    description: "validate every labelled history file under input/, then the labelled weekly rows",
    inputs: {
      data: { prefix: "input/", pattern: CSV },
      // Absent when no weekly row joined: the cache key is then the one of input/ alone.
      labelled: { step: "join-labels", output: "labelled", optional: true },
      config: CONFIG,
    },
    parameters: { mode: "training" },
    resources: { cpu: "1", memory: "2Gi" },
  },
  {
    name: "feature",
    component: "feature",
    description: "fit the feature transform on the training rows",
    inputs: { rows: { step: "ingest-history", output: "rows" }, config: CONFIG },
    resources: { cpu: "1", memory: "2Gi" },
  },
  {
    name: "train",
    component: "train",
    description: "cross-validate logistic, GBDT and MLP; calibrate the best on held-out folds",
    inputs: {
      transform: { step: "feature", output: "transform" },
      rows: { step: "ingest-history", output: "rows" },
      config: CONFIG,
    },
    timeoutSeconds: 3600,
    resources: { cpu: "2", memory: "4Gi" },
  },
  {
    name: "evaluate",
    component: "evaluate",
    description: "metrics on validation data and the promotion gate against the champion",
    inputs: {
      candidate: { step: "train", output: "bundle" },
      refit: { step: "train", output: "refit" },
      rows: { step: "ingest-history", output: "rows" },
      config: CONFIG,
      // Comparing a candidate with itself decides nothing, so a champion equal
      // to this candidate's refit (what promote stores) is left out: a forced
      // re-run then hits the cache.
      champion: { champion: true, unlessSameAs: "refit" },
    },
  },
  {
    name: "promote",
    component: "promote",
    description: "write the bundle and move models/champion when the gate passed",
    inputs: {
      candidate: { step: "train", output: "bundle" },
      decision: { step: "evaluate", output: "decision" },
      refit: { step: "train", output: "refit" },
      // Stored beside the bundle: the weeks this model scores are described with it.
      report: { step: "evaluate", output: "report" },
      // Stored beside the bundle: the gate never compares this model on customers it learnt from.
      trained_ids: { step: "train", output: "trained_ids" },
    },
    cache: false,
  },
];

/** The step of a shared list by name (a typo in a definition fails at load, naming the step). */
function stepNamed(steps: readonly StepDefinition[], name: string): StepDefinition {
  const step = steps.find((s) => s.name === name);
  if (!step) throw new Error(`no shared step ${name}`);
  return step;
}
const training = (name: string) => stepNamed(trainingSteps, name);

/**
 * Scoring steps shared by `weekly` and `score` (DESIGN step names), in the
 * form the `score` pipeline runs them: the champion as it is, no training.
 * The weekly pipeline takes each one and adds what its training steps give
 * (the schema ingest-history recorded, ordering after promote, the report's
 * evaluation, drift and retraining inputs).
 */
export const scoringSteps: StepDefinition[] = [
  {
    name: "ingest-weekly",
    component: "ingest",
    description: "validate the weekly file against the schema recorded at training time",
    inputs: {
      data: { trigger: true },
      config: CONFIG,
      schema: { championSchema: true },
    },
    parameters: { mode: "scoring" },
    resources: { cpu: "1", memory: "1Gi" },
  },
  {
    name: "score",
    component: "score",
    description: "probabilities, tiers and reasons for every accepted row (Indexed when sharded)",
    inputs: {
      rows: { step: "ingest-weekly", output: "rows" },
      champion: { champion: true },
      config: CONFIG,
    },
    fanOut: { input: "rows", shards: (config) => config.score.shards },
    resources: { cpu: "2", memory: "1Gi" },
  },
  {
    name: "merge-scores",
    component: "merge-scores",
    description: "concatenate shard outputs in input order into one scores.csv",
    inputs: { scores: { step: "score", output: "scores" } },
  },
  {
    name: "contact-list",
    component: "contact-list",
    description:
      "rank the eligible customers by expected retained value into contact-list.csv, with a control group",
    inputs: {
      scores: { step: "merge-scores", output: "scores" },
      // Read only for campaign.value_column; always an input, so the cache key covers the values.
      rows: { step: "ingest-weekly", output: "rows" },
      // campaign.value_column: lifetime joins each customer's lifetime value by id.
      lifetime: {
        lifetimeOutput: "customers",
        when: (config) => config.campaign.value_column === LIFETIME_VALUES,
        because: LIFETIME_VALUES_SETTING,
      },
      config: CONFIG,
    },
  },
  {
    name: "report",
    component: "report",
    description: "the week's summary and human-readable report",
    inputs: {
      scores: { step: "merge-scores", output: "scores" },
      campaign: { step: "contact-list", output: "campaign" },
      contact_list: { step: "contact-list", output: "contact_list" },
      ingest: { step: "ingest-weekly", output: "profile" },
      refused: { step: "score", output: "refused", optional: true },
      config: CONFIG,
    },
    // Without the retrain-triggers step's outputs it reads labels/, monitoring/realised.json
    // and the champion pointer itself, none of which is in its cache key.
    cache: false,
  },
  {
    name: "publish",
    component: "publish",
    description:
      "copy scores, the contact list, rejected rows, summary and report to output/<stem>/, then _SUCCESS",
    inputs: {
      scores: { step: "merge-scores", output: "scores" },
      contact_list: { step: "contact-list", output: "contact_list" },
      rejected: { step: "ingest-weekly", output: "rejected" },
      refused: { step: "score", output: "refused", optional: true },
      summary: { step: "report", output: "summary" },
      report: { step: "report", output: "report" },
      drift: { step: "report", output: "drift" },
    },
    cache: false,
  },
];

const scoring = (name: string) => stepNamed(scoringSteps, name);

const ingestWeekly = scoring("ingest-weekly");
const report = scoring("report");

/** The weekly run: train when data or code changed (cache), score the weekly file, publish. */
export const weeklyPipeline: PipelineDefinition = {
  name: "weekly",
  description: "score weekly/<stem>.csv with the champion (retraining first when history or code changed)",
  trigger: { kind: "object", prefix: WEEKLY_PREFIX },
  output: weekOutputPrefix,
  steps: [
    training("join-labels"),
    training("ingest-history"),
    // The schema this run's training recorded: the champion's may be about to change.
    {
      ...ingestWeekly,
      inputs: { ...ingestWeekly.inputs, schema: { step: "ingest-history", output: "schema" } },
    },
    training("feature"),
    {
      name: "retrain-triggers",
      component: "retrain-triggers",
      description:
        "before training: drift against max_psi, realised ROC-AUC, champion age; a fired trigger forces train and evaluate past the cache",
      inputs: {
        training: { step: "ingest-history", output: "profile" },
        weekly: { step: "ingest-weekly", output: "profile" },
        config: CONFIG,
      },
      // It reads monitoring/realised.json, labels/ and the champion pointer: always re-evaluated.
      cache: false,
    },
    // A trigger with no new data retrains with the cache bypassed (the run record says so).
    { ...training("train"), cacheBypass: { step: "retrain-triggers" } },
    { ...training("evaluate"), cacheBypass: { step: "retrain-triggers" } },
    training("promote"),
    // Scores with the champion promote leaves: this run's candidate when it passed the gate.
    { ...scoring("score"), after: ["promote"] },
    scoring("merge-scores"),
    scoring("contact-list"),
    {
      ...report,
      // Here the retraining state comes in as inputs (retrain, realised), so the cache key covers it.
      cache: true,
      inputs: {
        ...report.inputs,
        evaluation: { step: "evaluate", output: "decision" },
        // The model that scored the week: the champion's stored evaluation when the candidate lost.
        evaluation_report: { step: "evaluate", output: "scoring_report" },
        // The training profile is the reference for drift (no separate drift step in DESIGN).
        training: { step: "ingest-history", output: "profile" },
        retrain: { step: "retrain-triggers", output: "decision" },
        realised: { step: "retrain-triggers", output: "realised" },
        campaign_effect: { step: "retrain-triggers", output: "campaign_effect" },
      },
    },
    scoring("publish"),
  ],
};

/** Retrain only: no weekly file; triggered by the training data itself. */
export const retrainPipeline: PipelineDefinition = {
  name: "retrain",
  description: "train, evaluate and (if the gate passes) promote a new champion from input/ and labels/",
  trigger: { kind: "training-data" },
  steps: trainingSteps,
};
