import { z } from "zod";
import { bundleVersion, serializeBundle } from "../common/bundle/bundle.js";
import { readIdKey, TrainedIdSet } from "../common/bundle/trained-ids.js";
import { readConfigInput, readInputText } from "../common/component/inputs.js";
import { reportProgress } from "../common/component/progress.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { holdoutSplit, readLabelledRows, selectRows } from "../common/data/rows.js";
import { recipeOfModel } from "../models/families.js";
import { parseFeatureTransform } from "../models/features/schema.js";
import { transformBatch } from "../models/features/transform.js";
import { buildBundle, refitOnAllRows, selectModel } from "./select.js";
import { fewPositivesWarning } from "./warnings.js";

/**
 * The train component: cross-validates the configured families on the
 * training part of the history, keeps the best, calibrates it on held-out
 * folds and writes the candidate bundle (evaluate judges it on the held-out
 * rows), then refits the same recipe on every labelled row into the final
 * bundle (promote stores that one when the gate passes).
 */
export const trainParameters = z.strictObject({});
export type TrainParameters = z.output<typeof trainParameters>;

/** The churn.yaml sections train reads: its cache key hashes only these (a change elsewhere reuses it). */
const trainReads = ["train", "tiers"] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<TrainParameters, (typeof trainReads)[number]>) {
  const config = await readConfigInput(ctx);
  const transformRef = ctx.inputs.transform![0]!;
  const transform = parseFeatureTransform(JSON.parse(await readInputText(ctx, transformRef)));
  const { batch, schema } = await readLabelledRows(ctx);
  const split = holdoutSplit(batch.label!, config.train.seed);
  const train = selectRows(batch, split.train);
  const matrix = transformBatch(transform, train);
  const selection = await selectModel({
    x: matrix.x,
    y: train.label!,
    featureNames: matrix.names,
    families: config.train.families,
    folds: config.train.cv_folds,
    seed: config.train.seed,
    tiers: config.tiers,
    onProgress: (message) => reportProgress(ctx.logger, `train: ${message}`),
  });
  const bundle = buildBundle({
    schema,
    transform,
    selection,
    training: {
      rows: ctx.inputs.rows![0]!.sha256,
      transform: transformRef.sha256,
      training_rows: train.numRows,
      holdout_rows: split.valid.length,
      seed: config.train.seed,
      cv_folds: config.train.cv_folds,
      families: config.train.families,
      // What the gate refits on a later candidate's folds when it cannot compare on fresh rows.
      recipe: recipeOfModel(selection.model, config.train.seed),
    },
  });
  await ctx.writeOutput("bundle", serializeBundle(bundle), { contentType: "application/json" });
  // The gate judges `bundle`; the model that is promoted learns from the held-out rows too.
  ctx.logger.info(`train: ${selection.family}: refit on all ${batch.numRows} labelled rows`);
  const all = transformBatch(transform, batch);
  const refit = {
    ...bundle,
    model: await refitOnAllRows({
      selection,
      x: all.x,
      y: batch.label!,
      featureNames: all.names,
      seed: config.train.seed,
    }),
    training: {
      ...bundle.training,
      refit_on_all_rows: true,
      training_rows: batch.numRows,
      // The model the gate judged (fitted without the held-out rows) and its training rows.
      evaluated_version: bundleVersion(bundle),
      evaluated_training_rows: train.numRows,
      ...(selection.cvRounds === null ? {} : { refit_rounds: selection.cvRounds }),
    },
  };
  await ctx.writeOutput("refit", serializeBundle(refit), { contentType: "application/json" });
  // Who the promoted (refit) model learnt from: every labelled row, as keyed hashes.
  const hasher = (await readIdKey(ctx.storage, { create: true }))!;
  await ctx.writeOutput("trained_ids", TrainedIdSet.fromIds(hasher, batch.ids).serialize(), {
    contentType: "application/json",
  });
  let positives = 0;
  for (const v of train.label!) positives += v;
  const fewPositives = fewPositivesWarning(positives, train.numRows);
  if (fewPositives) ctx.logger.warn(fewPositives.message, { code: fewPositives.code });
  return {
    warnings: fewPositives ? [fewPositives] : [],
    counts: { trainingRows: train.numRows, refitRows: batch.numRows, features: matrix.numFeatures },
    summary: {
      selected: selection.family,
      candidates: selection.candidates,
      calibration: selection.calibration.calibrator.kind,
      tiers: bundle.tiers,
    },
  };
}

/** The train component spec. */
export const trainComponent = defineComponent({
  name: "train",
  reads: trainReads,
  description:
    "cross-validate logistic, GBDT and MLP; refit and calibrate the best; write the candidate bundle",
  inputs: {
    rows: { type: "arrow", description: "ingest-history's typed labelled rows (rows.arrow)" },
    transform: { type: "json", description: "the feature step's transform.json" },
    config: { type: "yaml", description: "churn.yaml (train, tiers)" },
  },
  outputs: {
    bundle: {
      type: "model",
      file: "bundle.json",
      description: "the candidate bundle the gate judges (fitted without the held-out rows)",
    },
    refit: {
      type: "model",
      file: "refit.json",
      description: "the same recipe refitted on every labelled row: the bundle promote stores",
    },
    trained_ids: {
      type: "json",
      file: "trained-ids.json",
      description:
        "keyed hashes of the customer ids the refit learnt from (models/_id_key; promote stores it beside the bundle)",
    },
  },
  parameters: trainParameters,
  summary: z.strictObject({
    selected: z.string(),
    candidates: z.array(
      z.strictObject({
        family: z.string(),
        cvRocAuc: z.number(),
        folds: z.int(),
        stoppedEarly: z.literal(true).optional(),
        seconds: z.number(),
      }),
    ),
    calibration: z.string(),
    tiers: z.unknown(),
  }),
  run,
});
