import { Gauge, Registry } from "prom-client";
import { z } from "zod";
import { readChampion } from "../../components/common/bundle/champion.js";
import { loadConfig } from "../../components/common/config/index.js";
import {
  type CampaignEstimate,
  campaignEffectSchema,
} from "../../components/common/documents/campaign-effect.js";
import { envValue } from "../../components/common/environment.js";
import { messageOf } from "../../components/common/errors.js";
import { type Logger, silentLogger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { RunRecord } from "./records.js";

/**
 * Operations metrics of a finished run, pushed to a Prometheus Pushgateway
 * (churn.yaml `monitoring.pushgateway_url`, or CHURN_PUSHGATEWAY_URL).
 *
 * Transport: prom-client formats the exposition text (escaping, HELP/TYPE
 * lines), and a plain HTTP POST sends it. prom-client's own Pushgateway class
 * is not used because it puts grouping-label values raw into the URL path,
 * and our `bucket` label is a URI full of slashes: the Pushgateway's
 * documented `label@base64/<value>` form carries it safely. POST (not PUT)
 * replaces only the metric names it sends within the run's group, so a failed
 * run keeps the last success timestamp of the one before it.
 *
 * A run is one process that ends, so nothing here is a counter: every value is
 * a gauge describing the last run of (pipeline, bucket). Failures are counted
 * in PromQL from changes of churn_pipeline_last_failure_timestamp_seconds.
 * A push never fails the run: it warns and carries on.
 */

export const PUSH_JOB = "churn_pipeline";
const PUSH_TIMEOUT_MS = 5000;

/** The parts of output/<stem>/summary.json that become metrics (all optional: older runs lack some). */
const summarySchema = z.object({
  counts: z
    .object({
      rows_in: z.number(),
      scored: z.number(),
      rejected: z.number(),
      high: z.number(),
      medium: z.number(),
      low: z.number(),
    })
    .partial()
    .optional(),
  model_version: z.string().nullable().optional(),
  expected_churners: z.object({ total: z.number() }).partial().optional(),
  drift: z
    .object({
      max_feature_psi: z.number().nullable(),
      significant: z.array(z.string()),
      score_psi: z.number().nullable(),
    })
    .partial()
    .nullable()
    .optional(),
  realised: z
    .array(z.object({ week: z.string(), roc_auc: z.number().nullable().optional() }).loose())
    .optional(),
  retrain_triggers: z
    .object({ fired: z.array(z.string()) })
    .loose()
    .nullable()
    .optional(),
  // The report's own document; an older or odd one only drops the campaign metrics.
  campaign_effect: campaignEffectSchema.nullable().optional().catch(null),
});
export type PushedSummary = z.infer<typeof summarySchema>;

/** The Pushgateway base URL: a non-empty CHURN_PUSHGATEWAY_URL wins over churn.yaml; null means no push. */
export function pushgatewayUrl(configured: string | null | undefined, env: NodeJS.ProcessEnv): string | null {
  const fromEnv = envValue(env, "CHURN_PUSHGATEWAY_URL");
  if (fromEnv) return fromEnv;
  return configured ?? null;
}

/** The group URL of one (pipeline, bucket): base64url label values survive slashes in bucket URIs. */
export function groupUrl(base: string, pipeline: string, bucket: string): string {
  const b64 = (v: string) => Buffer.from(v, "utf8").toString("base64url") || "=";
  return `${base.replace(/\/+$/, "")}/metrics/job/${PUSH_JOB}/pipeline@base64/${b64(pipeline)}/bucket@base64/${b64(bucket)}`;
}

/** Rows read, scored and rejected, from the step records (weekly and lifetime alike). */
function rowCounts(record: RunRecord): {
  rowsIn: number | null;
  scored: number | null;
  rejected: number | null;
} {
  const step = (name: string) => record.steps.find((s) => s.name === name)?.counts ?? {};
  const ingest = record.pipeline === "lifetime" ? step("ingest-transactions") : step("ingest-weekly");
  const scoredCounts = record.pipeline === "lifetime" ? step("score-lifetime") : step("score");
  const pick = (o: Record<string, number>, ...keys: string[]) => {
    for (const k of keys) if (typeof o[k] === "number") return o[k];
    return null;
  };
  return {
    rowsIn: pick(ingest, "rowsIn"),
    scored: pick(scoredCounts, "scored", "customers"),
    rejected: pick(ingest, "rejected"),
  };
}

/** The exposition text of one finished run (pure: the caller reads the summary and the champion). */
export async function runMetricsText(
  record: RunRecord,
  summary: PushedSummary | null,
  championVersion: string | null,
  now: Date = new Date(),
): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const seconds = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : now.getTime() / 1000);
  const failed = record.state === "failed";
  const finishedAt = seconds(record.finished);

  gauge("churn_pipeline_last_run_timestamp_seconds", "When the last run of this pipeline finished").set(
    finishedAt,
  );
  gauge("churn_pipeline_last_run_failed", "1 when the last run failed, 0 when it succeeded").set(
    failed ? 1 : 0,
  );
  gauge(
    "churn_pipeline_last_run_exit_code",
    "Exit code of the last run (0 ok, 1 transient, 2 bad input, 3 gate)",
  ).set(record.exit_code ?? 1);
  // Only the timestamp of this run's outcome is sent, so the other one keeps its last value (POST semantics).
  if (failed)
    gauge("churn_pipeline_last_failure_timestamp_seconds", "When a run of this pipeline last failed").set(
      finishedAt,
    );
  else
    gauge("churn_pipeline_last_success_timestamp_seconds", "When a run of this pipeline last succeeded").set(
      finishedAt,
    );
  if (record.seconds !== null)
    gauge("churn_pipeline_run_duration_seconds", "Wall time of the last run").set(record.seconds);

  const duration = gauge(
    "churn_pipeline_step_duration_seconds",
    "Wall time of each step in the last run (cached steps take about 0)",
    ["step", "state"],
  );
  const cached = gauge("churn_pipeline_step_cached", "1 when the step's result came from the cache", [
    "step",
  ]);
  for (const step of record.steps) {
    if (step.seconds !== null) duration.set({ step: step.name, state: step.state }, step.seconds);
    if (step.state === "succeeded" || step.state === "cached")
      cached.set({ step: step.name }, step.state === "cached" ? 1 : 0);
  }

  const rows = rowCounts(record);
  if (rows.rowsIn !== null)
    gauge("churn_pipeline_rows_in", "Rows in the file the last run read").set(rows.rowsIn);
  if (rows.scored !== null) gauge("churn_pipeline_rows_scored", "Rows the last run scored").set(rows.scored);
  if (rows.rejected !== null)
    gauge("churn_pipeline_rows_rejected", "Rows the last run rejected (see rejected.csv)").set(rows.rejected);

  const version = summary?.model_version ?? championVersion;
  if (version)
    gauge("churn_pipeline_model_info", "1 for the model version the last run scored with (or the champion)", [
      "version",
    ]).set({ version }, 1);

  const counts = summary?.counts;
  if (counts) {
    const tiers = gauge("churn_pipeline_customers", "Customers per risk tier in the last scored week", [
      "tier",
    ]);
    for (const tier of ["high", "medium", "low"] as const)
      if (typeof counts[tier] === "number") tiers.set({ tier }, counts[tier]);
  }
  if (typeof summary?.expected_churners?.total === "number")
    gauge("churn_pipeline_expected_churners", "Sum of churn probabilities of the last scored week").set(
      summary.expected_churners.total,
    );
  const drift = summary?.drift;
  if (drift) {
    if (typeof drift.max_feature_psi === "number")
      gauge("churn_pipeline_drift_max_psi", "Largest per-feature PSI against the training data").set(
        drift.max_feature_psi,
      );
    if (typeof drift.score_psi === "number")
      gauge(
        "churn_pipeline_drift_score_psi",
        "PSI of the week's score distribution against the held-out one",
      ).set(drift.score_psi);
    if (drift.significant)
      gauge("churn_pipeline_drift_significant_features", "Features with PSI at or above 0.25").set(
        drift.significant.length,
      );
  }
  const realised = (summary?.realised ?? []).filter((w) => typeof w.roc_auc === "number");
  const latest = realised.sort((a, b) => a.week.localeCompare(b.week)).at(-1);
  if (latest)
    gauge("churn_pipeline_realised_roc_auc", "ROC-AUC on real outcomes of the latest labelled week").set(
      latest.roc_auc as number,
    );
  if (summary?.retrain_triggers)
    gauge("churn_pipeline_retrain_triggers_fired", "Retraining triggers that fired in the last run").set(
      summary.retrain_triggers.fired.length,
    );
  const effect = summary?.campaign_effect;
  const latestWeek = effect?.weeks.at(-1);
  if (effect?.accumulated && latestWeek)
    campaignMetrics(gauge, { latest_week: latestWeek, accumulated: effect.accumulated });
  return registry.metrics();
}

type GaugeMaker = <L extends string>(name: string, help: string, labelNames?: L[]) => Gauge<L>;

/**
 * The measured campaign effect (summary.json campaign_effect) as the report
 * shows it: churn among contacted and control customers, and the reduction
 * with its 95% interval, for the latest labelled week and all weeks together
 * (label `scope`). A bound that could not be estimated is left out.
 */
function campaignMetrics(
  gauge: GaugeMaker,
  scopes: Record<"latest_week" | "accumulated", CampaignEstimate>,
): void {
  const rate = gauge(
    "churn_pipeline_campaign_churn_rate",
    "Churn rate among contacted and control (held-back) customers of labelled weeks' contact lists",
    ["scope", "group"],
  );
  const customers = gauge(
    "churn_pipeline_campaign_customers",
    "Customers with an outcome among contacted and control customers of labelled weeks",
    ["scope", "group"],
  );
  const reduction = gauge(
    "churn_pipeline_campaign_churn_reduction",
    "Churn reduction by the campaign: control rate minus contacted rate (kind absolute) or that as a share of the control rate (kind relative), with the 95% interval's bounds",
    ["scope", "kind", "bound"],
  );
  for (const [scope, e] of Object.entries(scopes)) {
    for (const group of ["contact", "control"] as const) {
      customers.set({ scope, group }, e[group].customers);
      const r = e[group].churn_rate;
      if (r !== null) rate.set({ scope, group }, r);
    }
    for (const [kind, interval] of [
      ["absolute", e.absolute_reduction],
      ["relative", e.relative_reduction],
    ] as const)
      for (const bound of ["estimate", "lower", "upper"] as const) {
        const v = interval[bound];
        if (v !== null) reduction.set({ scope, kind, bound }, v);
      }
  }
}

async function readSummary(
  storage: Storage,
  record: RunRecord,
  logger: Logger,
): Promise<PushedSummary | null> {
  if (record.state !== "succeeded" || !record.output_prefix) return null;
  const name = `${record.output_prefix}summary.json`;
  if (!(await storage.stat(name))) return null;
  const parsed = summarySchema.safeParse(JSON.parse(await storage.readText(name)));
  if (!parsed.success) {
    logger.warn("metrics push: summary.json has an unexpected shape; its metrics are left out", {
      object: name,
      error: parsed.error.issues[0]?.message,
    });
    return null;
  }
  return parsed.data;
}

export interface PushRunMetricsOptions {
  storage: Storage;
  record: RunRecord;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  fetch?: typeof fetch;
}

/**
 * Push a finished run's metrics when a Pushgateway is configured. Never
 * throws: a broken monitoring endpoint must not fail a scoring run.
 * Returns the group URL pushed to, or null when nothing was pushed.
 */
export async function pushRunMetrics(options: PushRunMetricsOptions): Promise<string | null> {
  const { storage, record } = options;
  const logger = options.logger ?? silentLogger;
  const env = options.env ?? process.env;
  try {
    let configured: string | null = null;
    try {
      configured = (await loadConfig(storage)).monitoring.pushgateway_url;
    } catch {
      // A run that failed on its config still reports the failure when the env names a gateway.
    }
    const base = pushgatewayUrl(configured, env);
    if (!base) return null;
    const summary = await readSummary(storage, record, logger);
    const champion = await readChampion(storage).catch(() => null);
    const body = await runMetricsText(record, summary, champion?.pointer.version ?? null);
    const url = groupUrl(base, record.pipeline, record.bucket);
    const response = await (options.fetch ?? fetch)(url, {
      method: "POST",
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      body,
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
    if (!response.ok) {
      const text = (await response.text().catch(() => "")).slice(0, 300);
      logger.warn("metrics push: the Pushgateway refused the metrics", {
        url,
        status: response.status,
        body: text,
      });
      return null;
    }
    await response.body?.cancel().catch(() => {});
    logger.info("metrics pushed", { url });
    return url;
  } catch (error) {
    logger.warn("metrics push failed; the run result is unaffected", { error: messageOf(error) });
    return null;
  }
}
