import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../components/common/log.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { groupUrl, pushgatewayUrl, pushRunMetrics, runMetricsText } from "./metrics-push.js";
import type { RunRecord } from "./records.js";

function step(name: string, state: RunRecord["steps"][number]["state"], seconds: number, counts = {}) {
  return {
    name,
    component: name,
    state,
    attempts: 1,
    exit_code: state === "failed" ? 2 : 0,
    started: null,
    finished: null,
    seconds,
    cache: null,
    inputs: {},
    outputs: {},
    parameters: {},
    counts,
    error: null,
    log: null,
    warnings: [],
  };
}

const record = (state: "succeeded" | "failed"): RunRecord => ({
  version: 1,
  run_id: "r-0123456789abcdef",
  pipeline: "weekly",
  bucket: "file:///tmp/some/bucket",
  runner: "local",
  trigger: { object: "weekly/2026-W48.csv", generation: "1" },
  attempt: 1,
  state,
  exit_code: state === "failed" ? 2 : 0,
  reason: state === "failed" ? "step ingest-weekly failed: bad" : null,
  started: "2026-11-25T10:00:00.000Z",
  finished: "2026-11-25T10:00:30.000Z",
  seconds: 30,
  code_version: "dev",
  output_prefix: "output/2026-W48/",
  steps: [
    step("ingest-weekly", state === "failed" ? "failed" : "succeeded", 1.5, { rowsIn: 100, rejected: 3 }),
    step("train", "cached", 0.01),
    step("score", state === "failed" ? "skipped" : "succeeded", 2, { scored: 97 }),
  ],
});

describe("Pushgateway address and group", () => {
  it.each([
    [null, {}, null],
    ["http://pg:9091", {}, "http://pg:9091"],
    ["http://pg:9091", { CHURN_PUSHGATEWAY_URL: "http://other:9091" }, "http://other:9091"],
    [null, { CHURN_PUSHGATEWAY_URL: "  " }, null],
  ])("config %s with env %o gives %s", (configured, env, expected) => {
    expect(pushgatewayUrl(configured, env)).toBe(expected);
  });

  it("encodes label values as base64url so a bucket URI's slashes stay one path segment", () => {
    const url = groupUrl("http://pg:9091/", "weekly", "gs://b/x");
    expect(url).toBe(
      `http://pg:9091/metrics/job/churn_pipeline/pipeline@base64/${Buffer.from("weekly").toString("base64url")}/bucket@base64/${Buffer.from("gs://b/x").toString("base64url")}`,
    );
    expect(url.split("/bucket@base64/")[1]).not.toContain("/");
  });
});

describe("run metrics text", () => {
  it("has rows, step durations, drift, model version and the success time of a good run", async () => {
    const text = await runMetricsText(
      record("succeeded"),
      {
        counts: { high: 10, medium: 20, low: 67 },
        model_version: "abc123",
        drift: { max_feature_psi: 0.31, significant: ["age"], score_psi: 0.02 },
        realised: [
          { week: "2026-W46", roc_auc: 0.7 },
          { week: "2026-W47", roc_auc: 0.81 },
        ],
        retrain_triggers: { fired: ["psi_above_max"] },
      },
      null,
    );
    expect(text).toMatch(/^churn_pipeline_rows_scored 97$/m);
    expect(text).toMatch(/^churn_pipeline_rows_rejected 3$/m);
    expect(text).toMatch(/^churn_pipeline_rows_in 100$/m);
    expect(text).toMatch(/^churn_pipeline_step_duration_seconds\{step="score",state="succeeded"\} 2$/m);
    expect(text).toMatch(/^churn_pipeline_step_cached\{step="train"\} 1$/m);
    expect(text).toMatch(/^churn_pipeline_drift_max_psi 0.31$/m);
    expect(text).toMatch(/^churn_pipeline_drift_score_psi 0.02$/m);
    expect(text).toMatch(/^churn_pipeline_model_info\{version="abc123"\} 1$/m);
    expect(text).toMatch(/^churn_pipeline_customers\{tier="high"\} 10$/m);
    expect(text).toMatch(/^churn_pipeline_realised_roc_auc 0.81$/m);
    expect(text).toMatch(/^churn_pipeline_last_success_timestamp_seconds 1795600830$/m);
    expect(text).toMatch(/^churn_pipeline_last_run_failed 0$/m);
    expect(text).not.toContain("last_failure");
  });

  it("marks a failed run without touching the last success time, and uses the champion as the version", async () => {
    const text = await runMetricsText(record("failed"), null, "champ1");
    expect(text).toMatch(/^churn_pipeline_last_run_failed 1$/m);
    expect(text).toMatch(/^churn_pipeline_last_run_exit_code 2$/m);
    expect(text).toMatch(/^churn_pipeline_last_failure_timestamp_seconds 1795600830$/m);
    expect(text).not.toContain("last_success");
    expect(text).toMatch(/^churn_pipeline_model_info\{version="champ1"\} 1$/m);
  });
});

describe("campaign effect metrics", () => {
  const estimate = (contact: number, control: number) => ({
    contact: { customers: 900, churned: Math.round(900 * contact), churn_rate: contact },
    control: { customers: 100, churned: Math.round(100 * control), churn_rate: control },
    absolute_reduction: { estimate: 0.2, lower: 0.15, upper: 0.25 },
    relative_reduction: { estimate: 1 - contact / control, lower: null, upper: null },
    churners_prevented: 90,
  });
  const summary = {
    campaign_effect: {
      confidence: 0.95,
      weeks: [
        { week: "2026-W47", ...estimate(0.2, 0.25) },
        { week: "2026-W48", ...estimate(0.1, 0.3) },
      ],
      accumulated: { weeks: 2, ...estimate(0.15, 0.275) },
      arrived: ["2026-W48"],
    },
  };

  it("has churn per group and the reduction with its interval, for the latest week and accumulated", async () => {
    const text = await runMetricsText(record("succeeded"), summary, null);
    expect(text).toMatch(/churn_pipeline_campaign_churn_rate\{scope="latest_week",group="contact"\} 0\.1\n/);
    expect(text).toMatch(/churn_pipeline_campaign_churn_rate\{scope="latest_week",group="control"\} 0\.3\n/);
    expect(text).toMatch(
      /churn_pipeline_campaign_churn_rate\{scope="accumulated",group="control"\} 0\.275\n/,
    );
    expect(text).toMatch(/churn_pipeline_campaign_customers\{scope="accumulated",group="contact"\} 900\n/);
    expect(text).toMatch(
      /churn_pipeline_campaign_churn_reduction\{scope="latest_week",kind="absolute",bound="lower"\} 0\.15\d*\n/,
    );
    expect(text).toMatch(
      /churn_pipeline_campaign_churn_reduction\{scope="latest_week",kind="relative",bound="estimate"\} 0\.66/,
    );
    // Bounds that could not be estimated are left out, not sent as 0.
    expect(text).not.toMatch(/kind="relative",bound="lower"/);
  });

  it("sends no campaign metrics before any labelled week, or for a summary.json of another shape", async () => {
    expect(await runMetricsText(record("succeeded"), {}, null)).not.toContain("churn_pipeline_campaign_");
    const odd = { campaign_effect: { weeks: "no" } } as unknown as Parameters<typeof runMetricsText>[1];
    expect(await runMetricsText(record("succeeded"), odd, null)).not.toContain("churn_pipeline_campaign_");
  });
});

describe("pushRunMetrics", () => {
  let dir: string;
  let storage: Storage;
  let warnings: string[];
  const logger = () => {
    const l = createLogger({ json: true });
    return { ...l, warn: (m: string) => warnings.push(m), info: () => {} };
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "metrics-push-"));
    storage = await openStorage(dir);
    await storage.write(
      "churn.yaml",
      "id_column: id\nmonitoring: {pushgateway_url: 'http://pg.invalid:9091'}\n",
    );
    warnings = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("POSTs the text to the run's group", async () => {
    const calls: Array<{ url: string; method?: string; body: string }> = [];
    const url = await pushRunMetrics({
      storage,
      record: record("succeeded"),
      env: {},
      logger: logger(),
      fetch: (async (u: string, init: RequestInit) => {
        calls.push({ url: u, method: init.method, body: String(init.body) });
        return new Response("", { status: 200 });
      }) as unknown as typeof fetch,
    });
    expect(url).toContain("http://pg.invalid:9091/metrics/job/churn_pipeline/");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe("POST");
    expect(calls[0]!.body).toContain("churn_pipeline_rows_scored 97");
    expect(warnings).toEqual([]);
  });

  it.each([
    ["a refused push", async () => new Response("bad metric", { status: 400 })],
    [
      "an unreachable gateway",
      async () => {
        throw new TypeError("fetch failed");
      },
    ],
  ])("warns and returns null on %s", async (_name, impl) => {
    const url = await pushRunMetrics({
      storage,
      record: record("succeeded"),
      env: {},
      logger: logger(),
      fetch: impl as unknown as typeof fetch,
    });
    expect(url).toBeNull();
    expect(warnings).toHaveLength(1);
  });

  it("does nothing without a configured gateway", async () => {
    await storage.write("churn.yaml", "id_column: id\n");
    let called = false;
    const url = await pushRunMetrics({
      storage,
      record: record("succeeded"),
      env: {},
      fetch: (async () => {
        called = true;
        return new Response("");
      }) as unknown as typeof fetch,
    });
    expect(url).toBeNull();
    expect(called).toBe(false);
  });
});
