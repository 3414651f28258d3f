import { z } from "zod";
import {
  describeRequestIssues,
  issuePath,
  parseRequest,
  type SchemaIssue,
} from "../../components/common/documents/parse.js";
import { InputError, UsageError } from "../../components/common/errors.js";
import type { CustomerHistory } from "../../components/models/lifetime/history.js";
import type { LifetimeInferenceModel, LifetimePrediction } from "../../components/models/lifetime/model.js";
import type { Tensor } from "./tensor.js";
import type { DecodedRequest, InferResponse } from "./v2.js";

/**
 * Codecs of the lifetime model, pure like the others: the `POST /predict`
 * body (customers' frequency, recency and T, and an optional horizon) and its
 * answer, and the same model over V2 (inputs frequency, recency, T; outputs
 * prob_alive, expected_purchases, FP64). Both protocols validate through
 * `decodePredictRequest`, so a customer is judged the same way on either.
 */
export const LIFETIME_INPUTS = ["frequency", "recency", "T"] as const;
export const LIFETIME_OUTPUTS = ["prob_alive", "expected_purchases"] as const;

/** Largest frequency, recency, T or horizon accepted: beyond it the special functions lose precision. */
export const MAX_VALUE = 1e6;

const count = z.number().int().min(0).max(MAX_VALUE);
const time = z.number().min(0).max(MAX_VALUE);

/** One customer's history, judged the same way in every form and protocol. */
const customerSchema = z
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
  });

const horizonSchema = z.number().min(0).max(MAX_VALUE).optional();

function requestSchema(maxRows: number) {
  return z.object({
    customers: z
      .array(customerSchema)
      .min(1, "must list at least one customer")
      .max(maxRows, `must list at most ${maxRows} customers`),
    horizon: horizonSchema,
  });
}

/**
 * The seed's single-customer body `{"frequency":30,"recency":100,"T":215}`
 * (plus optional `id` and `horizon`): strict, so a misspelled field is named
 * as unknown rather than ignored.
 */
const singleSchema = z.strictObject({
  id: z.string().max(256).optional(),
  frequency: count,
  recency: time,
  T: time,
  horizon: horizonSchema,
});

/** A validated customer: its history as the model takes it, and the id to echo. */
export interface PredictCustomer extends CustomerHistory {
  id?: string;
}

export interface PredictRequest {
  customers: PredictCustomer[];
  /** In the model's time unit; absent means the server's default. */
  horizon?: number;
}

/** The issues with the list named as the protocol calls it (`rows[3].recency` when V2 calls the customers rows). */
function withListName(issues: readonly SchemaIssue[], list: string): SchemaIssue[] {
  return issues.map((i) => (i.path[0] === "customers" ? { ...i, path: [list, ...i.path.slice(1)] } : i));
}

/**
 * A wrong type is a malformed message (400); a number outside the model's
 * domain breaks its contract (422). A fraction where a whole number belongs
 * is a value refused, not a malformed message.
 */
function batchError(issues: readonly SchemaIssue[], list: string): UsageError | InputError {
  const message = describeRequestIssues(withListName(issues, list));
  const malformed = issues.some((i) => i.code === "invalid_type" && i.expected !== "int");
  return malformed ? new UsageError(message) : new InputError(message);
}

/** The validated request, or a 400 (wrong shape or types) / 422 (values out of range) naming the field. */
export function decodePredictRequest(body: unknown, maxRows: number, list = "customers"): PredictRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError('the request body must be a JSON object {"customers": [...]}');
  }
  const { customers, horizon } = parseRequest(requestSchema(maxRows), body, "lifetime request", {
    invalid: (issues) => batchError(issues, list),
  });
  return {
    // The tolerance above lets recency exceed T by rounding; the model gets it capped at T.
    customers: customers.map((c) => ({ ...c, recency: Math.min(c.recency, c.T) })),
    ...(horizon !== undefined ? { horizon } : {}),
  };
}

/** A body in the batch form (`customers: [...]`); any other object is the seed's single-customer form. */
export function isBatchBody(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) && "customers" in body;
}

/** One problem of an invalid single-customer body: the field and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An invalid single-customer body. Answered 422 in the seed's error shape,
 * which echoes the request: not the seed's 503, which load balancers and
 * probes read as "server down".
 */
export class InvalidSingleRequest extends InputError {
  constructor(
    readonly body: unknown,
    readonly problems: FieldProblem[],
  ) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join("; "));
  }
}

/** The seed's error body of an invalid single-customer request. */
export function encodeInvalidSingle(error: InvalidSingleRequest) {
  return {
    code: 422,
    status: "error",
    message: { "INVALID REQUEST": error.body ?? null },
    errors: error.problems,
  };
}

function singleProblems(body: unknown, issues: readonly SchemaIssue[]): FieldProblem[] {
  const given = typeof body === "object" && body !== null ? body : {};
  return issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        field: key,
        message: `unknown field: the body takes ${LIFETIME_INPUTS.join(", ")} (and optional id, horizon)`,
      }));
    }
    const field = issuePath(issue.path, "body");
    const top = issue.path[0];
    const missing = issue.path.length === 1 && top !== undefined && Reflect.get(given, top) === undefined;
    return [{ field, message: missing ? "missing: required" : issue.message }];
  });
}

/** The seed's single-customer body, validated; an InvalidSingleRequest (422) naming every bad field. */
export function decodeSingleRequest(body: unknown): PredictRequest {
  const invalid = (issues: readonly SchemaIssue[]) =>
    new InvalidSingleRequest(body, singleProblems(body, issues));
  const { horizon, ...customer } = parseRequest(singleSchema, body, "lifetime request", { invalid });
  const c = parseRequest(customerSchema, customer, "lifetime request", { invalid });
  return {
    customers: [{ ...c, recency: Math.min(c.recency, c.T) }],
    ...(horizon !== undefined ? { horizon } : {}),
  };
}

/** The seed's success body for one customer: `prob_alive` a string as in the seed, the rest beside it. */
export function encodeSingleResponse(
  model: Pick<LifetimeInferenceModel, "version" | "timeUnit">,
  horizon: number,
  prediction: LifetimePrediction,
) {
  return {
    code: 200,
    status: "success",
    data: {
      prob_alive: String(prediction.probAlive),
      expected_purchases: prediction.expectedPurchases,
      model_version: model.version,
      time_unit: model.timeUnit,
      horizon,
    },
  };
}

/** The `POST /predict` answer: one prediction per customer, in request order. */
export function encodePredictResponse(
  model: Pick<LifetimeInferenceModel, "version" | "timeUnit">,
  horizon: number,
  customers: readonly PredictCustomer[],
  predictions: readonly LifetimePrediction[],
) {
  return {
    model_version: model.version,
    time_unit: model.timeUnit,
    horizon,
    predictions: predictions.map((p, i) => ({
      id: customers[i]?.id ?? null,
      prob_alive: p.probAlive,
      expected_purchases: p.expectedPurchases,
    })),
  };
}

function check(names: readonly string[], known: readonly string[], what: "input" | "output"): void {
  for (const name of names) {
    if (!known.includes(name)) {
      const verb = what === "input" ? "takes" : "has";
      throw new UsageError(`unknown ${what} "${name}": model lifetime ${verb} ${known.join(", ")}`);
    }
  }
}

/**
 * A decoded V2 infer request as a lifetime request: unknown output or input
 * names are a 400, then the rows are validated as /predict's customers (errors
 * name them `rows[i]`), with `parameters.horizon` as the horizon.
 */
export function decodeLifetimeInfer(decoded: DecodedRequest, maxRows: number): PredictRequest {
  check(decoded.outputs ?? [], LIFETIME_OUTPUTS, "output");
  check(Object.keys(decoded.rows[0] ?? {}), LIFETIME_INPUTS, "input");
  return decodePredictRequest(
    { customers: decoded.rows, horizon: decoded.parameters?.horizon },
    maxRows,
    "rows",
  );
}

/** The V2 infer answer of the lifetime model, honouring the request's outputs filter and echoing its id. */
export function encodeLifetimeInferResponse(
  model: Pick<LifetimeInferenceModel, "version" | "timeUnit">,
  horizon: number,
  predictions: readonly LifetimePrediction[],
  request: Pick<DecodedRequest, "id" | "outputs">,
): InferResponse {
  const want: readonly string[] = request.outputs ?? LIFETIME_OUTPUTS;
  const n = predictions.length;
  const column = {
    prob_alive: predictions.map((p) => p.probAlive),
    expected_purchases: predictions.map((p) => p.expectedPurchases),
  };
  const outputs: Tensor[] = LIFETIME_OUTPUTS.filter((name) => want.includes(name)).map((name) => ({
    name,
    datatype: "FP64",
    shape: [n],
    data: column[name],
  }));
  return {
    model_name: "lifetime",
    model_version: model.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    parameters: { time_unit: model.timeUnit, horizon },
    outputs,
  };
}

/** V2 model metadata of the lifetime model; `horizon` is the default one, in the model's unit. */
export function lifetimeMetadata(
  model: Pick<LifetimeInferenceModel, "version" | "timeUnit">,
  horizon: number,
) {
  const tensor = (name: string) => ({ name, datatype: "FP64" as const, shape: [-1] });
  return {
    name: "lifetime",
    versions: [model.version],
    platform: "churn-js",
    inputs: LIFETIME_INPUTS.map(tensor),
    outputs: LIFETIME_OUTPUTS.map(tensor),
    parameters: { time_unit: model.timeUnit, horizon },
  };
}
