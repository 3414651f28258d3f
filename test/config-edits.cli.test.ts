/**
 * Config edits through the built CLI (issue 18 item 10): a step's cache key
 * counts the churn.yaml sections it reads, not the file's bytes. On a small
 * `churn init` bucket, each edit is followed by `churn pipeline run --force`
 * (a new attempt of the same week) and the run record says which steps ran
 * and which were served from the cache.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunRecord } from "../pipelines/runner/records.js";
import { churnBin, spawnChurn } from "./support/cli.js";

let dir: string;
const yaml = () => join(dir, "churn.yaml");

/** Run the weekly pipeline again (a new attempt) and return each step's state in its record. */
async function rerun(): Promise<Record<string, string>> {
  const run = await spawnChurn(["pipeline", "run", "--bucket", dir, "--force", "--json"]);
  expect(run.code, run.stderr).toBe(0);
  const { run_id: runId } = JSON.parse(run.stdout) as { run_id: string };
  const record = parseRunRecord(await readFile(join(dir, "runs", runId, "run.json"), "utf8"), runId);
  return Object.fromEntries(record.steps.map((s) => [s.name, s.state]));
}

async function edit(change: (text: string) => string): Promise<void> {
  const before = await readFile(yaml(), "utf8");
  const after = change(before);
  expect(after, "the edit changed nothing").not.toBe(before);
  await writeFile(yaml(), after);
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "config-edits-"));
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "600"]);
  expect(init.code, init.stderr).toBe(0);
  await edit((t) => t.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"));
  const first = await spawnChurn(["pipeline", "run", "--bucket", dir]);
  expect(first.code, first.stderr).toBe(0);
}, 300_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("editing churn.yaml", () => {
  it("a comment reuses every cached step, training included", async () => {
    await edit((t) => `# edited by the weekly owner\n${t}`);
    const steps = await rerun();
    expect(steps.train).toBe("cached");
    expect(steps["ingest-history"]).toBe("cached");
    expect(steps["contact-list"]).toBe("cached");
  }, 240_000);

  it("a campaign change reruns the contact list and reuses training", async () => {
    await edit((t) => t.replace(/budget_contacts: \d+/, "budget_contacts: 17"));
    const steps = await rerun();
    expect(steps.train).toBe("cached");
    expect(steps["contact-list"]).toBe("succeeded");
    const list = await readFile(join(dir, "output/2026-W48/contact-list.csv"), "utf8");
    expect(
      list
        .trimEnd()
        .split("\n")
        .filter((l) => /,contact,/.test(l)),
    ).toHaveLength(17);
  }, 240_000);

  it("a passthrough change that leaves the training features alone reruns the outputs and never retrains", async () => {
    // Passthrough columns are never features (DESIGN), so the order they are copied in is output-only.
    await edit((t) =>
      t.replace(
        "passthrough: [Card_Category, Income_Category]",
        "passthrough: [Income_Category, Card_Category]",
      ),
    );
    const steps = await rerun();
    expect(steps.train).toBe("cached");
    expect(steps.score).toBe("succeeded");
    const scores = await readFile(join(dir, "output/2026-W48/scores.csv"), "utf8");
    expect(scores.slice(0, scores.indexOf("\n"))).toMatch(/,model_version,Income_Category,Card_Category$/);
  }, 240_000);

  it("a train change retrains", async () => {
    await edit((t) => t.replace(/seed: \d+/, "seed: 12345"));
    const steps = await rerun();
    expect(steps.train).toBe("succeeded");
  }, 300_000);
});
