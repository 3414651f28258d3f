import { z } from "zod";
import { parseStoredValue } from "../../common/documents/parse.js";
import { encoderWidth, type FeatureTransform } from "./transform.js";

/**
 * The strict schema of a stored feature transform, checked when a bundle is
 * loaded (a hand-edited or truncated bundle fails with the field named, not
 * with NaN scores later).
 */

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const stats = z.strictObject({
  median: finite,
  q1: finite,
  q3: finite,
  scale: finite.refine((v) => v !== 0, "must not be 0"),
});
const datePart = z.enum(["year", "month", "day_of_week", "days_since_epoch"]);

const encoder = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("numeric"), column: z.string(), stats, missingIndicator: z.boolean() }),
  z.strictObject({
    kind: z.literal("boolean"),
    column: z.string(),
    fill: z.union([z.literal(0), z.literal(1)]),
    missingIndicator: z.boolean(),
  }),
  z.strictObject({ kind: z.literal("onehot"), column: z.string(), levels: z.array(z.string()) }),
  z.strictObject({
    kind: z.literal("frequency"),
    column: z.string(),
    levels: z.array(z.string()),
    shares: z.array(finite),
    missingIndicator: z.boolean(),
  }),
  z.strictObject({
    kind: z.literal("date"),
    column: z.string(),
    parts: z.array(datePart),
    stats: z.array(stats),
    missingIndicator: z.boolean(),
  }),
]);

const feature = z.strictObject({
  name: z.string(),
  source: z.string(),
  role: z.enum([
    "value",
    "missing",
    "level",
    "unseen",
    "frequency",
    "year",
    "month",
    "day_of_week",
    "days_since_epoch",
  ]),
  level: z.string().optional(),
});

export const featureTransformSchema = z
  .strictObject({ version: z.literal(1), encoders: z.array(encoder).min(1), features: z.array(feature) })
  .superRefine((t, ctx) => {
    t.encoders.forEach((e, i) => {
      if (e.kind === "frequency" && e.levels.length !== e.shares.length) {
        ctx.addIssue({
          code: "custom",
          path: ["encoders", i, "shares"],
          message: "must have one share per level",
        });
      }
      if (e.kind === "date" && e.parts.length !== e.stats.length) {
        ctx.addIssue({
          code: "custom",
          path: ["encoders", i, "stats"],
          message: "must have one entry per date part",
        });
      }
    });
    const width = t.encoders.reduce((s, e) => s + encoderWidth(e as FeatureTransform["encoders"][number]), 0);
    if (width !== t.features.length) {
      ctx.addIssue({
        code: "custom",
        path: ["features"],
        message: `lists ${t.features.length} features but the encoders produce ${width}`,
      });
    }
  });

/** Validates a stored transform (e.g. from a bundle); errors name the field. */
export function parseFeatureTransform(value: unknown, where = "transform"): FeatureTransform {
  return parseStoredValue(featureTransformSchema, value, where, "feature transform") as FeatureTransform;
}
