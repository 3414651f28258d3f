/**
 * The gate's decision as every surface says it (issue 18 item 9), through the
 * built CLI: a re-run whose candidate is the champion itself (with the cache,
 * and with --no-cache) never repeats the first run's "there was no champion"
 * in its closing lines, summary.json, report.html or `churn train`; one rule
 * (decisionLine, components/common/documents/decision.ts) says it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn, useQuickModels } from "./support/cli.js";

let bucket: string;
let champion: string;
const WEEK = "output/2026-W48";
const run = (args: string[]) => spawnChurn([...args, "--bucket", bucket]);
const closingLine = (stdout: string) => stdout.split("\n").find((l) => l.startsWith("model: "));
const published = async () => ({
  summary: JSON.parse(await readFile(join(bucket, WEEK, "summary.json"), "utf8")) as {
    model_decision: string;
  },
  report: await readFile(join(bucket, WEEK, "report.html"), "utf8"),
});
const itself = () =>
  `champion ${champion} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  bucket = await mkdtemp(join(tmpdir(), "decision-text-"));
  expect((await spawnChurn(["init", "--bucket", bucket, "--rows", "400", "--weekly-rows", "50"])).code).toBe(
    0,
  );
  await useQuickModels(bucket);
}, 60_000);
afterAll(() => rm(bucket, { recursive: true, force: true }));

describe("the decision on a first run and its re-runs", () => {
  it("a first run: there was no champion, everywhere", async () => {
    const first = await run(["pipeline", "run"]);
    expect(first.code, first.stderr).toBe(0);
    expect(closingLine(first.stdout)).toMatch(/^model: logistic .*promoted: .* and there was no champion\.$/);
    const { summary, report } = await published();
    expect(`model: ${summary.model_decision}`).toBe(closingLine(first.stdout));
    expect(report).toContain("the first one for this bucket");
    const models = JSON.parse((await run(["models", "list", "--json"])).stdout);
    champion = models.champion.version;
  }, 180_000);

  it.each([
    ["with the cache", ["--force"]],
    ["with --no-cache", ["--force", "--no-cache"]],
  ])(
    "a re-run %s: the champion stays as itself in the closing lines, summary.json and report",
    async (_label, flags) => {
      const again = await run(["pipeline", "run", ...flags]);
      expect(again.code, again.stderr).toBe(0);
      expect(closingLine(again.stdout)).toBe(`model: ${itself()}`);
      const { summary, report } = await published();
      expect(summary.model_decision).toBe(itself());
      expect(report).toContain("gave that very model again");
      expect(report).not.toContain("the first one for this bucket");
      for (const text of [again.stdout, summary.model_decision, report]) {
        expect(text).not.toContain("there was no champion");
        expect(text).not.toMatch(/champion champion/i);
      }
    },
    180_000,
  );

  it("churn train on unchanged data says the same sentence", async () => {
    const trained = await run(["train", "--force", "--no-cache"]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toContain(itself());
    expect(trained.stdout).not.toContain("there was no champion");
  }, 180_000);
});
