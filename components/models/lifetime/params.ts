import { z } from "zod";
import { parseDocument, parseStoredValue } from "../../common/documents/parse.js";
import type { BgNbdFit } from "./bgnbd.js";
import type { GammaGammaFit } from "./gamma-gamma.js";

/**
 * The fitted lifetime model as plain JSON: what scoring and the /predict
 * endpoint load. No timestamps, so equal fits serialise identically and can
 * be named by a content hash like the churn model bundles.
 */
export const LIFETIME_FORMAT = "churn-lifetime/1";

const positive = z.number().positive().finite();
const fitSchema = z.strictObject({
  log_likelihood: z.number(),
  customers: z.int().positive(),
  penalizer: z.number().min(0),
  converged: z.boolean(),
});

export const lifetimeModelSchema = z
  .object({
    format: z.literal(LIFETIME_FORMAT),
    model: z.literal("bgnbd"),
    params: z.strictObject({ r: positive, alpha: positive, a: positive, b: positive }),
    /** Unit of recency and T the parameters were fitted in (α is a rate scale in this unit). */
    time_unit: z.enum(["day", "week", "month"]),
    fit: fitSchema,
    /**
     * The Gamma-Gamma spend model fitted on the repeat customers with a purchase
     * value, for expected spend and lifetime value; null when there is none to fit.
     * Optional so documents written before it still load.
     */
    spend: z
      .strictObject({
        model: z.literal("gamma-gamma"),
        params: z.strictObject({ p: positive, q: positive, v: positive }),
        fit: fitSchema,
      })
      .nullable()
      .optional(),
  })
  .strict()
  .or(
    z
      .object({
        format: z.literal(LIFETIME_FORMAT),
        model: z.literal("pareto-nbd"),
        params: z.strictObject({ r: positive, alpha: positive, s: positive, beta: positive }),
        time_unit: z.enum(["day", "week", "month"]),
        fit: fitSchema,
      })
      .strict(),
  );
export type LifetimeModel = z.infer<typeof lifetimeModelSchema>;

/** The serialisable document of a BG/NBD fit, with the spend model fitted beside it (if any). */
export function bgnbdModel(
  fit: BgNbdFit,
  timeUnit: "day" | "week" | "month",
  spend: GammaGammaFit | null = null,
): LifetimeModel {
  return {
    format: LIFETIME_FORMAT,
    model: "bgnbd",
    params: { ...fit.params },
    time_unit: timeUnit,
    fit: {
      log_likelihood: fit.logLikelihood,
      customers: fit.customers,
      penalizer: fit.penalizer,
      converged: fit.converged,
    },
    spend: spend && {
      model: "gamma-gamma",
      params: { ...spend.params },
      fit: {
        log_likelihood: spend.logLikelihood,
        customers: spend.customers,
        penalizer: spend.penalizer,
        converged: spend.converged,
      },
    },
  };
}

/** Parse a stored lifetime model (JSON text or value); `where` names the source in errors. */
export function parseLifetimeModel(input: unknown, where: string): LifetimeModel {
  const kind = `${LIFETIME_FORMAT} model`;
  return typeof input === "string"
    ? parseDocument(lifetimeModelSchema, input, where, kind)
    : parseStoredValue(lifetimeModelSchema, input, where, kind);
}
