import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stepOutputObject } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { PipelineDefinition } from "../dag.js";
import { identifyRun } from "./identify.js";
import { pendingStep, type RunRecord, readRunRecord, writeRunRecord } from "./records.js";
import { exitCodeFrom, RecordWriter, type RunState, recordFailure, resumeSteps } from "./state.js";
import { testRunRecord } from "./testing/run-record.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "state-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function record(runId: string, state: RunRecord["state"] = "running"): RunRecord {
  const steps = ["a", "b", "c"].map((name) => pendingStep({ name, component: "x" }));
  return testRunRecord({ run_id: runId, bucket: storage.uri, state, steps });
}

const step = (name: string) => ({ name, component: "x", description: "", inputs: {} });

describe("run state", () => {
  it("resume: a step with output.json is done (cached stays cached), any other is pending", async () => {
    const rec = record("r1");
    rec.steps[0]!.state = "cached";
    rec.steps[1]!.state = "running";
    rec.steps[2]!.state = "failed";
    const t = new Date().toISOString();
    const doc = {
      version: 1,
      component: "x",
      run: "r1",
      step: "a",
      outputs: {},
      counts: {},
      timings: { startedAt: t, finishedAt: t, seconds: 0 },
      warnings: [{ code: "drift", column: null, message: "it moved" }],
    };
    await storage.write(stepOutputObject("r1", "a"), JSON.stringify(doc));
    await storage.write(stepOutputObject("r1", "b"), JSON.stringify({ ...doc, step: "b", warnings: [] }));
    const upstream = await resumeSteps(storage, rec, ["a", "b", "c"].map(step));
    expect([...upstream.keys()]).toEqual(["a", "b"]);
    expect(rec.steps.map((s) => s.state)).toEqual(["cached", "succeeded", "pending"]);
    expect(rec.steps[0]!.warnings[0]).toMatchObject({ step: "a", message: "it moved" });
  });

  it("the first failure is the run's; later ones do not replace it", () => {
    const state: RunState = { record: record("r1"), upstream: new Map(), failure: null };
    recordFailure(state, { step: "a", exitCode: 2, error: "bad" });
    recordFailure(state, { step: "b", exitCode: 1, error: "later" });
    expect(state.failure).toEqual({ step: "a", exitCode: 2, error: "bad" });
  });

  it("stored exit codes map to the CLI's, anything unknown to 1", () => {
    expect([0, 1, 2, 3, 130, 7, null].map(exitCodeFrom)).toEqual([0, 1, 2, 3, 130, 1, 1]);
  });

  it("the record writer lands the newest snapshot last", async () => {
    const rec = record("r1");
    const writer = new RecordWriter(storage, rec);
    const writes: Promise<void>[] = [];
    for (const state of ["running", "interrupted", "failed"] as const) {
      rec.state = state;
      writes.push(writer.persist());
    }
    await Promise.all(writes);
    expect((await readRunRecord(storage, "r1"))?.state).toBe("failed");
  });

  it("identify: a finished newest attempt is reported, --force starts the next, an unfinished one is resumed", async () => {
    await storage.write("weekly/w1.csv", "id\n1\n");
    const pipeline: PipelineDefinition = {
      name: "weekly",
      description: "",
      trigger: { kind: "object", prefix: "weekly/" },
      steps: [],
    };
    const first = await identifyRun(storage, pipeline, {});
    expect(first.attempt).toBe(1);
    expect(first.trigger?.name).toBe("weekly/w1.csv");
    await writeRunRecord(storage, record(first.runId, "succeeded"));
    expect((await identifyRun(storage, pipeline, {})).runId).toBe(first.runId);
    const forced = await identifyRun(storage, pipeline, { force: true });
    expect(forced.attempt).toBe(2);
    expect(forced.runId).not.toBe(first.runId);
    await writeRunRecord(storage, record(forced.runId, "interrupted"));
    expect((await identifyRun(storage, pipeline, { force: true })).runId).toBe(forced.runId);
  });
});
