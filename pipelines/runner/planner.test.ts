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
import type { RunRecord } from "./records.js";
import { ObjectHasher } from "./resolve.js";
import { testRunRecord } from "./testing/run-record.js";

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
const full = (): RunRecord => testRunRecord({ pipeline: "p", bucket: storage.uri });
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

describe("cache keys of churn.yaml", () => {
  // A fake training component reading only `train`, and one that declares nothing.
  const reading = defineComponent({
    name: "fake-train",
    description: "",
    inputs: { config: { type: "yaml", description: "" } },
    outputs: {},
    parameters: z.object({}),
    reads: ["train", "tiers"],
    summary: z.unknown(),
    async run() {
      return { counts: {} };
    },
  });
  const undeclared = defineComponent({
    name: "fake-all",
    description: "",
    inputs: { config: { type: "yaml", description: "" } },
    outputs: {},
    parameters: z.object({}),
    summary: z.unknown(),
    async run() {
      return { counts: {} };
    },
  });
  const configStep: StepDefinition = {
    name: "train",
    component: "fake-train",
    description: "",
    inputs: { config: { object: "churn.yaml" } },
  };
  const base = "id_column: id\nlabel: {column: flag, positive: yes}\ntrain:\n  seed: 7\n";
  const keyOf = async (yaml: string, component = reading) => {
    await storage.write("churn.yaml", yaml);
    const plan = await planStep(
      configStep,
      { ...ctx, hasher: new ObjectHasher(storage), components: async () => component },
      full(),
      new Map(),
    );
    // The recorded input keeps the file's real hash; only the key counts the sections.
    expect(plan.inputs.config?.[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    return plan.key;
  };

  it("a comment, formatting or another section leaves the key; a section it reads changes it", async () => {
    const first = await keyOf(base);
    expect(await keyOf(`# weekly settings\n${base}`)).toBe(first);
    expect(
      await keyOf(`${base}campaign:\n  budget_contacts: 10\nnotify:\n  webhook_url: https://example.com/h\n`),
    ).toBe(first);
    expect(await keyOf(`${base}passthrough: [city]\n`)).toBe(first);
    // The default, written out, is the same effective setting.
    expect(await keyOf(base.replace("  seed: 7\n", "  seed: 7\n  cv_folds: 5\n"))).toBe(first);
    expect(await keyOf(base.replace("seed: 7", "seed: 8"))).not.toBe(first);
    expect(await keyOf(`${base}tiers:\n  high: {top_share: 0.05}\n`)).not.toBe(first);
  });

  it("a component that declares no sections is keyed by the file's bytes", async () => {
    const first = await keyOf(base, undeclared);
    expect(await keyOf(`# weekly settings\n${base}`, undeclared)).not.toBe(first);
  });

  it("an invalid churn.yaml fails planning with the config error", async () => {
    await expect(keyOf(base.replace("seed: 7", "seed: many"))).rejects.toThrow(/churn\.yaml/);
  });
});
