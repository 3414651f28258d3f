import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { InputError, TransientError, UsageError } from "../../components/common/errors.js";
import { bgnbdExpectedPurchases, bgnbdProbAlive } from "../../components/lifetime/bgnbd.js";
import { DAYS_PER_UNIT } from "../../components/lifetime/summary.js";
import type { LoadedLifetime } from "../lifetime-source.js";

/**
 * `POST /predict`: the seed's lifetime contract. Customers' (frequency,
 * recency, T) in, P(alive) and expected purchases over a horizon out, from
 * the BG/NBD model of the bucket. Errors take the `{"error": "..."}` shape
 * (the server's default mapping, as V2): 400 for a malformed message, 422 for
 * values that break the model's contract, 503 only while no model is loaded.
 */
export interface PredictOptions {
  /** The lifetime model in service, if any. */
  model: () => LoadedLifetime | undefined;
  /** Why there is no model (the 503 message). */
  missing: () => string;
  /** Default horizon in days (churn.yaml lifetime.horizon_days), converted to the model's unit. */
  horizonDays: number;
  /** Largest number of customers in one request. */
  maxRows: number;
}

/** Largest frequency, recency, T or horizon accepted: beyond it the special functions lose precision. */
export const MAX_VALUE = 1e6;

const count = z.number().int().min(0).max(MAX_VALUE);
const time = z.number().min(0).max(MAX_VALUE);

function requestSchema(maxRows: number) {
  return z.object({
    customers: z
      .array(
        z
          .object({
            id: z.string().max(256).optional(),
            frequency: count,
            recency: time,
            T: time,
          })
          .superRefine((c, ctx) => {
            // Two-decimal inputs can put recency a hair above T (as history.ts allows).
            if (c.recency > c.T + 1e-9 * Math.max(1, c.T)) {
              ctx.addIssue({
                code: "custom",
                path: ["recency"],
                message: `must be <= T (got recency ${c.recency}, T ${c.T})`,
              });
            }
            if (c.frequency === 0 && c.recency !== 0) {
              ctx.addIssue({
                code: "custom",
                path: ["recency"],
                message: `must be 0 when frequency is 0 (got ${c.recency})`,
              });
            }
          }),
      )
      .min(1, "must list at least one customer")
      .max(maxRows, `must list at most ${maxRows} customers`),
    horizon: z.number().min(0).max(MAX_VALUE).optional(),
  });
}

/** `customers[3].recency` from a zod path. */
function fieldName(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "body";
}

/** The validated request, or a 400 (wrong shape or types) / 422 (values out of range) naming the field. */
export function decodePredictRequest(
  body: unknown,
  maxRows: number,
): z.infer<ReturnType<typeof requestSchema>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError('the request body must be a JSON object {"customers": [...]}');
  }
  const parsed = requestSchema(maxRows).safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const message = issues
    .slice(0, 5)
    .map((i) => `${fieldName(i.path)}: ${i.message}`)
    .join("; ");
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : "";
  // A wrong type is a malformed message; a number outside the model's domain breaks its contract.
  const malformed = issues.some(
    (i) => i.code === "invalid_type" && (i as { expected?: string }).expected !== "int",
  );
  throw malformed ? new UsageError(message + more) : new InputError(message + more);
}

/** Register `POST /predict`. */
export async function predictRoutes(app: FastifyInstance, options: PredictOptions): Promise<void> {
  app.post("/predict", async (request: FastifyRequest) => {
    const model = options.model();
    if (!model) throw new TransientError(options.missing());
    const { customers, horizon: asked } = decodePredictRequest(request.body, options.maxRows);
    const horizon = asked ?? options.horizonDays / DAYS_PER_UNIT[model.timeUnit];
    const predictions = customers.map((c, i) => {
      const history = { frequency: c.frequency, recency: Math.min(c.recency, c.T), T: c.T };
      const probAlive = bgnbdProbAlive(model.params, history);
      const expected = bgnbdExpectedPurchases(model.params, horizon, history);
      if (!Number.isFinite(probAlive) || !Number.isFinite(expected)) {
        throw new InputError(`customers[${i}]: the model gives no finite prediction for this history`);
      }
      return { id: c.id ?? null, prob_alive: probAlive, expected_purchases: expected };
    });
    return { model_version: model.version, time_unit: model.timeUnit, horizon, predictions };
  });
}
