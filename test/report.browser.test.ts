import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../cli/main.js";
import type { DriftReport } from "../components/common/monitoring/drift.js";
import { collectPageErrors, keepScreenshot, launchBrowser } from "./support/browser.js";

// The report as a marketer sees it: two real weekly runs (the second after
// outcomes of the first week arrived, so past performance has data), then
// output/<stem>/report.html opened from disk in Debian's headless chromium.
const root = resolve(import.meta.dirname, "..");
const CHARTS = [
  "tiers",
  "score-distribution",
  "drivers",
  "reasons",
  "quality",
  "drift",
  "roc",
  "pr",
  "calibration",
  "gains",
  "realised",
];

let dir: string;
let browser: Browser | undefined;

async function churn(args: string[]): Promise<string> {
  const result = await runInProcess([...args, "--bucket", dir], root, {
    ...process.env,
    CHURN_BUCKET: "",
    CHURN_PUSHGATEWAY_URL: "",
  });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  expect(existsSync(join(root, "dist", "cli", "bin.js")), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "report-browser-"));
  await churn(["init", "--rows", "3000", "--weekly-rows", "800"]);
  const configPath = join(dir, "churn.yaml");
  const config = await readFile(configPath, "utf8");
  await writeFile(
    configPath,
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
  await churn(["pipeline", "run", "--json"]);
  // Outcomes of week 48 (churned where the model said likely), then week 49 reads them.
  const scores = (await readFile(join(dir, "output/2026-W48/scores.csv"), "utf8")).trimEnd().split("\n");
  const pCol = scores[0]!.split(",").indexOf("churn_probability");
  const labels = scores.slice(1).map((line, i) => {
    const fields = line.split(",");
    // Mostly the model's call, with every 7th row flipped so the metrics are not perfect.
    const churned = Number(fields[pCol]) >= 0.5 !== (i % 7 === 0);
    return `${fields[0]},${churned ? 1 : 0}`;
  });
  await mkdir(join(dir, "labels"), { recursive: true });
  await writeFile(join(dir, "labels/2026-W48.csv"), `CLIENTNUM,churned\n${labels.join("\n")}\n`);
  await writeFile(join(dir, "weekly/2026-W49.csv"), await readFile(join(dir, "weekly/2026-W48.csv")));
  await churn(["pipeline", "run", "--weekly", "weekly/2026-W49.csv", "--json"]);
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("report.html in a real browser", () => {
  it("renders every chart with no console error and no request beyond the file itself", async () => {
    const file = join(dir, "output/2026-W49/report.html");
    const url = pathToFileURL(file).href;
    const page = await browser!.newPage({ viewport: { width: 900, height: 1200 } });
    const errors = collectPageErrors(page);
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(url, { waitUntil: "load" });

    for (const name of CHARTS) {
      const figure = page.locator(`figure[data-chart="${name}"]`);
      expect(await figure.count(), `chart ${name}`).toBe(1);
      const svg = figure.locator("svg");
      // Drawn marks, not an empty frame: bars, lines or dots inside the SVG.
      expect(await svg.locator("rect, polyline, circle").count(), `marks of ${name}`).toBeGreaterThan(0);
      const box = await svg.boundingBox();
      expect(box, `${name} has a layout box`).not.toBeNull();
      expect(box!.width, `${name} width`).toBeGreaterThan(50);
      expect(box!.height, `${name} height`).toBeGreaterThan(20);
      const caption = ((await figure.locator("figcaption").textContent()) ?? "").trim();
      expect(caption.length, `${name} explained in words`).toBeGreaterThan(40);
    }
    // Charts the page has but this test does not know about would go unchecked.
    const names = await page
      .locator("figure[data-chart]")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-chart")));
    expect(names.sort()).toEqual([...CHARTS].sort());
    expect(await page.locator("h1").textContent()).toContain("2026-W49");
    expect(await page.locator("#realised").count()).toBe(1);
    expect(await page.locator("body").textContent()).toContain("2026-W48");

    const shot = await keepScreenshot(page, "report-2026-W49");
    expect(existsSync(shot)).toBe(true);
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  }, 60_000);

  it("publishes a valid drift.json beside the report", async () => {
    const drift = JSON.parse(await readFile(join(dir, "output/2026-W49/drift.json"), "utf8")) as DriftReport;
    expect(drift.bands).toEqual({ moderate: 0.1, significant: 0.25 });
    expect(drift.features.length).toBeGreaterThan(10);
    for (const f of drift.features) {
      expect(Number.isFinite(f.psi), f.column).toBe(true);
      expect(["stable", "moderate", "significant"]).toContain(f.band);
    }
    expect(drift.max_feature_psi).toBe(Math.max(...drift.features.map((f) => f.psi)));
    expect(drift.score?.bins.length).toBeGreaterThan(1);
  });
});
