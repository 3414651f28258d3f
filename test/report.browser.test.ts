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

/**
 * Run in the page (a string: the test is compiled without DOM types): every
 * layout problem a reader would see, in words. Nothing wider than the
 * viewport; every SVG text inside its chart; no text wider than its box.
 */
const LAYOUT_PROBLEMS = `(() => {
  const inside = (r, outer) => r.left >= outer.left - 1 && r.right <= outer.right + 1;
  const viewport = { left: 0, right: window.innerWidth };
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth)
    problems.push("page scrolls sideways: " + document.documentElement.scrollWidth + " px");
  for (const table of document.querySelectorAll("table"))
    if (table.getClientRects().length && !inside(table.getBoundingClientRect(), viewport))
      problems.push("table " + (table.id || table.className) + " outside the viewport");
  for (const svg of document.querySelectorAll("figure svg")) {
    const box = svg.getBoundingClientRect();
    const name = svg.closest("figure").getAttribute("data-chart");
    if (!inside(box, viewport)) problems.push("chart " + name + " outside the viewport");
    for (const text of svg.querySelectorAll("text")) {
      const r = text.getBoundingClientRect();
      if (!inside(r, box) || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        problems.push("chart " + name + ": text " + JSON.stringify(text.textContent) + " outside the chart");
    }
  }
  for (const el of document.querySelectorAll("main p, main td, main th, main li, main h1, main h2, main h3, main figcaption"))
    if (el.getClientRects().length && el.scrollWidth > el.clientWidth + 1)
      problems.push(el.tagName.toLowerCase() + " " + JSON.stringify((el.textContent || "").slice(0, 40)) + " overflows its box");
  return problems;
})()`;

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

  // The campaign page on a phone and on a desktop: nothing wider than the
  // viewport, no text outside its box (SVG text outside its chart, a cell's
  // text cut by its cell), the contact table first, and still no scripts.
  it.each([420, 1280])(
    "fits a %i px wide viewport: contact table and charts inside, no text overflowing",
    async (width) => {
      const file = join(dir, "output/2026-W49/report.html");
      const url = pathToFileURL(file).href;
      const page = await browser!.newPage({ viewport: { width, height: 900 } });
      const errors = collectPageErrors(page);
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(url, { waitUntil: "load" });
      expect(await page.locator("script").count()).toBe(0);
      expect(await page.locator('meta[name="viewport"]').count()).toBe(1);
      expect(await page.locator("#generated").textContent()).toMatch(
        /Made \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/,
      );

      // The first section after the warnings: whom to contact, the top 20 of the list with reasons.
      const firstSection = await page
        .locator("h2")
        .evaluateAll((hs) => hs.filter((h) => !h.closest("#warnings")).map((h) => h.id));
      expect(firstSection[0]).toBe("campaign");
      const contacts = page.locator("#contacts tbody tr");
      expect(await contacts.count()).toBe(20);
      expect(await page.locator("#contacts ul.reasons li").count()).toBeGreaterThan(20);
      expect(await page.locator('a[href="contact-list.csv"]').count()).toBe(1);
      expect(await page.locator('a[href="scores.csv"]').count()).toBe(1);
      // Week 48's outcomes arrived, so the campaign's result is shown.
      expect(await page.locator("#campaign-effect tbody tr").count()).toBeGreaterThanOrEqual(1);

      const layout = (await page.evaluate(LAYOUT_PROBLEMS)) as string[];
      expect(layout).toEqual([]);
      await keepScreenshot(page, `report-2026-W49-${width}px`);
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
      await page.close();
    },
    60_000,
  );

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
