import { z } from "zod";
import { readConfigInput, readInputJson, readInputText } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { csvField } from "../common/csv/write.js";
import { parseStoredValue } from "../common/documents/parse.js";
import { InputError } from "../common/errors.js";
import { sha256Hex } from "../common/hash.js";
import { lifetimeModelObject, writtenBy } from "../common/layout/index.js";
import type { StepWarning } from "../common/warnings.js";
import { bgnbdExpectedPurchases, bgnbdProbAlive, fitBgNbd } from "../models/lifetime/bgnbd.js";
import { customerLifetimeValue, LIFETIME_VALUE_COLUMN } from "../models/lifetime/clv.js";
import {
  expectedSpend,
  fitGammaGamma,
  type GammaGammaFit,
  isSpendHistory,
} from "../models/lifetime/gamma-gamma.js";
import { bgnbdModel, parseLifetimeModel } from "../models/lifetime/params.js";
import { type AlertRules, inactivityAlerts } from "./alerts.js";
import { segmentCustomers } from "./kmeans.js";
import { rfmScores, SEGMENTS } from "./rfm.js";
import { type CustomerSummary, DAYS_PER_UNIT, type TimeUnit } from "./summary.js";
import { assertTransactionsRejectShare, readTransactions } from "./transactions.js";

/**
 * The lifetime pipeline's components (DESIGN "Non-contractual customers"):
 * `ingest-transactions` (purchase log → per-customer summary + rejected.csv),
 * `rfm` (R/F/M scores, named segments, k-means clusters), `fit-lifetime`
 * (BG/NBD parameters as a versioned model document) and `score-lifetime`
 * (customers.csv, alerts.csv, summary.json). Steps exchange small JSON
 * documents: one row per customer, a few MB for a large shop.
 */

const CUSTOMERS_FORMAT = "churn-lifetime-customers/1";

/**
 * customers.csv's columns after the id column, in order. expected_spend
 * (Gamma-Gamma E[purchase value]) and lifetime_value (lifetime.value_months
 * of discounted expected purchases x expected spend) are last and empty when
 * there is no spend model. The contact list reads lifetime_value by name.
 */
export const CUSTOMERS_CSV_COLUMNS = [
  "frequency",
  "recency",
  "T",
  "monetary",
  "r_score",
  "f_score",
  "m_score",
  "segment",
  "cluster",
  "prob_alive",
  "expected_purchases",
  "expected_spend",
  LIFETIME_VALUE_COLUMN,
] as const;
const RFM_FORMAT = "churn-lifetime-rfm/1";
const noParameters = z.strictObject({});
type NoParameters = z.output<typeof noParameters>;

/** A required port's single object as JSON. */
const readPortJson = <P>(ctx: ComponentContext<P>, port: string) => readInputJson(ctx, ctx.inputs[port]![0]!);

const json = (value: unknown) => `${JSON.stringify(value)}\n`;
const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** The customers document passed between the lifetime steps. */
const customersDocSchema = z.strictObject({
  format: z.literal(CUSTOMERS_FORMAT),
  source: z.string(),
  customer_column: z.string(),
  time_unit: z.enum(["day", "week", "month"]),
  observation_end: z.string(),
  /** [id, frequency, recency, T, monetary] per customer. */
  customers: z.array(z.tuple([z.string(), z.number(), z.number(), z.number(), z.number()])),
});
type CustomersDoc = z.output<typeof customersDocSchema>;

async function readCustomers<P>(ctx: ComponentContext<P>): Promise<CustomersDoc> {
  const where = ctx.inputs.customers![0]!.object;
  return parseStoredValue(customersDocSchema, await readPortJson(ctx, "customers"), where, CUSTOMERS_FORMAT);
}

const asHistories = (doc: CustomersDoc) =>
  doc.customers.map(([id, frequency, recency, T, monetary]) => ({ id, frequency, recency, T, monetary }));

// --- ingest-transactions -------------------------------------------------

/** The churn.yaml sections ingest-transactions reads: its cache key hashes only these (a change elsewhere reuses it). */
const ingestTransactionsReads = ["ingest", "transactions"] as const satisfies readonly ConfigSection[];

async function ingestTransactions(
  ctx: ComponentContext<NoParameters, (typeof ingestTransactionsReads)[number]>,
) {
  const config = await readConfigInput(ctx);
  const ref = ctx.inputs.data![0]!;
  const rejected: string[] = [];
  const result = await readTransactions(ctx.openInput(ref), ref.object, config, {
    rejected: (text) => rejected.push(text),
  });
  await ctx.writeOutput("rejected", rejected.join(""), { contentType: "text/csv" });
  assertTransactionsRejectShare(result, `${ctx.storage.uri}/${ctx.outputPrefix}rejected.csv`);
  const unit = config.transactions.time_unit;
  const customers: CustomerSummary[] = result.accumulator.finish(unit);
  const doc: CustomersDoc = {
    format: CUSTOMERS_FORMAT,
    source: ref.object,
    customer_column: config.transactions.customer_column,
    time_unit: unit,
    observation_end: isoDay(result.observationEnd),
    customers: customers.map((c) => [c.id, c.frequency, c.recency, c.T, c.monetary]),
  };
  await ctx.writeOutput("customers", json(doc), { contentType: "application/json" });
  const counts = {
    rowsIn: result.rowsIn,
    accepted: result.accepted,
    rejected: result.rejected,
    after_end: result.afterEnd,
    customers: customers.length,
  };
  const profile = {
    object: ref.object,
    rows: { rowsIn: result.rowsIn, accepted: result.accepted, rejected: result.rejected },
    after_end: result.afterEnd,
    customers: customers.length,
    columns: result.columns,
    observation_end: doc.observation_end,
    time_unit: unit,
    reasons: result.reasons,
    firstRejects: result.firstRejects.slice(0, 5),
  };
  await ctx.writeOutput("profile", `${JSON.stringify(profile, null, 2)}\n`, {
    contentType: "application/json",
  });
  ctx.logger.info("ingest-transactions: read", counts);
  return { counts, summary: profile };
}

export const ingestTransactionsComponent = defineComponent({
  name: "ingest-transactions",
  reads: ingestTransactionsReads,
  description: "validate a purchase log and summarise it per customer (frequency, recency, T, monetary)",
  inputs: {
    data: { type: "csv", description: "transactions/<stem>.csv[.gz], read as churn.yaml transactions says" },
    config: { type: "yaml", description: "churn.yaml" },
  },
  outputs: {
    customers: { type: "json", file: "customers.json", description: "per-customer summary" },
    rejected: { type: "csv", file: "rejected.csv", description: "rows left out: line, column, reason, raw" },
    profile: { type: "json", file: "profile.json", description: "row counts, columns, observation end" },
  },
  parameters: noParameters,
  summary: z.record(z.string(), z.unknown()),
  run: ingestTransactions,
});

// --- rfm -----------------------------------------------------------------

const rfmDocSchema = z.strictObject({
  format: z.literal(RFM_FORMAT),
  k: z.int(),
  silhouettes: z.record(z.string(), z.number()),
  profiles: z.array(z.record(z.string(), z.unknown())),
  /** [r, f, m, segment, cluster] per customer, in the customers document's order. */
  rows: z.array(z.tuple([z.int(), z.int(), z.int(), z.enum(SEGMENTS), z.int()])),
});

export const rfmParameters = z.strictObject({
  seed: z.int().default(42).describe("seed of the k-means starts and the silhouette sample"),
});

/** The churn.yaml sections rfm reads: its cache key hashes only these (a change elsewhere reuses it). */
const rfmReads = ["transactions", "lifetime"] as const satisfies readonly ConfigSection[];

async function rfm(ctx: ComponentContext<z.output<typeof rfmParameters>, (typeof rfmReads)[number]>) {
  const doc = await readCustomers(ctx);
  const customers = asHistories(doc);
  const scores = rfmScores(customers);
  // k-means needs more customers than clusters; tiny logs get one cluster.
  const segmentation =
    customers.length >= 3 ? segmentCustomers(customers, { seed: ctx.parameters.seed }) : null;
  const rows = scores.map(
    (s, i) => [s.r, s.f, s.m, s.segment, segmentation ? segmentation.labels[i]! : 0] as const,
  );
  const out: z.input<typeof rfmDocSchema> = {
    format: RFM_FORMAT,
    k: segmentation?.k ?? 1,
    silhouettes: segmentation?.silhouettes ?? {},
    profiles: (segmentation?.profiles ?? []) as unknown as Array<Record<string, unknown>>,
    rows: rows.map((r) => [...r]),
  };
  await ctx.writeOutput("rfm", json(out), { contentType: "application/json" });
  const segments: Record<string, number> = {};
  for (const s of scores) segments[s.segment] = (segments[s.segment] ?? 0) + 1;
  return { counts: { customers: customers.length, clusters: out.k }, summary: { segments, k: out.k } };
}

export const rfmComponent = defineComponent({
  name: "rfm",
  reads: rfmReads,
  description: "R/F/M quintile scores, DESIGN's named segments, and k-means clusters chosen by silhouette",
  inputs: {
    customers: { type: "json", description: "customers.json of ingest-transactions" },
  },
  outputs: {
    rfm: {
      type: "json",
      file: "rfm.json",
      description: "scores, segment and cluster per customer; profiles",
    },
  },
  parameters: rfmParameters,
  summary: z.strictObject({ segments: z.record(z.string(), z.number()), k: z.int() }),
  run: rfm,
});

// --- fit-lifetime --------------------------------------------------------

/** The churn.yaml sections fit-lifetime reads: its cache key hashes only these (a change elsewhere reuses it). */
const fitLifetimeReads = ["transactions", "lifetime"] as const satisfies readonly ConfigSection[];

async function fitLifetime(ctx: ComponentContext<NoParameters, (typeof fitLifetimeReads)[number]>) {
  const config = await readConfigInput(ctx);
  const doc = await readCustomers(ctx);
  if (doc.time_unit !== config.transactions.time_unit)
    throw new InputError(
      `the customer summary is in ${doc.time_unit}s but transactions.time_unit is ${config.transactions.time_unit}`,
    );
  const t0 = performance.now();
  const fit = fitBgNbd(asHistories(doc), { penalizer: config.lifetime.penalizer });
  const fitMs = performance.now() - t0;
  const { spend, warnings } = fitSpend(
    asHistories(doc),
    config.transactions.value_column,
    config.lifetime.penalizer,
  );
  const text = `${JSON.stringify(bgnbdModel(fit, doc.time_unit, spend), null, 2)}\n`;
  // Content-addressed like the churn bundles: equal fits get the same version.
  const version = `lifetime-${sha256Hex(text).slice(0, 12)}`;
  await ctx.writeOutput("model", text, { contentType: "application/json" });
  await ctx.storage.write(lifetimeModelObject(version), text, {
    contentType: "application/json",
    metadata: writtenBy("fit-lifetime"),
  });
  ctx.logger.info("fit-lifetime: fitted", { version, ...fit.params, converged: fit.converged });
  if (!fit.converged) ctx.logger.warn("fit-lifetime: the optimiser stopped before converging", { version });
  return {
    counts: { customers: fit.customers, fit_ms: Math.round(fitMs), spend_customers: spend?.customers ?? 0 },
    summary: {
      version,
      params: fit.params,
      log_likelihood: fit.logLikelihood,
      converged: fit.converged,
      iterations: fit.iterations,
      spend_params: spend?.params ?? null,
    },
    warnings,
  };
}

/**
 * The Gamma-Gamma spend model on the repeat customers with a positive mean
 * purchase value, or null with a warning saying why customers.csv will have
 * no expected_spend / lifetime_value (no value column, no such customers, or
 * a fit whose mean spend is infinite).
 */
function fitSpend(
  customers: ReturnType<typeof asHistories>,
  valueColumn: string | null,
  penalizer: number,
): { spend: GammaGammaFit | null; warnings: StepWarning[] } {
  const none = (message: string) => ({
    spend: null,
    warnings: [{ code: "no-lifetime-value", column: valueColumn, message }],
  });
  if (valueColumn === null)
    return none("transactions.value_column is null: customers.csv has no expected_spend or lifetime_value");
  const spenders = customers.filter(isSpendHistory);
  if (spenders.length < 2)
    return none(
      `${spenders.length} repeat customer(s) with a positive ${valueColumn}: too few to fit the spend model, so no lifetime_value`,
    );
  const spend = fitGammaGamma(spenders, { penalizer });
  if (!(spend.params.q > 1))
    return none(
      `the spend model fitted q = ${spend.params.q.toPrecision(3)} <= 1 (mean spend not finite): no lifetime_value`,
    );
  if (!spend.converged)
    return {
      spend,
      warnings: [
        {
          code: "spend-not-converged",
          column: valueColumn,
          message: "the Gamma-Gamma spend fit stopped before converging: lifetime_value may be off",
        },
      ],
    };
  return { spend, warnings: [] };
}

export const fitLifetimeComponent = defineComponent({
  name: "fit-lifetime",
  reads: fitLifetimeReads,
  description: "maximum-likelihood BG/NBD fit; the parameters as a versioned model document",
  inputs: {
    customers: { type: "json", description: "customers.json of ingest-transactions" },
    config: { type: "yaml", description: "churn.yaml (lifetime.penalizer, transactions.time_unit)" },
  },
  outputs: {
    model: { type: "model", file: "model.json", description: "churn-lifetime/1 model document" },
  },
  parameters: noParameters,
  summary: z.strictObject({
    version: z.string(),
    params: z.strictObject({ r: z.number(), alpha: z.number(), a: z.number(), b: z.number() }),
    log_likelihood: z.number(),
    converged: z.boolean(),
    iterations: z.int(),
    spend_params: z.strictObject({ p: z.number(), q: z.number(), v: z.number() }).nullable(),
  }),
  run: fitLifetime,
});

// --- score-lifetime ------------------------------------------------------

const fmt = (x: number, digits: number): string => String(Number(x.toFixed(digits)));

/** The churn.yaml sections score-lifetime reads: its cache key hashes only these (a change elsewhere reuses it). */
const scoreLifetimeReads = ["transactions", "lifetime"] as const satisfies readonly ConfigSection[];

async function scoreLifetime(ctx: ComponentContext<NoParameters, (typeof scoreLifetimeReads)[number]>) {
  const config = await readConfigInput(ctx);
  const doc = await readCustomers(ctx);
  const rfmDoc = parseStoredValue(
    rfmDocSchema,
    await readPortJson(ctx, "rfm"),
    ctx.inputs.rfm![0]!.object,
    RFM_FORMAT,
  );
  if (rfmDoc.rows.length !== doc.customers.length)
    throw new InputError(
      `rfm.json has ${rfmDoc.rows.length} customers, the summary ${doc.customers.length}: they come from different runs`,
    );
  const modelText = await readInputText(ctx, ctx.inputs.model![0]!);
  const model = parseLifetimeModel(modelText, ctx.inputs.model![0]!.object);
  if (model.model !== "bgnbd") throw new InputError(`model ${model.model} cannot be scored yet (bgnbd only)`);
  if (model.time_unit !== doc.time_unit)
    throw new InputError(
      `the model was fitted in ${model.time_unit}s, the customers are in ${doc.time_unit}s`,
    );
  const params = model.params;
  const unit: TimeUnit = doc.time_unit;
  const horizon = config.lifetime.horizon_days / DAYS_PER_UNIT[unit];
  const idColumn = doc.customer_column;

  const lines = [`${[csvField(idColumn), ...CUSTOMERS_CSV_COLUMNS].join(",")}\n`];
  const spendParams = model.spend?.params ?? null;
  const valueOptions = {
    months: config.lifetime.value_months,
    monthlyDiscount: config.lifetime.value_monthly_discount,
    timeUnit: unit,
  };
  let valueSum = 0;
  const alertInputs = [];
  let aliveSum = 0;
  let expectedSum = 0;
  const segmentOf = new Map<string, string>();
  for (let i = 0; i < doc.customers.length; i++) {
    const [id, frequency, recency, T, monetary] = doc.customers[i]!;
    const [r, f, m, segment, cluster] = rfmDoc.rows[i]!;
    const h = { frequency, recency, T };
    const alive = bgnbdProbAlive(params, h);
    const expected = bgnbdExpectedPurchases(params, horizon, h);
    aliveSum += alive;
    expectedSum += expected;
    segmentOf.set(id, segment);
    alertInputs.push({ id, frequency, recency, T, probAlive: alive });
    // Expected spend and lifetime value: empty without a spend model (fit-lifetime warned why).
    let spendText = "";
    let valueText = "";
    if (spendParams) {
      const spend = expectedSpend(spendParams, { frequency, monetary });
      const value = customerLifetimeValue(params, h, spend, valueOptions);
      valueSum += value;
      spendText = fmt(spend, 4);
      valueText = fmt(value, 4);
    }
    lines.push(
      `${csvField(id)},${frequency},${fmt(recency, 6)},${fmt(T, 6)},${fmt(monetary, 4)},${r},${f},${m},${csvField(segment)},${cluster},${fmt(alive, 6)},${fmt(expected, 6)},${spendText},${valueText}\n`,
    );
  }
  await ctx.writeOutput("customers", lines.join(""), { contentType: "text/csv" });

  const rules: AlertRules = {
    probAlive: config.lifetime.alert_prob_alive,
    inactiveDays: config.lifetime.alert_inactive_days,
    rhythmFactor: config.lifetime.alert_rhythm_factor,
    minRepeatPurchases: config.lifetime.alert_min_repeat_purchases,
  };
  const alerts = inactivityAlerts(alertInputs, rules, unit);
  const alertLines = [`${csvField(idColumn)},segment,prob_alive,days_inactive,rules,reason\n`];
  const byRule: Record<string, number> = { prob_alive: 0, inactive_days: 0, rhythm: 0 };
  for (const a of alerts) {
    for (const rule of a.rules) byRule[rule] = (byRule[rule] ?? 0) + 1;
    alertLines.push(
      `${csvField(a.id)},${csvField(segmentOf.get(a.id) ?? "")},${a.probAlive === null ? "" : fmt(a.probAlive, 6)},${Math.round(a.daysInactive)},${a.rules.join("+")},${csvField(a.reason)}\n`,
    );
  }
  await ctx.writeOutput("alerts", alertLines.join(""), { contentType: "text/csv" });

  const ingest = ctx.inputs.ingest?.[0]
    ? ((await readPortJson(ctx, "ingest")) as {
        rows?: { rowsIn: number; accepted: number; rejected: number };
      })
    : null;
  const segments: Record<string, number> = {};
  for (const row of rfmDoc.rows) segments[row[3]] = (segments[row[3]] ?? 0) + 1;
  const n = doc.customers.length;
  const counts = {
    customers: n,
    alerts: alerts.length,
    alerts_prob_alive: byRule.prob_alive!,
    alerts_inactive_days: byRule.inactive_days!,
    alerts_rhythm: byRule.rhythm!,
    ...(ingest?.rows ? { rows_in: ingest.rows.rowsIn, rejected: ingest.rows.rejected } : {}),
  };
  const version = `lifetime-${sha256Hex(modelText).slice(0, 12)}`;
  const summary = {
    pipeline: "lifetime",
    source: doc.source,
    model_version: version,
    model: model.model,
    params,
    log_likelihood: model.fit.log_likelihood,
    time_unit: unit,
    observation_end: doc.observation_end,
    horizon_days: config.lifetime.horizon_days,
    counts,
    mean_prob_alive: n ? aliveSum / n : null,
    expected_purchases_total: expectedSum,
    spend_model: model.spend ? { model: model.spend.model, params: model.spend.params } : null,
    lifetime_value:
      spendParams === null
        ? null
        : {
            months: valueOptions.months,
            monthly_discount: valueOptions.monthlyDiscount,
            total: valueSum,
            mean: n ? valueSum / n : null,
          },
    segments,
    clusters: { k: rfmDoc.k, silhouettes: rfmDoc.silhouettes, profiles: rfmDoc.profiles },
    alert_rules: rules,
  };
  await ctx.writeOutput("summary", `${JSON.stringify(summary, null, 2)}\n`, {
    contentType: "application/json",
  });
  return { counts, summary: { model_version: version, alerts: alerts.length } };
}

export const scoreLifetimeComponent = defineComponent({
  name: "score-lifetime",
  reads: scoreLifetimeReads,
  description: "P(alive), expected purchases, RFM and clusters per customer; inactivity alerts",
  inputs: {
    customers: { type: "json", description: "customers.json of ingest-transactions" },
    rfm: { type: "json", description: "rfm.json of the rfm step" },
    model: { type: "model", description: "model.json of fit-lifetime" },
    config: { type: "yaml", description: "churn.yaml (lifetime alert rules and horizon)" },
    ingest: { type: "json", description: "profile.json of ingest-transactions (row counts)", optional: true },
  },
  outputs: {
    customers: { type: "csv", file: "customers.csv", description: "one row per customer" },
    alerts: { type: "csv", file: "alerts.csv", description: "customers to contact, with reasons" },
    summary: { type: "json", file: "summary.json", description: "counts, parameters, segments, clusters" },
  },
  parameters: noParameters,
  summary: z.strictObject({ model_version: z.string(), alerts: z.int() }),
  run: scoreLifetime,
});
