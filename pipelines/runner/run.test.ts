import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Component, defineComponent } from "../../components/common/component/spec.js";
import { InputError, TransientError } from "../../components/common/errors.js";
import { leaseObject, weekOutputPrefix } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { PipelineDefinition } from "../dag.js";
import { getRun, listRuns } from "../query/runs.js";
import { InProcessExecutor } from "./executor.js";
import { type RunRecord, writeRunRecord } from "./records.js";
import { bypassReasons, runPipeline } from "./run.js";

// Two tiny components: "upper" reads the trigger file and upper-cases it;
// "count" counts its characters, and can be told to fail or to interrupt.
const executions: string[] = [];
const behaviour: { count: "ok" | "bad-input" | "flaky" | "interrupt" } = { count: "ok" };
let flakes = 0;
let interrupt: AbortController | null = null;

async function text(iter: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of iter) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

const upper = defineComponent({
  name: "test-upper",
  description: "upper-case",
  inputs: { data: { type: "csv", description: "in" } },
  outputs: { out: { type: "csv", file: "out.txt", description: "out" } },
  parameters: z.object({}).passthrough(),
  summary: z.unknown(),
  async run(ctx) {
    executions.push(`upper:${ctx.run}`);
    const value = await text(ctx.openInput(ctx.inputs.data![0]!));
    await ctx.writeOutput("out", value.toUpperCase());
    return { counts: { chars: value.length } };
  },
});
const count = defineComponent({
  name: "test-count",
  description: "count",
  inputs: { data: { type: "csv", description: "in" } },
  outputs: { out: { type: "json", file: "count.json", description: "out" } },
  parameters: z.object({}).passthrough(),
  summary: z.unknown(),
  async run(ctx) {
    executions.push(`count:${ctx.run}`);
    if (behaviour.count === "bad-input")
      throw new InputError("weekly/w1.csv line 3, column age: not a number");
    if (behaviour.count === "flaky" && flakes++ < 1) throw new TransientError("storage hiccup");
    if (behaviour.count === "interrupt") {
      interrupt?.abort();
      throw new TransientError("interrupted");
    }
    const value = await text(ctx.openInput(ctx.inputs.data![0]!));
    await ctx.writeOutput("out", JSON.stringify({ n: value.length }));
    return { counts: { n: value.length } };
  },
});

const pipeline: PipelineDefinition = {
  name: "weekly",
  description: "test",
  trigger: { kind: "object", prefix: "weekly/" },
  output: weekOutputPrefix,
  steps: [
    { name: "upper", component: "test-upper", description: "", inputs: { data: { trigger: true } } },
    {
      name: "count",
      component: "test-count",
      description: "",
      inputs: { data: { step: "upper", output: "out" } },
      retries: 1,
    },
  ],
};

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "runner-"));
  storage = await openStorage(dir);
  await storage.write("weekly/w1.csv", "id\n1\n2\n");
  executions.length = 0;
  behaviour.count = "ok";
  flakes = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = (extra: Partial<Parameters<typeof runPipeline>[0]> = {}) =>
  runPipeline({
    storage,
    pipeline,
    executor: new InProcessExecutor(storage, components),
    components,
    leaseTtlMs: 2000,
    ...extra,
  });

/**
 * What a SIGKILLed runner leaves: the record it wrote when the step started
 * (state running) and its lease, which nobody renews any more.
 */
async function killedAttempt(extra: Partial<Parameters<typeof runPipeline>[0]> = {}): Promise<RunRecord> {
  behaviour.count = "interrupt";
  interrupt = new AbortController();
  const result = await run({ ...extra, signal: interrupt.signal });
  behaviour.count = "ok";
  const record = { ...result.record, state: "running" as const, exit_code: null, reason: null };
  await writeRunRecord(storage, record);
  await writeLease(record.run_id, Date.now() - 1);
  return record;
}

async function writeLease(runId: string, expires: number): Promise<void> {
  await storage.write(
    leaseObject(runId),
    JSON.stringify({ holder: "dead/1/x", acquired: expires - 2000, expires }),
  );
}

async function states(): Promise<Record<string, string>> {
  return Object.fromEntries((await listRuns(storage)).map((r) => [r.run_id, r.state]));
}

describe("local runner", () => {
  it("runs every step, records them, and a second invocation does nothing", async () => {
    const first = await run();
    expect(first.exitCode).toBe(0);
    expect(first.record.steps.map((s) => [s.name, s.state])).toEqual([
      ["upper", "succeeded"],
      ["count", "succeeded"],
    ]);
    expect(first.record.steps[0]!.inputs.data![0]!.object).toBe("weekly/w1.csv");
    expect(executions).toHaveLength(2);
    const again = await run();
    expect(again).toMatchObject({ reused: true, exitCode: 0 });
    expect(again.record.run_id).toBe(first.record.run_id);
    expect(executions).toHaveLength(2);
  });

  it("--force starts a new attempt that reuses the cache; --no-cache recomputes", async () => {
    const first = await run();
    const forced = await run({ force: true });
    expect(forced.record.run_id).toBe(`${first.record.run_id}-a2`);
    expect(forced.record.steps.map((s) => s.state)).toEqual(["cached", "cached"]);
    expect(forced.record.steps[0]!.cache).toMatchObject({ hit: true, from: `${first.record.run_id}/upper` });
    expect(executions).toHaveLength(2);
    const recomputed = await run({ force: true, noCache: true });
    expect(recomputed.record.run_id).toBe(`${first.record.run_id}-a3`);
    expect(recomputed.record.steps.map((s) => s.state)).toEqual(["succeeded", "succeeded"]);
    expect(executions).toHaveLength(4);
  });

  it("a changed byte in the trigger is a new run with no cache hit", async () => {
    const first = await run();
    await storage.write("weekly/w1.csv", "id\n1\n3\n");
    const second = await run();
    expect(second.record.run_id).not.toBe(first.record.run_id);
    expect(second.record.steps.map((s) => s.state)).toEqual(["succeeded", "succeeded"]);
  });

  it("bad input fails at once (no retry), writes _FAILED with one sentence and exits 2", async () => {
    behaviour.count = "bad-input";
    const result = await run();
    expect(result.exitCode).toBe(2);
    const step = result.record.steps.find((s) => s.name === "count")!;
    expect(step).toMatchObject({ state: "failed", attempts: 1, exit_code: 2 });
    expect(await storage.readText("output/w1/_FAILED")).toBe(
      "step count failed: weekly/w1.csv line 3, column age: not a number\n",
    );
    expect(await storage.readText(step.log!)).toContain("column age");
  });

  it("retries a transient failure", async () => {
    behaviour.count = "flaky";
    const result = await run();
    expect(result.exitCode).toBe(0);
    expect(result.record.steps.find((s) => s.name === "count")).toMatchObject({
      state: "succeeded",
      attempts: 2,
    });
  });

  it("Ctrl-C records the run interrupted (exit 130), and the next invocation resumes it", async () => {
    behaviour.count = "interrupt";
    interrupt = new AbortController();
    const interrupted = await run({ signal: interrupt.signal });
    expect(interrupted.exitCode).toBe(130);
    expect(interrupted.record).toMatchObject({ state: "interrupted", exit_code: 130, finished: null });
    expect(interrupted.record.reason).toContain("run the same command again to resume");
    expect((await getRun(storage, interrupted.record.run_id)).state).toBe("interrupted");
    expect(await storage.stat(leaseObject(interrupted.record.run_id))).toBeNull();
    behaviour.count = "ok";
    const resumed = await run();
    expect(resumed.exitCode).toBe(0);
    expect(resumed.reused).toBe(false);
    expect(resumed.record).toMatchObject({
      run_id: interrupted.record.run_id,
      state: "succeeded",
      reason: null,
    });
    expect(executions.filter((e) => e.startsWith("upper"))).toHaveLength(1);
  });

  it("a killed attempt shows as interrupted once its lease expired, and --force resumes it instead of piling up attempts", async () => {
    const first = await run();
    const killed = await killedAttempt({ force: true });
    expect(killed.run_id).toBe(`${first.record.run_id}-a2`);
    // Its lease is still live: it is running as far as anyone can tell.
    await writeLease(killed.run_id, Date.now() + 60_000);
    expect(await states()).toEqual({ [first.record.run_id]: "succeeded", [killed.run_id]: "running" });
    expect(await listRuns(storage, { state: "interrupted" })).toEqual([]);
    // The lease expired: the runner died.
    await writeLease(killed.run_id, Date.now() - 1);
    expect(await states()).toEqual({ [first.record.run_id]: "succeeded", [killed.run_id]: "interrupted" });
    expect((await listRuns(storage, { state: "interrupted" })).map((r) => r.run_id)).toEqual([killed.run_id]);
    // Killed again and again with --force: always the same attempt, never a new one.
    for (let i = 0; i < 3; i++) expect((await killedAttempt({ force: true })).run_id).toBe(killed.run_id);
    const resumed = await run({ force: true });
    expect(resumed.record).toMatchObject({ run_id: killed.run_id, state: "succeeded" });
    expect(Object.keys(await states())).toHaveLength(2);
    // Finished now: a plain invocation reports the newest attempt, --force starts the next one.
    const again = await run();
    expect(again).toMatchObject({ reused: true, record: { run_id: killed.run_id } });
    expect((await run({ force: true })).record.run_id).toBe(`${first.record.run_id}-a3`);
  });

  it("a killed attempt without its lease is resumed by a plain invocation too", async () => {
    const killed = await killedAttempt();
    await storage.delete(leaseObject(killed.run_id));
    expect((await getRun(storage, killed.run_id)).state).toBe("interrupted");
    const resumed = await run();
    expect(resumed.record).toMatchObject({ run_id: killed.run_id, state: "succeeded" });
    expect(resumed.reused).toBe(false);
  });

  it("two concurrent invocations: one does the work, both report the same result", async () => {
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.record.run_id).toBe(b.record.run_id);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    expect(executions).toHaveLength(2);
  });
});

// "decide" stands in for retrain-triggers: it asks for a cache bypass when decide.txt names a reason.
const decide = defineComponent({
  name: "test-decide",
  description: "decide",
  inputs: {},
  outputs: {},
  parameters: z.object({}).passthrough(),
  summary: z.unknown(),
  async run(ctx) {
    executions.push(`decide:${ctx.run}`);
    const reason = (await ctx.storage.stat("decide.txt"))
      ? (await ctx.storage.readText("decide.txt")).trim()
      : "";
    return { counts: {}, summary: { bypass_cache: reason ? [reason] : [] } };
  },
});

const TEST_COMPONENTS: Record<string, Component> = { upper, count, decide };
/** The test components by name, as the runner and the executor load them. */
async function components(name: string): Promise<Component> {
  const component = Object.values(TEST_COMPONENTS).find((c) => c.name === name);
  if (!component) throw new Error(`no test component ${name}`);
  return component;
}

const bypassPipeline: PipelineDefinition = {
  ...pipeline,
  steps: [
    pipeline.steps[0]!,
    { name: "decide", component: "test-decide", description: "", inputs: {}, cache: false },
    { ...pipeline.steps[1]!, cacheBypass: { step: "decide" } },
  ],
};

describe("conditional cache bypass", () => {
  const runBypass = (extra: Partial<Parameters<typeof runPipeline>[0]> = {}) =>
    run({ pipeline: bypassPipeline, ...extra });

  it("reuses the cache while the deciding step asks for nothing", async () => {
    await runBypass();
    const forced = await runBypass({ force: true });
    expect(forced.record.steps.find((s) => s.name === "count")!.state).toBe("cached");
    expect(forced.record.retrain).toBeUndefined();
  });

  it("re-runs a step whose cache would hit when the deciding step gives a reason, and records why", async () => {
    await runBypass();
    await storage.write("decide.txt", "psi_above_max\n");
    const forced = await runBypass({ force: true });
    expect(forced.exitCode).toBe(0);
    const count = forced.record.steps.find((s) => s.name === "count")!;
    expect(count.state).toBe("succeeded");
    expect(count.cache).toMatchObject({ hit: false, from: null, bypassed: ["psi_above_max"] });
    // Only the step that names the decider is forced.
    expect(forced.record.steps.find((s) => s.name === "upper")!.state).toBe("cached");
    expect(forced.record.retrain).toEqual({ fired: ["psi_above_max"], cache_bypassed: ["count"] });
    expect(executions.filter((e) => e.startsWith("count"))).toHaveLength(2);
  });

  it("a step that misses the cache anyway is not marked as bypassed, but the run says what fired", async () => {
    await storage.write("decide.txt", "model_too_old\n");
    const first = await runBypass();
    expect(first.record.steps.find((s) => s.name === "count")!.cache).toMatchObject({ hit: false });
    expect(first.record.steps.find((s) => s.name === "count")!.cache?.bypassed).toBeUndefined();
    expect(first.record.retrain).toEqual({ fired: ["model_too_old"], cache_bypassed: [] });
  });

  it("bypassReasons reads only a well-formed bypass_cache list", () => {
    const doc = (summary: unknown) => ({
      version: 1 as const,
      component: "c",
      run: "r",
      step: "s",
      outputs: {},
      counts: {},
      timings: { startedAt: "", finishedAt: "", seconds: 0 },
      summary,
    });
    expect(bypassReasons(doc({ bypass_cache: ["a", "b"] }))).toEqual(["a", "b"]);
    expect(bypassReasons(doc({ bypass_cache: "a" }))).toEqual([]);
    expect(bypassReasons(doc(undefined))).toEqual([]);
    expect(bypassReasons(undefined)).toEqual([]);
  });
});

// "report" stands in for any step declaring run-time parameters: the runner supplies exactly those.
const seen: Array<Record<string, unknown>> = [];
const reporter = defineComponent({
  name: "test-runtime",
  description: "records its run-time parameters",
  inputs: {},
  outputs: {},
  parameters: z.strictObject({
    run_id: z.string(),
    timings: z.record(z.string(), z.number().nullable()),
    cache_hits: z.array(z.string()),
  }),
  runtime: ["run_id", "timings", "cache_hits"],
  summary: z.undefined(),
  async run(ctx) {
    seen.push(ctx.parameters);
    return { counts: {} };
  },
});
TEST_COMPONENTS.reporter = reporter;

const runtimePipeline: PipelineDefinition = {
  ...pipeline,
  steps: [
    ...pipeline.steps,
    { name: "tell", component: "test-runtime", description: "", inputs: {}, after: ["count"], cache: false },
  ],
};

describe("run-time parameters", () => {
  it("are supplied to the components that declare them, from the run record, whatever the component's name", async () => {
    seen.length = 0;
    const first = await run({ pipeline: runtimePipeline });
    expect(first.exitCode, first.record.reason ?? "").toBe(0);
    const upper = first.record.steps.find((s) => s.name === "upper")!;
    expect(seen[0]).toEqual({
      run_id: first.record.run_id,
      timings: { upper: upper.seconds, count: first.record.steps[1]!.seconds },
      cache_hits: [],
    });
    // Static steps get none of them (their cache keys do not change from run to run).
    expect(Object.keys(upper.parameters ?? {})).toEqual([]);
    const forced = await run({ pipeline: runtimePipeline, force: true });
    expect(seen[1]).toMatchObject({ run_id: forced.record.run_id, cache_hits: ["upper", "count"] });
  });

  it("a component returning a summary its declaration does not allow fails the step (exit 1)", async () => {
    const liar = defineComponent({
      name: "test-liar",
      description: "",
      inputs: {},
      outputs: {},
      parameters: z.strictObject({}),
      summary: z.strictObject({ n: z.number() }),
      // A summary of the wrong shape, as a buggy component would return it.
      run: async () => ({ counts: {}, summary: JSON.parse('{"n":"three"}') }),
    });
    TEST_COMPONENTS.liar = liar;
    const result = await run({
      pipeline: {
        ...pipeline,
        steps: [{ name: "lie", component: "test-liar", description: "", inputs: {}, retries: 0 }],
      },
    });
    expect(result.exitCode).toBe(1);
    expect(result.record.reason).toMatch(
      /test-liar returned a summary that does not match its declaration: n:/,
    );
  });
});
