import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineComponent, type OutputDoc } from "../../components/common/component/spec.js";
import { cacheObject } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { StepDefinition } from "../dag.js";
import { type PlanContext, planStep, readCache, writeCache } from "./planner.js";
import { pendingStep, type RunRecord } from "./records.js";
import { ObjectHasher } from "./resolve.js";

// A fake component that declares one run-time parameter; the planner adds its value.
const fake = defineComponent({
  name: "fake",
  description: "",
  inputs: { data: { type: "csv", description: "" } },
  outputs: { out: { type: "csv", file: "out.csv", description: "" } },
  parameters: z.object({ run_id: z.string(), depth: z.number().optional() }),
  runtime: ["run_id"],
  summary: z.unknown(),
  async run() {
    return { counts: {} };
  },
});

const step: StepDefinition = {
  name: "train",
  component: "fake",
  description: "",
  inputs: { data: { object: "input/history.csv" } },
  parameters: { depth: 3 },
  cacheBypass: { step: "triggers" },
};

function doc(stepName: string, outputs: OutputDoc["outputs"], summary?: unknown): OutputDoc {
  const t = new Date().toISOString();
  return {
    version: 1,
    component: "fake",
    run: "r0",
    step: stepName,
    outputs,
    counts: { rows: 1 },
    timings: { startedAt: t, finishedAt: t, seconds: 0 },
    summary,
  };
}

let dir: string;
let storage: Storage;
let ctx: PlanContext;
const full = (): RunRecord => ({
  version: 1,
  run_id: "r1",
  steps: [pendingStep({ name: "train", component: "fake" })],
  pipeline: "p",
  bucket: storage.uri,
  runner: "fake",
  trigger: null,
  attempt: 1,
  state: "running",
  exit_code: null,
  reason: null,
  started: "",
  finished: null,
  seconds: null,
  code_version: "c",
  output_prefix: null,
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "planner-"));
  storage = await openStorage(dir);
  await storage.write("input/history.csv", "id\n1\n");
  ctx = {
    storage,
    hasher: new ObjectHasher(storage),
    trigger: null,
    code: "c",
    noCache: false,
    components: async () => fake,
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("planner", () => {
  it("resolves inputs, adds declared run-time parameters and runs on a cache miss", async () => {
    const plan = await planStep(step, ctx, full(), new Map());
    expect(plan.kind).toBe("run");
    expect(plan.parameters).toEqual({ depth: 3, run_id: "r1" });
    expect(plan.inputs.data?.[0]?.object).toBe("input/history.csv");
    expect(plan.key).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a usable cache entry is a hit; one whose outputs are gone is not", async () => {
    const first = await planStep(step, ctx, full(), new Map());
    await storage.write("runs/r0/steps/train/out.csv", "x");
    const output = doc("train", { out: { object: "runs/r0/steps/train/out.csv", sha256: "a".repeat(64) } });
    await writeCache(storage, first.key, { run: "r0", step: "train", output });
    const hit = await planStep(step, ctx, full(), new Map());
    expect(hit.kind).toBe("hit");
    if (hit.kind === "hit") expect(hit.entry.run).toBe("r0");
    await storage.delete("runs/r0/steps/train/out.csv");
    expect(await readCache(storage, first.key)).toBeNull();
  });

  it("--no-cache, a changed parameter or input byte, and an unreadable entry all run", async () => {
    const first = await planStep(step, ctx, full(), new Map());
    await writeCache(storage, first.key, { run: "r0", step: "train", output: doc("train", {}) });
    expect((await planStep(step, { ...ctx, noCache: true }, full(), new Map())).kind).toBe("run");
    const other = await planStep({ ...step, parameters: { depth: 4 } }, ctx, full(), new Map());
    expect(other.key).not.toBe(first.key);
    await storage.write("input/history.csv", "id\n2\n");
    const changed = await planStep(step, { ...ctx, hasher: new ObjectHasher(storage) }, full(), new Map());
    expect(changed.key).not.toBe(first.key);
    await storage.write(cacheObject(first.key), "{ not json");
    expect(await readCache(storage, first.key)).toBeNull();
  });

  it("a hit is bypassed when the deciding step asks for it, with its reasons", async () => {
    const first = await planStep(step, ctx, full(), new Map());
    await writeCache(storage, first.key, { run: "r0", step: "train", output: doc("train", {}) });
    const upstream = new Map([["triggers", doc("triggers", {}, { bypass_cache: ["drift"] })]]);
    const plan = await planStep(step, ctx, full(), upstream);
    expect(plan).toMatchObject({ kind: "run", bypassed: true, bypass: ["drift"] });
  });
});
