import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Bundle, promote, writeBundle } from "../../components/common/bundle/index.js";
import type { DecisionDocument } from "../../components/common/documents/decision.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { pendingStep, type RunRecord, type StepRecord } from "../runner/records.js";
import { runDecisionLine } from "./models.js";

// The run's closing "model: ..." line (issue 18 item 9): never a stale
// decision. The rule itself is decisionLine's (components/common/documents/
// decision.test.ts); the self-champion case runs through the built CLI in
// test/models-compare.cli.test.ts; these are the cases around it.

let dir: string;
let storage: Storage;
let champion: string;

const bundle = (rocAuc: number): Bundle => ({
  format: BUNDLE_FORMAT,
  schema: {},
  transform: {},
  model: { family: "logistic" },
  calibration: null,
  tiers: { high: 0.6, medium: 0.3 },
  metrics: { roc_auc: rocAuc },
  training: { training_rows: 100 },
});

function decision(candidate: string, championVersion: string | null, reason: string): DecisionDocument {
  return {
    action: "promote",
    promoted: true,
    reason,
    candidate: { name: "logistic (held-out)", rocAuc: 0.8 },
    champion: championVersion ? { name: `champion ${championVersion}`, rocAuc: 0.7 } : null,
    minRocAuc: 0.5,
    candidate_version: candidate,
    champion_version: championVersion,
    holdout_rows: 80,
  };
}

async function run(runId: string, evaluate: Partial<StepRecord>, doc: DecisionDocument): Promise<RunRecord> {
  const object = `runs/${runId}/steps/evaluate/decision.json`;
  await storage.write(object, JSON.stringify(doc));
  return {
    version: 1,
    run_id: runId,
    pipeline: "weekly",
    bucket: storage.uri,
    runner: "local",
    trigger: { object: "weekly/2026-W01.csv", generation: "1" },
    attempt: 1,
    state: "succeeded",
    exit_code: 0,
    reason: null,
    started: "2099-01-05T10:00:00.000Z",
    finished: "2099-01-05T10:00:09.000Z",
    seconds: 9,
    code_version: "sha256:test",
    output_prefix: "output/2026-W01/",
    steps: [
      {
        ...pendingStep({ name: "evaluate", component: "evaluate" }),
        state: "succeeded",
        outputs: { decision: { object, sha256: "ab".repeat(32) } },
        ...evaluate,
      },
    ],
  } as RunRecord;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "decision-line-"));
  storage = await openStorage(dir);
  champion = (await writeBundle(storage, bundle(0.7))).version;
  await promote(storage, champion, "first");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runDecisionLine", () => {
  it("shows a fresh decision as the gate wrote it", async () => {
    const record = await run(
      "r-1111111111111111",
      {},
      decision("c".repeat(16), champion, "logistic promoted: better."),
    );
    expect(await runDecisionLine(storage, record)).toBe("model: logistic promoted: better.");
  });

  it("names the run that decided when evaluate was a cache hit", async () => {
    const record = await run(
      "r-2222222222222222",
      { state: "cached", cache: { key: "k", hit: true, from: "r-0123456789abcdef/evaluate" } },
      decision("c".repeat(16), champion, "logistic promoted: better."),
    );
    expect(await runDecisionLine(storage, record)).toBe(
      "model: logistic promoted: better. (decided by run r-0123456789abcdef; this run reused its evaluate step)",
    );
  });

  it("says what promote said in this run (decisionLine), not the stored 'there was no champion'", async () => {
    const record = await run(
      "r-3333333333333333",
      {},
      decision(
        champion,
        null,
        "logistic promoted: ROC-AUC 0.8000 reaches the gate's 0.5 and there was no champion.",
      ),
    );
    const object = "runs/r-3333333333333333/steps/promote/promotion.json";
    const said = `champion ${champion} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`;
    await storage.write(
      object,
      JSON.stringify({ version: champion, decision: { outcome: "itself", text: said, decided_by: null } }),
    );
    record.steps.push({
      ...pendingStep({ name: "promote", component: "promote" }),
      state: "succeeded",
      outputs: { promotion: { object, sha256: "cd".repeat(32) } },
    });
    expect(await runDecisionLine(storage, record)).toBe(`model: ${said}`);
  });

  it("keeps 'there was no champion' for another candidate on a bucket whose champion came later", async () => {
    const record = await run(
      "r-4444444444444444",
      { state: "cached", cache: { key: "k", hit: true, from: "r-0123456789abcdef/evaluate" } },
      decision("d".repeat(16), null, "logistic promoted: there was no champion."),
    );
    expect(await runDecisionLine(storage, record)).toMatch(
      /^model: logistic promoted: there was no champion\. \(decided by run r-0123456789abcdef/,
    );
    const failed = { ...record, steps: [{ ...record.steps[0]!, state: "failed" as const }] };
    expect(await runDecisionLine(storage, failed)).toBeNull();
  });
});
