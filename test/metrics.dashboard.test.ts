import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runInProcess } from "../cli/main.js";
import { startChurnServe } from "./support/cli.js";
import { dashboardExpressions, exposedMetricNames, promqlMetricNames } from "./support/promql.js";
import { waitFor } from "./support/wait.js";

// Every metric the Grafana dashboard (charts/churn/dashboards/churn.json)
// queries must exist in real output: what real weekly runs pushed to a real
// Pushgateway (test/services/install-pushgateway.sh) and what the real model
// server (`churn serve`) exposes on /metrics after serving requests. The chart
// must render the dashboard into a ConfigMap for Grafana's sidecar.
const root = resolve(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "bin.js");
const chart = join(root, "charts", "churn");
const dashboardFile = join(chart, "dashboards", "churn.json");
const cacheBin = join(
  process.env.CHURN_TEST_CACHE ?? join(process.env.HOME ?? "", ".cache", "churn-test"),
  "bin",
);
const run = promisify(execFile);

let dir: string;
let pushgateway: ChildProcess | undefined;
let server: ChildProcess | undefined;
let gatewayUrl: string;
let pushed = "";
let served = "";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const port = (probe.address() as { port: number }).port;
  await new Promise((done) => probe.close(done));
  return port;
}

async function churn(args: string[], expectCode = 0): Promise<string> {
  // CHURN_PUSHGATEWAY_URL cleared: the runs must find the gateway through churn.yaml.
  const result = await runInProcess([...args, "--bucket", dir], root, {
    ...process.env,
    CHURN_BUCKET: "",
    CHURN_PUSHGATEWAY_URL: "",
  });
  expect(result.code, result.stderr).toBe(expectCode);
  return result.stdout;
}

/** Start `churn serve` on a free port and wait for its ready log line. */
async function serve(): Promise<string> {
  const started = await startChurnServe(["--bucket", dir, "--port", "0", "--poll", "1"]);
  server = started.child;
  return started.address;
}

beforeAll(async () => {
  expect(existsSync(bin), "dist/ missing: run npm run build").toBe(true);
  const binary = join(cacheBin, "pushgateway");
  expect(existsSync(binary), `${binary} missing: run bash test/services/install-pushgateway.sh`).toBe(true);
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  pushgateway = spawn(binary, [`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await waitFor("the Pushgateway", async () => (await fetch(`${gatewayUrl}/-/ready`)).ok);

  dir = await mkdtemp(join(tmpdir(), "metrics-dashboard-"));
  await churn(["init", "--rows", "3000", "--weekly-rows", "600"]);
  const configPath = join(dir, "churn.yaml");
  const config = await readFile(configPath, "utf8");
  const configured = config
    .replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]")
    .replace("pushgateway_url: null", `pushgateway_url: ${gatewayUrl}`);
  expect(configured).toContain(`pushgateway_url: ${gatewayUrl}`);
  await writeFile(configPath, configured);

  // Week 48 scored; its outcomes arrive; week 49 then has realised metrics.
  await churn(["pipeline", "run", "--json"]);
  const scores = (await readFile(join(dir, "output/2026-W48/scores.csv"), "utf8")).trimEnd().split("\n");
  const pCol = scores[0]!.split(",").indexOf("churn_probability");
  const labels = scores
    .slice(1)
    .map(
      (line, i) => `${line.split(",")[0]},${Number(line.split(",")[pCol]) >= 0.5 !== (i % 5 === 0) ? 1 : 0}`,
    );
  await mkdir(join(dir, "labels"), { recursive: true });
  await writeFile(join(dir, "labels/2026-W48.csv"), `CLIENTNUM,churned\n${labels.join("\n")}\n`);
  await writeFile(join(dir, "weekly/2026-W49.csv"), await readFile(join(dir, "weekly/2026-W48.csv")));
  await churn(["pipeline", "run", "--weekly", "weekly/2026-W49.csv", "--json"]);
  // A week that cannot be read fails (exit 2), which pushes the failure metrics.
  await writeFile(join(dir, "weekly/2026-W50.csv"), "nothing,like,the,schema\n1,2,3,4\n");
  await churn(["pipeline", "run", "--weekly", "weekly/2026-W50.csv", "--json"], 2);
  pushed = await (await fetch(`${gatewayUrl}/metrics`)).text();

  const url = await serve();
  // A batch through the server (rows scored), a health check, and a bad request (a 4xx series).
  await churn(["score", "--weekly", "weekly/2026-W48.csv", "--via-server", url]);
  expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  const bad = await fetch(`${url}/v2/models/churn/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "no_such_column", datatype: "FP64", shape: [1], data: [1] }] }),
  });
  expect(bad.status).toBeGreaterThanOrEqual(400);
  expect(bad.status).toBeLessThan(500);
  served = await (await fetch(`${url}/metrics`)).text();
}, 300_000);

afterAll(async () => {
  server?.kill();
  pushgateway?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("PromQL metric-name extraction", () => {
  it.each([
    ["rate(a_total[5m])", ["a_total"]],
    ['sum by (le, endpoint) (rate(h_bucket{job=~"$job", x="a{b}"}[$__rate_interval]))', ["h_bucket"]],
    ["histogram_quantile(0.99, sum by (le) (rate(h_bucket[1m])))", ["h_bucket"]],
    ["a / on(pipeline) group_left(version) b > bool 1e3", ["a", "b"]],
    ["time() - max without (instance) (c offset 5m)", ["c"]],
    ["sum(rate(h_sum[5m])) / sum(rate(h_count[5m]))", ["h_count", "h_sum"]],
    ["x and y unless z or w", ["w", "x", "y", "z"]],
  ])("%s names %j", (expr, names) => {
    expect(promqlMetricNames(expr)).toEqual(names);
  });

  it("finds panel targets inside rows and label_values variables", () => {
    const exprs = dashboardExpressions({
      panels: [{ targets: [{ expr: "a" }] }, { type: "row", panels: [{ targets: [{ expr: "b" }] }] }],
      templating: {
        list: [
          { type: "query", query: { query: "label_values(c{x='1'}, bucket)" } },
          { type: "query", query: "label_values(job)" },
          { type: "custom", query: "a,b" },
        ],
      },
    });
    expect(exprs).toEqual(["a", "b", "c{x='1'}"]);
  });
});

describe("the Grafana dashboard against real metrics", () => {
  it("queries only metrics that real pushed runs and a real model server expose", async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, "utf8"));
    const expressions = dashboardExpressions(dashboard);
    const queried = new Set(expressions.flatMap(promqlMetricNames));
    const available = new Set([...exposedMetricNames(pushed), ...exposedMetricNames(served)]);
    const missing = [...queried].filter((name) => !available.has(name)).sort();
    expect(missing, "metrics the dashboard queries that no real output has").toEqual([]);
    // The check means something only if the dashboard covers both sources.
    const pipeline = [...queried].filter((n) => n.startsWith("churn_pipeline_"));
    const serving = [...queried].filter((n) => n.startsWith("churn_serving_"));
    expect(pipeline.length).toBeGreaterThanOrEqual(15);
    expect(serving.length).toBeGreaterThanOrEqual(8);
    expect(queried).toContain("churn_serving_request_duration_seconds_bucket");
    expect(queried).toContain("push_time_seconds");
    // The campaign's measured effect (issue 19): the same figures as report.html and summary.json.
    for (const name of [
      "churn_pipeline_campaign_churn_rate",
      "churn_pipeline_campaign_churn_reduction",
      "churn_pipeline_campaign_customers",
    ])
      expect(queried).toContain(name);
  });

  it("the Pushgateway holds the last runs' metrics under the bucket's group, success kept after a failure", () => {
    const line = (name: string) => pushed.split("\n").find((l) => l.startsWith(`${name}{`)) ?? "";
    for (const name of [
      "churn_pipeline_rows_scored",
      "churn_pipeline_rows_rejected",
      "churn_pipeline_drift_max_psi",
      "churn_pipeline_drift_score_psi",
      "churn_pipeline_realised_roc_auc",
      "churn_pipeline_campaign_churn_rate",
      "churn_pipeline_campaign_churn_reduction",
      "churn_pipeline_last_success_timestamp_seconds",
      "churn_pipeline_last_failure_timestamp_seconds",
    ])
      expect(line(name), name).toMatch(/job="churn_pipeline"/);
    expect(line("churn_pipeline_rows_scored")).toMatch(/pipeline="weekly"/);
    expect(line("churn_pipeline_rows_scored")).toContain(`bucket="file://${dir}"`);
    expect(line("churn_pipeline_rows_scored")).toMatch(/ 600$/);
    expect(line("churn_pipeline_last_run_failed")).toMatch(/ 1$/);
    // Week 48's contact list against its labels, as week 49's summary.json has it.
    // The Pushgateway sorts labels by name, so each one is looked for on its own.
    const value = (name: string, ...labels: string[]) =>
      Number(
        pushed
          .split("\n")
          .find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
          ?.split(" ")
          .pop(),
      );
    const rate = (group: string) =>
      value("churn_pipeline_campaign_churn_rate", `group="${group}"`, 'scope="latest_week"');
    const reduction = value(
      "churn_pipeline_campaign_churn_reduction",
      'bound="estimate"',
      'kind="absolute"',
      'scope="latest_week"',
    );
    expect(reduction).toBeCloseTo(rate("control") - rate("contact"), 5);
    expect(rate("contact")).toBeGreaterThanOrEqual(0);
    expect(rate("contact")).toBeLessThanOrEqual(1);
    expect(line("churn_pipeline_last_run_exit_code")).toMatch(/ 2$/);
    // Step durations describe the last run, which failed at ingest-weekly.
    expect(pushed).toMatch(/churn_pipeline_step_duration_seconds\{[^}]*state="failed",step="ingest-weekly"/);
    expect(pushed).toMatch(/churn_pipeline_model_info\{[^}]*version="[0-9a-f]{16}"/);
    const success = Number(line("churn_pipeline_last_success_timestamp_seconds").split(" ").pop());
    const failure = Number(line("churn_pipeline_last_failure_timestamp_seconds").split(" ").pop());
    expect(failure).toBeGreaterThanOrEqual(success);
    expect(success).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  it("helm renders the dashboard ConfigMap for Grafana's sidecar only when enabled", async () => {
    const helm = join(cacheBin, "helm");
    expect(existsSync(helm), `${helm} missing: run bash test/services/install-helm.sh`).toBe(true);
    const render = async (args: string[]) =>
      parseAllDocuments(
        (
          await run(helm, ["template", "churn", chart, "--namespace", "churn", ...args], {
            maxBuffer: 1 << 24,
          })
        ).stdout,
      )
        .map((d) => d.toJSON())
        .filter(Boolean) as Array<{
        kind: string;
        metadata: { name: string; namespace?: string; labels?: Record<string, string> };
        data?: Record<string, string>;
      }>;
    const off = await render([]);
    expect(off.some((d) => d.kind === "ConfigMap" && d.metadata.labels?.grafana_dashboard)).toBe(false);
    const on = await render(["--set", "dashboards.enabled=true", "--set", "dashboards.namespace=monitoring"]);
    const configMap = on.find((d) => d.kind === "ConfigMap" && d.metadata.labels?.grafana_dashboard === "1");
    expect(configMap, 'a ConfigMap labelled grafana_dashboard: "1"').toBeDefined();
    expect(configMap!.metadata.namespace).toBe("monitoring");
    expect(JSON.parse(configMap!.data!["churn.json"]!)).toEqual(
      JSON.parse(await readFile(dashboardFile, "utf8")),
    );
    await expect(run(helm, ["template", "churn", chart, "--set", "dashboards.enabld=true"])).rejects.toThrow(
      /enabld/,
    );
  }, 60_000);
});
