import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OUTPUT_FILES } from "../../components/common/layout/index.js";
import { silentLogger } from "../../components/common/log.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { finishInterrupted, finishRun, notificationFor } from "./finaliser.js";
import { pendingStep, type RunRecord, readRunRecord } from "./records.js";
import { RecordWriter, type RunState } from "./state.js";
import { testRunRecord } from "./testing/run-record.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "finaliser-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function record(states: RunRecord["steps"][number]["state"][]): RunRecord {
  return testRunRecord({
    run_id: "weekly-1",
    bucket: storage.uri,
    trigger: { object: "weekly/w1.csv", generation: "1" },
    started: new Date().toISOString(),
    output_prefix: "output/w1/",
    steps: states.map((state, i) => ({ ...pendingStep({ name: `s${i}`, component: "x" }), state })),
  });
}

const finish = (state: RunState) =>
  finishRun(state, {
    storage,
    writer: new RecordWriter(storage, state.record),
    startedMs: Date.now(),
    logger: silentLogger,
    env: {},
  });

describe("finaliser", () => {
  it("a failure skips the steps never started, writes _FAILED with the reason and the record", async () => {
    const state: RunState = {
      record: record(["succeeded", "failed", "pending"]),
      upstream: new Map(),
      failure: { step: "s1", exitCode: 2, error: "weekly/w1.csv line 3: bad" },
    };
    await finish(state);
    const stored = await readRunRecord(storage, "weekly-1");
    expect(stored?.state).toBe("failed");
    expect(stored?.exit_code).toBe(2);
    expect(stored?.steps.map((s) => s.state)).toEqual(["succeeded", "failed", "skipped"]);
    expect(await storage.readText(`output/w1/${OUTPUT_FILES.failed}`)).toBe(
      "step s1 failed: weekly/w1.csv line 3: bad\n",
    );
    expect(notificationFor(state)).toMatchObject({ event: "failed", step: "s1", exit_code: 2 });
  });

  it("success writes no _FAILED and notifies what was published", async () => {
    const state: RunState = { record: record(["succeeded", "cached"]), upstream: new Map(), failure: null };
    await finish(state);
    expect(state.record).toMatchObject({ state: "succeeded", exit_code: 0, reason: null });
    expect(state.record.seconds).not.toBeNull();
    expect(await storage.stat(`output/w1/${OUTPUT_FILES.failed}`)).toBeNull();
    expect(notificationFor(state)).toMatchObject({ event: "published", model_version: null });
  });

  it("an interruption makes running and failed steps pending again, exit 130", async () => {
    const rec = record(["succeeded", "running", "failed", "pending"]);
    await finishInterrupted(rec, new RecordWriter(storage, rec));
    const stored = await readRunRecord(storage, "weekly-1");
    expect(stored?.state).toBe("interrupted");
    expect(stored?.exit_code).toBe(130);
    expect(stored?.steps.map((s) => s.state)).toEqual(["succeeded", "pending", "pending", "pending"]);
  });
});
