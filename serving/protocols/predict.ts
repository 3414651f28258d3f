import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { InputError, NotFoundError, TransientError, UsageError } from "../../components/common/errors.js";
import { DAYS_PER_UNIT } from "../../components/lifetime/summary.js";
import { bgnbdExpectedPurchases, bgnbdProbAlive } from "../../components/models/lifetime/bgnbd.js";
import { decodeInferRequest } from "../codecs/v2.js";
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
  /** False while the server drains (V2 readiness). */
  accepting: () => boolean;
}

/** The V2 model name of the lifetime model, and its FP64 inputs and outputs. */
export const LIFETIME_MODEL = "lifetime";
const V2_INPUTS = ["frequency", "recency", "T"] as const;
const V2_OUTPUTS = ["prob_alive", "expected_purchases"] as const;

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

/** `customers[3].recency` from a zod path (`rows[3].recency` when V2 calls the list rows). */
function fieldName(path: ReadonlyArray<PropertyKey>, list: string): string {
  let out = "";
  for (const key of path) {
    const name = out === "" && key === "customers" ? list : String(key);
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${name}`;
  }
  return out || "body";
}

/** The validated request, or a 400 (wrong shape or types) / 422 (values out of range) naming the field. */
export function decodePredictRequest(
  body: unknown,
  maxRows: number,
  list = "customers",
): z.infer<ReturnType<typeof requestSchema>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError('the request body must be a JSON object {"customers": [...]}');
  }
  const parsed = requestSchema(maxRows).safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const message = issues
    .slice(0, 5)
    .map((i) => `${fieldName(i.path, list)}: ${i.message}`)
    .join("; ");
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : "";
  // A wrong type is a malformed message; a number outside the model's domain breaks its contract.
  const malformed = issues.some(
    (i) => i.code === "invalid_type" && (i as { expected?: string }).expected !== "int",
  );
  throw malformed ? new UsageError(message + more) : new InputError(message + more);
}

interface Customer {
  id?: string;
  frequency: number;
  recency: number;
  T: number;
}

/** P(alive) and expected purchases over `horizon` for validated customers. */
function predict(model: LoadedLifetime, customers: Customer[], horizon: number, list: string) {
  return customers.map((c, i) => {
    const history = { frequency: c.frequency, recency: Math.min(c.recency, c.T), T: c.T };
    const probAlive = bgnbdProbAlive(model.params, history);
    const expected = bgnbdExpectedPurchases(model.params, horizon, history);
    if (!Number.isFinite(probAlive) || !Number.isFinite(expected)) {
      throw new InputError(`${list}[${i}]: the model gives no finite prediction for this history`);
    }
    return { id: c.id ?? null, prob_alive: probAlive, expected_purchases: expected };
  });
}

/** Register `POST /predict` and the V2 routes of the `lifetime` model. */
export async function predictRoutes(app: FastifyInstance, options: PredictOptions): Promise<void> {
  const current = (version?: string): LoadedLifetime => {
    const model = options.model();
    if (!model) throw new TransientError(options.missing());
    if (version !== undefined && version !== model.version) {
      throw new NotFoundError(`model lifetime version ${version} is not served (serving ${model.version})`);
    }
    return model;
  };
  const defaultHorizon = (model: LoadedLifetime) => options.horizonDays / DAYS_PER_UNIT[model.timeUnit];

  app.post("/predict", async (request: FastifyRequest) => {
    const model = current();
    const { customers, horizon: asked } = decodePredictRequest(request.body, options.maxRows);
    const horizon = asked ?? defaultHorizon(model);
    const predictions = predict(model, customers, horizon, "customers");
    return { model_version: model.version, time_unit: model.timeUnit, horizon, predictions };
  });

  // V2 under static paths, which the router prefers over the churn core's /v2/models/:name routes.
  type Params = { version?: string };
  const config = { protocol: "v2" };
  const metadata = async (request: FastifyRequest<{ Params: Params }>) => {
    const model = current(request.params.version);
    const tensor = (name: string) => ({ name, datatype: "FP64", shape: [-1] });
    return {
      name: LIFETIME_MODEL,
      versions: [model.version],
      platform: "churn-js",
      inputs: V2_INPUTS.map(tensor),
      outputs: V2_OUTPUTS.map(tensor),
      parameters: { time_unit: model.timeUnit, horizon: defaultHorizon(model) },
    };
  };
  app.get(`/v2/models/${LIFETIME_MODEL}`, { config }, metadata);
  app.get(`/v2/models/${LIFETIME_MODEL}/versions/:version`, { config }, metadata);

  const ready = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const model = options.model();
    const { version } = request.params;
    if (model && version !== undefined && version !== model.version) current(version);
    const ok = model !== undefined && options.accepting();
    return reply.code(ok ? 200 : 400).send({ name: LIFETIME_MODEL, ready: ok });
  };
  app.get(`/v2/models/${LIFETIME_MODEL}/ready`, { config }, ready);
  app.get(`/v2/models/${LIFETIME_MODEL}/versions/:version/ready`, { config }, ready);

  const infer = async (request: FastifyRequest<{ Params: Params }>) => {
    const model = current(request.params.version);
    const decoded = decodeInferRequest(request.body);
    for (const name of decoded.outputs ?? []) {
      if (!(V2_OUTPUTS as readonly string[]).includes(name)) {
        throw new UsageError(`unknown output "${name}": model lifetime has ${V2_OUTPUTS.join(", ")}`);
      }
    }
    for (const name of Object.keys(decoded.rows[0] ?? {})) {
      if (!(V2_INPUTS as readonly string[]).includes(name)) {
        throw new UsageError(`unknown input "${name}": model lifetime takes ${V2_INPUTS.join(", ")}`);
      }
    }
    const parameters = (request.body as { parameters?: { horizon?: unknown } }).parameters;
    const { customers, horizon: asked } = decodePredictRequest(
      { customers: decoded.rows, horizon: parameters?.horizon },
      options.maxRows,
      "rows",
    );
    const horizon = asked ?? defaultHorizon(model);
    const predictions = predict(model, customers, horizon, "rows");
    const want = decoded.outputs ?? V2_OUTPUTS;
    const n = predictions.length;
    const column = {
      prob_alive: predictions.map((p) => p.prob_alive),
      expected_purchases: predictions.map((p) => p.expected_purchases),
    };
    return {
      model_name: LIFETIME_MODEL,
      model_version: model.version,
      ...(decoded.id !== undefined ? { id: decoded.id } : {}),
      parameters: { time_unit: model.timeUnit, horizon },
      outputs: V2_OUTPUTS.filter((name) => want.includes(name)).map((name) => ({
        name,
        datatype: "FP64",
        shape: [n],
        data: column[name],
      })),
    };
  };
  app.post(`/v2/models/${LIFETIME_MODEL}/infer`, { config }, infer);
  app.post(`/v2/models/${LIFETIME_MODEL}/versions/:version/infer`, { config }, infer);
}
