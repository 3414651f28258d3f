import { z } from "zod";
import { readConfigInput } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { holdoutSplit, readLabelledRows, selectRows } from "../common/data/rows.js";
import { FEATURE_WARNING_CODES, fitTransform } from "../models/features/fit.js";

/**
 * The feature component: fits the feature transform on the training part of
 * ingest-history's rows (the held-out validation rows stay unseen, so the
 * gate judges on rows no step learnt from) and writes transform.json. The
 * columns it leaves out (likely leaks, constant and id-like columns) and the
 * trusted leaks it keeps are step warnings, so they reach the terminal, the
 * run record, the report and the console.
 */
export const featureParameters = z.strictObject({
  max_one_hot_levels: z.int().min(1).default(30).describe("above this a categorical is frequency-encoded"),
  min_level_count: z.int().min(1).default(10).describe("rarer levels share the unseen bucket"),
  date_parts: z.boolean().default(true).describe("derive year, month, weekday and day number from dates"),
});
export type FeatureParameters = z.output<typeof featureParameters>;

/** The churn.yaml sections feature reads: its cache key hashes only these (a change elsewhere reuses it). */
const featureReads = ["train"] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<FeatureParameters, (typeof featureReads)[number]>) {
  const config = await readConfigInput(ctx);
  const { batch, schema } = await readLabelledRows(ctx);
  const split = holdoutSplit(batch.label!, config.train.seed);
  const fitted = fitTransform(selectRows(batch, split.train), schema, {
    maxOneHotLevels: ctx.parameters.max_one_hot_levels,
    minLevelCount: ctx.parameters.min_level_count,
    dateParts: ctx.parameters.date_parts,
    leakAuc: config.train.leak_auc,
    leakNmi: config.train.leak_nmi,
    trustedFeatures: config.train.trusted_features,
    seed: config.train.seed,
  });
  for (const w of fitted.warnings) ctx.logger.warn(w.message, { column: w.column, code: w.code });
  await ctx.writeOutput("transform", `${JSON.stringify(fitted.transform, null, 2)}\n`, {
    contentType: "application/json",
  });
  return {
    counts: {
      rows: batch.numRows,
      trainingRows: split.train.length,
      holdoutRows: split.valid.length,
      features: fitted.transform.features.length,
      warnings: fitted.warnings.length,
    },
    summary: { warnings: fitted.warnings, dropped: fitted.dropped },
    warnings: fitted.warnings.map((w) => ({ code: w.code, column: w.column, message: w.message })),
  };
}

/** The feature component spec. */
export const featureComponent = defineComponent({
  name: "feature",
  reads: featureReads,
  description: "fit the feature transform (imputation, robust scaling, encodings) on training rows only",
  inputs: {
    rows: { type: "arrow", description: "ingest-history's typed labelled rows (rows.arrow)" },
    config: {
      type: "yaml",
      description:
        "churn.yaml (train.seed fixes the held-out rows; train.leak_auc, leak_nmi, trusted_features)",
    },
  },
  outputs: {
    transform: { type: "json", file: "transform.json", description: "the fitted feature transform" },
  },
  parameters: featureParameters,
  summary: z.strictObject({
    warnings: z.array(
      z.strictObject({
        code: z.enum(FEATURE_WARNING_CODES),
        column: z.string(),
        message: z.string(),
        value: z.number().optional(),
      }),
    ),
    dropped: z.array(z.strictObject({ column: z.string(), reason: z.enum(FEATURE_WARNING_CODES) })),
  }),
  run,
});
