import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineComponent } from "../../components/common/component/spec.js";
import type { ExitCode } from "../../components/common/errors.js";
import { stepInputObject, stepOutputObject } from "../../components/common/layout/index.js";
import { silentLogger } from "../../components/common/log.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { StepDefinition } from "../dag.js";
import type { StepExecutor } from "./executor.js";
import { pendingStep } from "./records.js";
import { ObjectHasher } from "./resolve.js";
import { RecordWriter, type RunEvent, type RunState } from "./state.js";
import { runOneStep, type StepRunContext } from "./step.js";
import { testRunRecord } from "./testing/run-record.js";

const fake = defineComponent({
  name: "fake",
  description: "",
  inputs: {},
  outputs: {},
  parameters: z.object({}),
  summary: z.unknown(),
  async run() {
    return { counts: {} };
  },
});
const step: StepDefinition = { name: "s", component: "fake", description: "", inputs: {}, retries: 0 };

/** A fake executor: exits with `code`, and on 0 writes output.json unless told not to. */
function executor(storage: Storage, code: ExitCode, writeOutput = true): StepExecutor & { runs: number } {
  const self = {
    name: "fake",
    runs: 0,
    async execute(invocation: { runId: string; step: string }) {
      self.runs++;
      if (code === 0 && writeOutput) {
        const t = new Date().toISOString();
        await storage.write(
          stepOutputObject(invocation.runId, invocation.step),
          JSON.stringify({
            version: 1,
            component: "fake",
            run: invocation.runId,
            step: invocation.step,
            outputs: {},
            counts: { rows: 5 },
            timings: { startedAt: t, finishedAt: t, seconds: 0 },
          }),
        );
      }
      return { exitCode: code, error: code === 0 ? null : "the input is bad" };
    },
  };
  return self;
}

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "step-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function setup(exec: StepExecutor, runId = "r1") {
  const record = testRunRecord({ run_id: runId, bucket: storage.uri, steps: [pendingStep(step)] });
  const state: RunState = { record, upstream: new Map(), failure: null };
  const events: RunEvent[] = [];
  const ctx: StepRunContext = {
    storage,
    executor: exec,
    runId,
    config: null,
    logger: silentLogger,
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
    writer: new RecordWriter(storage, record),
    plan: {
      storage,
      hasher: new ObjectHasher(storage),
      trigger: null,
      code: "c",
      noCache: false,
      components: async () => fake,
    },
  };
  return { state, ctx, events };
}

describe("one step", () => {
  it("writes input.json, runs, records the output and caches it; the next run of it is a hit", async () => {
    const exec = executor(storage, 0);
    const first = setup(exec);
    await runOneStep(step, first.ctx, first.state);
    expect(await storage.stat(stepInputObject("r1", "s"))).not.toBeNull();
    expect(first.state.record.steps[0]).toMatchObject({
      state: "succeeded",
      counts: { rows: 5 },
      attempts: 1,
    });
    expect(first.state.upstream.has("s")).toBe(true);
    expect(first.events.map((e) => e.type === "step" && e.state)).toEqual(["running", "succeeded"]);
    const second = setup(exec, "r2");
    await runOneStep(step, second.ctx, second.state);
    expect(exec.runs).toBe(1);
    expect(second.state.record.steps[0]?.state).toBe("cached");
    expect(second.state.record.steps[0]?.cache).toMatchObject({ hit: true, from: "r1/s" });
    expect(await storage.stat(stepOutputObject("r2", "s"))).not.toBeNull();
  });

  it("a failing executor is the run's failure, with its exit code and reason", async () => {
    const { state, ctx } = setup(executor(storage, 2));
    await runOneStep(step, ctx, state);
    expect(state.failure).toEqual({ step: "s", exitCode: 2, error: "the input is bad" });
    expect(state.record.steps[0]).toMatchObject({ state: "failed", exit_code: 2, error: "the input is bad" });
  });

  it("exit 0 without output.json fails the step (exit 1)", async () => {
    const { state, ctx } = setup(executor(storage, 0, false));
    await runOneStep(step, ctx, state);
    expect(state.failure).toMatchObject({ step: "s", exitCode: 1, error: /wrote no output\.json/ });
  });

  it("a planning error (an input that does not exist) fails the step with its exit code, never rejects", async () => {
    const { state, ctx } = setup(executor(storage, 0));
    await runOneStep({ ...step, inputs: { data: { object: "input/missing.csv" } } }, ctx, state);
    expect(state.failure?.error).toMatch(/input\/missing\.csv does not exist/);
    expect(state.failure?.exitCode).toBe(2);
  });
});
