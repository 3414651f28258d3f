import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage } from "../components/common/storage/index.js";
import { type RunRecord, readRunRecord } from "../pipelines/runner/records.js";
import { collectPageErrors, keepScreenshot, launchBrowser } from "./support/browser.js";
import { churnBin, spawnChurn } from "./support/cli.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";

// The web console end to end: an example bucket, two real weekly runs (the
// second retrains with one more model family, so the champion has a
// predecessor to roll back to) and a failing run on a bad weekly file, all
// through the built CLI; then `churn ui` as a user starts it, driven by
// headless chromium, and the same console over the GCS emulator.
const _root = resolve(import.meta.dirname, "..");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function churn(args: string[]): Promise<Result> {
  return spawnChurn(args, { CHURN_BUCKET: "" });
}

interface Console {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Start `churn ui` on a free port and wait for its "console on <url>" line. */
async function startConsole(bucket: string, extra: string[] = []): Promise<Console> {
  const child = spawn(process.execPath, [churnBin, "ui", "--bucket", bucket, "--port", "0", ...extra], {
    env: { ...process.env, CHURN_BUCKET: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`churn ui did not start within 20 s:\n${output}`)), 20_000);
    child.stderr!.on("data", (chunk) => {
      output += chunk;
      const match = /console on (http:\/\/[^/ "]+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    });
    child.on("exit", (code) => fail(new Error(`churn ui exited with ${code}:\n${output}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

/** expect.poll with room for a loaded CI machine (vitest's default gives up after 1 s). */
function poll<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return response.json();
}

let base: string;
let bucket: string;
let good: RunRecord;
let bad: RunRecord;
let browser: Browser;
const consoles: Console[] = [];

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npx tsc -p tsconfig.build.json").toBe(true);
  base = await mkdtemp(join(tmpdir(), "console-browser-"));
  bucket = join(base, "bucket");
  const init = await churn(["init", "--bucket", bucket, "--rows", "3000", "--weekly-rows", "800"]);
  expect(init.code, init.stderr).toBe(0);
  const config = await readFile(join(bucket, "churn.yaml"), "utf8");
  // First a logistic-only champion, then a run that adds GBDT (config is a
  // training input, so it retrains) and promotes the better model.
  await writeFile(
    join(bucket, "churn.yaml"),
    config
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic]")
      .replace("min_roc_auc: 0.80", "min_roc_auc: 0.70"),
  );
  const first = await churn(["pipeline", "run", "--bucket", bucket, "--json"]);
  expect(first.code, first.stderr).toBe(0);
  await writeFile(
    join(bucket, "churn.yaml"),
    config
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]")
      .replace("min_roc_auc: 0.80", "min_roc_auc: 0.70"),
  );
  const second = await churn(["pipeline", "run", "--bucket", bucket, "--force", "--json"]);
  expect(second.code, second.stderr).toBe(0);
  // The stored run record itself (the command's --json adds what it published to it).
  good = (await readRunRecord(await openStorage(bucket), JSON.parse(second.stdout).run_id))!;

  // A weekly file whose rows are mostly bad: ingest-weekly fails the run.
  const weekly = (await readFile(join(bucket, "weekly", "2026-W48.csv"), "utf8")).trimEnd().split("\n");
  const header = weekly[0]!.split(",");
  const age = header.indexOf("Customer_Age");
  expect(age).toBeGreaterThan(0);
  const rows = weekly.slice(1, 201).map((line, i) => {
    if (i % 10 === 0) return line;
    const fields = line.split(",");
    fields[age] = "not-an-age";
    return fields.join(",");
  });
  await writeFile(join(bucket, "weekly", "2026-W49.csv"), `${weekly[0]}\n${rows.join("\n")}\n`);
  const failing = await churn([
    "pipeline",
    "run",
    "--bucket",
    bucket,
    "--weekly",
    "weekly/2026-W49.csv",
    "--json",
  ]);
  expect(failing.code, failing.stderr).toBe(2);
  bad = JSON.parse(failing.stdout);
  expect(bad.state).toBe("failed");
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(consoles.map((c) => c.stop()));
  if (base) await rm(base, { recursive: true, force: true });
});

/**
 * A page of the console, with what went wrong while it ran: console errors,
 * uncaught errors, any request beyond the console's origin (refused) and any
 * page file (/static/) that did not load. `modules` maps each JavaScript file
 * the page loaded from /static/ to its status and content type.
 */
async function open(
  path: string,
  url: string,
): Promise<{ page: Page; errors: string[]; modules: Map<string, string> }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = collectPageErrors(page);
  const modules = new Map<string, string>();
  // The console must not reach beyond its own origin.
  await page.route("**/*", (route) => {
    if (route.request().url().startsWith(`${url}/`)) return route.continue();
    errors.push(`request beyond the console's origin: ${route.request().url()}`);
    return route.abort("blockedbyclient");
  });
  page.on("requestfailed", (request) => {
    if (request.url().startsWith(`${url}/static/`))
      errors.push(`${request.url()} failed: ${request.failure()?.errorText}`);
  });
  page.on("response", (response) => {
    const at = new URL(response.url());
    if (!response.url().startsWith(`${url}/static/`)) return;
    if (response.status() >= 400) errors.push(`${at.pathname} answered ${response.status()}`);
    if (at.pathname.endsWith(".js"))
      modules.set(at.pathname, `${response.status()} ${response.headers()["content-type"] ?? ""}`);
  });
  await page.goto(`${url}/${path}`);
  return { page, errors, modules };
}

/** Every page module as the console serves it: browser/<name>.ts compiled to /static/<name>.js. */
function pageModules(): string[] {
  const source = join(_root, "serving", "console", "browser");
  return readdirSync(source, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => `/static/${name.split(sep).join("/").replace(/\.ts$/, ".js")}`)
    .sort();
}

/**
 * Text whose contrast with its background is below WCAG AA (4.5:1, or 3:1 for
 * large text), as "text (ratio)". SVG text is left out (its background is a shape).
 */
function lowContrast(page: Page): Promise<string[]> {
  // A string, so this file needs no DOM types: it runs in the page.
  return page.evaluate(`(() => {
    const parse = (c) => (c.match(/[\\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]) => {
      const f = (v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const problems = [];
    for (const el of document.querySelectorAll("body *")) {
      if (el.closest("svg") || !el.offsetParent) continue;
      const text = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent ?? "")
        .join("")
        .trim();
      if (!text) continue;
      const style = getComputedStyle(el);
      const a = luminance(parse(style.color));
      const b = luminance(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = Number.parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(text.slice(0, 40) + " (" + ratio.toFixed(2) + ")");
    }
    return problems;
  })()`);
}

describe("churn ui in a browser", () => {
  it("loads every page module, as JavaScript, and nothing from beyond its origin", async () => {
    const ui = await startConsole(bucket);
    consoles.push(ui);
    const { page, errors, modules } = await open("#/runs", ui.url);
    await page.locator(`tr[data-run="${good.run_id}"]`).waitFor();
    const expected = pageModules();
    expect(expected).toEqual(expect.arrayContaining(["/static/app.js", "/static/pages/runs.js"]));
    // The page imports the whole module graph before it draws, so every module has loaded by now.
    expect([...modules.keys()].sort()).toEqual(expected);
    for (const [module, answer] of modules) expect(answer, module).toMatch(/^200 text\/javascript/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("shows the run with every step, a step's log, and the week's report", async () => {
    const ui = consoles[0]!;
    const { page, errors } = await open("#/runs", ui.url);
    const row = page.locator(`tr[data-run="${good.run_id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("succeeded");
    await row.getByRole("link", { name: good.run_id }).click();
    await page.getByRole("heading", { name: `Run ${good.run_id}` }).waitFor();
    // Every step is in the DAG and in the table, with its state.
    for (const step of good.steps) {
      const node = page.locator(`svg.dag a[data-step="${step.name}"]`);
      expect(await node.getAttribute("aria-label"), step.name).toContain(step.state);
      expect(await page.locator(`table.steps tr[data-step="${step.name}"]`).textContent()).toContain(
        step.state,
      );
    }
    expect(await page.locator("svg.dag a[data-step]").count()).toBe(good.steps.length);
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-run");
    // The check itself catches faint text (set through the CSSOM: the page's CSP blocks style attributes).
    await page.evaluate(
      `(() => { const p = document.createElement("p"); p.textContent = "faint probe"; p.style.color = "#aaa"; document.querySelector("main").append(p); })()`,
    );
    expect(await lowContrast(page)).toEqual(["faint probe (2.32)"]);

    // Keyboard: the DAG boxes are links; open train's step page from the DAG.
    await page.locator('svg.dag a[data-step="train"]').focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Step train" }).waitFor();
    const log = page.locator("pre.log");
    await poll(() => log.textContent()).toMatch(/train \(step train, run r-[0-9a-f]{16}/);
    await page.getByRole("button", { name: "Show the full log" }).click();
    await poll(() => page.locator(".log-note").textContent()).toBe("Full log.");
    expect(await log.textContent()).toMatch(/^--- attempt 1 of step train/);
    // Log lines as text (time, level, message, fields), as `churn runs logs` prints them; not raw JSON.
    expect(await log.textContent()).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z info {2}train: (logistic|gbdt): fold 1\/5$/m,
    );
    expect(await log.textContent()).not.toMatch(/^\{"time"/m);
    expect(await page.locator("table.refs").first().textContent()).toMatch(/churn\.yaml/);
    await keepScreenshot(page, "console-step-log");

    await page.getByRole("link", { name: "Weeks" }).click();
    await page.locator('tr[data-week="2026-W48"]').getByRole("link", { name: "2026-W48" }).click();
    await page.getByRole("heading", { name: "Week 2026-W48" }).waitFor();
    expect(await page.locator("table.counts").textContent()).toMatch(/scored\s*\d+/);
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-week");
    await page.getByRole("link", { name: "Open the report" }).click();
    await page.waitForURL(/\/files\/report\.html$/);
    expect(await page.content()).toMatch(/2026-W48/);
    await keepScreenshot(page, "console-report");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("finds a customer of the newest complete week in the weeks page's box, and says why an unknown id is not found", async () => {
    const ui = consoles[0]!;
    const [header, first] = (await readFile(join(bucket, "output", "2026-W48", "scores.csv"), "utf8")).split(
      "\n",
    );
    const columns = header!.split(",");
    const fields = first!.split(",");
    const id = fields[0]!;
    const { page, errors } = await open("#/weeks", ui.url);
    await page.getByRole("heading", { name: "Find a customer" }).waitFor();
    await page.getByLabel("Customer id").fill(id);
    await page.getByRole("button", { name: "Find" }).click();
    const table = page.locator(`table.customer[data-customer="${id}"]`);
    await table.waitFor();
    const text = (await table.textContent()) ?? "";
    expect(text).toContain(`Customer ${id}, week 2026-W48`);
    expect(text).toContain(Number(fields[columns.indexOf("churn_probability")]).toFixed(3));
    expect(text).toContain(fields[columns.indexOf("risk_tier")]!);
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-find-customer");
    await page.getByLabel("Customer id").fill("no-such-customer");
    await page.getByRole("button", { name: "Find" }).click();
    await poll(() => page.locator(".customer-result .reason").textContent()).toBe(
      'no customer "no-such-customer" in week 2026-W48, the newest complete week',
    );
    // The browser logs the 404 answer itself; nothing else went wrong.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await page.close();
  });

  it("shows a failed run's failed step and its one-sentence reason", async () => {
    const ui = consoles[0]!;
    const { page, errors } = await open("#/runs", ui.url);
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    expect(await page.getByRole("main").count()).toBe(1);
    // The filter form works by its labels.
    await page.getByLabel("State").selectOption("failed");
    await page.getByLabel("Pipeline").selectOption("weekly");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/state=failed/);
    await poll(() => page.locator("tr[data-run]").count()).toBe(1);
    await page.locator(`tr[data-run="${bad.run_id}"]`).getByRole("link").click();
    const why = page.getByRole("region", { name: "Why it failed" });
    await why.waitFor();
    expect(bad.reason).toBeTruthy();
    expect(await why.locator(".reason").textContent()).toBe(bad.reason);
    expect(await why.locator("a.failed-step").textContent()).toBe("ingest-weekly");
    expect(await page.locator('svg.dag a[data-step="ingest-weekly"]').getAttribute("aria-label")).toMatch(
      /failed.*exit 2/,
    );
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-failed-run");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("refuses every change with 403 and a reason when read-only", async () => {
    const ui = consoles[0]!;
    const champion = await readFile(join(bucket, "models", "champion"), "utf8");
    for (const [method, path] of [
      ["POST", "/api/models/rollback"],
      ["POST", "/api/models/0123456789abcdef/promote"],
      ["PUT", "/api/models/rollback"],
      ["DELETE", "/api/models/rollback"],
    ] as const) {
      const response = await fetch(`${ui.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(((await response.json()) as { error: string }).error).toMatch(/read-only.*--allow-changes/);
    }
    // The page says so too, and the button does not change anything.
    const { page } = await open("#/models", ui.url);
    await page.getByText("Read-only console").waitFor();
    // aria-disabled (not disabled) keeps the button focusable, so the reason can be read out.
    await page.locator("#rollback").focus();
    await page.keyboard.press("Enter");
    await poll(() => page.locator("#notice p").textContent()).toMatch(/read-only/);
    expect(await readFile(join(bucket, "models", "champion"), "utf8")).toBe(champion);
    await page.close();
  });

  it("shows the champion's page with its evaluation charts", async () => {
    const ui = consoles[0]!;
    const { version } = JSON.parse(await readFile(join(bucket, "models", "champion"), "utf8")) as {
      version: string;
    };
    const { page, errors } = await open(`#/models/${version}`, ui.url);
    await page.getByRole("heading", { name: `Model ${version}` }).waitFor();
    // Cross-validated ROC-AUC, lift, calibration and drivers: the report of the run that trained it.
    const charts = page.locator("figure.chart-wrap figcaption");
    expect(await charts.allTextContents()).toEqual([
      "Cross-validated ROC-AUC by model family",
      "Lift by score decile (held-out rows)",
      "Calibration on held-out rows (the diagonal is perfect)",
      "Strongest drivers (mean absolute contribution)",
    ]);
    expect(await page.locator("dl.facts").textContent()).toMatch(/Held-out\d+ rows, PR-AUC 0\.\d{3}/);
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-model");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("rolls the champion back through the page with --allow-changes", async () => {
    const storage = await openStorage(bucket);
    const before = JSON.parse(await storage.readText("models/champion")) as {
      version: string;
      previous: string[];
    };
    expect(before.previous.length).toBeGreaterThan(0);
    const ui = await startConsole(bucket, ["--allow-changes"]);
    consoles.push(ui);
    const { page, errors } = await open("#/models", ui.url);
    await page.locator("#champion-version").waitFor();
    expect(await page.locator("#champion-version").textContent()).toBe(before.version);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.locator("#rollback").click();
    await poll(() => page.locator("#notice p").textContent()).toBe(`Champion is now ${before.previous[0]}.`);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toMatch(new RegExp(`Roll back from ${before.version} to ${before.previous[0]}`));
    const after = JSON.parse(await storage.readText("models/champion")) as {
      version: string;
      reason: string;
    };
    expect(after.version).toBe(before.previous[0]);
    expect(after.reason).toBe("rolled back in the console");
    await poll(() => page.locator("#champion-version").textContent()).toBe(before.previous[0]);
    expect(await lowContrast(page)).toEqual([]);
    await keepScreenshot(page, "console-models-after-rollback");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("churn ui over the GCS emulator", () => {
  let emulator: GcsEmulator;
  beforeAll(async () => {
    emulator = await startGcsEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it("answers the same API JSON as over the local folder", async () => {
    const local = await openStorage(bucket);
    const remote = await openStorage(`gs://${emulator.bucket}`);
    for (const object of await local.list("")) {
      await remote.write(object.name, await local.readBytes(object.name, { gunzip: false }), {
        metadata: object.metadata,
        gzip: false,
      });
    }
    // A copy gives every object a new generation: re-point each manifest at the copies, as
    // a publish into this bucket would have written it, so the weeks compare as published.
    for (const object of await remote.list("output/")) {
      if (!object.name.endsWith("/_SUCCESS")) continue;
      const folder = object.name.slice(0, -"_SUCCESS".length);
      const manifest = JSON.parse(await remote.readText(object.name)) as {
        files: Array<{ name: string; generation: string }>;
      };
      for (const file of manifest.files)
        file.generation = (await remote.stat(`${folder}${file.name}`))!.generation;
      await remote.write(object.name, `${JSON.stringify(manifest, null, 2)}\n`, {
        metadata: object.metadata,
      });
    }
    const fileUi = consoles[0]!;
    const gcsUi = await startConsole(`gs://${emulator.bucket}`);
    consoles.push(gcsUi);
    // Object timestamps are upload times, which a copy cannot keep; everything else must match.
    // So are generations, which the manifest (_SUCCESS) lists: its size differs by store.
    const normalise = (value: unknown): unknown =>
      JSON.parse(JSON.stringify(value), (key, v) => {
        if (key === "updated" || key === "created") return undefined;
        if (v && typeof v === "object" && (v as { name?: unknown }).name === "_SUCCESS")
          return { ...v, size: "(store-specific)" };
        return v;
      });
    const paths = [
      "/api/runs",
      `/api/runs/${good.run_id}`,
      `/api/runs/${bad.run_id}`,
      "/api/models",
      "/api/weeks",
      "/api/weeks/2026-W48",
    ];
    // Bundles are listed in upload order, which the copy does not keep either.
    const byVersion = (value: unknown) => {
      const v = value as { models?: Array<{ version: string }> };
      v.models?.sort((a, b) => a.version.localeCompare(b.version));
      return v;
    };
    for (const path of paths) {
      const fromFile = byVersion(normalise(await getJson(`${fileUi.url}${path}`)));
      const fromGcs = byVersion(normalise(await getJson(`${gcsUi.url}${path}`)));
      expect(fromGcs, path).toEqual(fromFile);
    }
    const log = `/api/runs/${good.run_id}/steps/train/log`;
    expect(await (await fetch(`${gcsUi.url}${log}`)).text()).toBe(
      await (await fetch(`${fileUi.url}${log}`)).text(),
    );
    expect(((await getJson(`${gcsUi.url}/api/status`)) as { bucket: string }).bucket).toBe(
      `gs://${emulator.bucket}`,
    );
    const { page, errors } = await open(`#/runs/${good.run_id}`, gcsUi.url);
    await page.getByRole("heading", { name: `Run ${good.run_id}` }).waitFor();
    expect(await page.locator("svg.dag a[data-step]").count()).toBe(good.steps.length);
    await keepScreenshot(page, "console-run-gcs");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("a run in progress", () => {
  it("updates the run page live until the run finishes", async () => {
    const ui = consoles[0]!;
    const runId = "r-aaaaaaaaaaaaaaaa";
    const at = good.steps.findIndex((s) => s.name === "train");
    const running: RunRecord = {
      ...good,
      run_id: runId,
      state: "running",
      exit_code: null,
      reason: null,
      finished: null,
      seconds: null,
      started: new Date().toISOString(),
      steps: good.steps.map((s, i) =>
        i < at
          ? s
          : i === at
            ? { ...s, state: "running", exit_code: null, finished: null, seconds: null }
            : { ...s, state: "pending", exit_code: null, started: null, finished: null, seconds: null },
      ),
    };
    const storage = await openStorage(bucket);
    const write = (record: RunRecord) => storage.write(`runs/${runId}/run.json`, JSON.stringify(record));
    // A running run has a runner holding its lease (without one, it is shown interrupted).
    const now = Date.now();
    await storage.write(
      `runs/${runId}/lease`,
      JSON.stringify({ holder: "test/1/x", acquired: now, expires: now + 600_000 }),
    );
    await write(running);
    const { page, errors } = await open(`#/runs/${runId}`, ui.url);
    const train = page.locator('svg.dag a[data-step="train"]');
    await poll(() => train.getAttribute("aria-label")).toMatch(/^train: running/);
    expect(await page.locator('svg.dag a[data-step="publish"]').getAttribute("aria-label")).toMatch(
      /pending/,
    );
    await keepScreenshot(page, "console-run-live");
    await write({ ...good, run_id: runId });
    // No reload: the page polls while the run is going.
    await poll(() => train.getAttribute("aria-label")).toMatch(/^train: succeeded/);
    expect(await page.locator("dl.facts .badge").first().textContent()).toBe("succeeded");
    expect(errors).toEqual([]);
    await page.close();
    await storage.deletePrefix(`runs/${runId}/`);
  });
});
