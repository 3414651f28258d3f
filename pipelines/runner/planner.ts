import { z } from "zod";
import { CONFIG_PORT, configDigest } from "../../components/common/component/reads.js";
import type { ComponentLoader } from "../../components/common/component/run.js";
import {
  type Component,
  type ObjectRef,
  type OutputDoc,
  outputDocSchema,
  type RuntimeParameter,
} from "../../components/common/component/spec.js";
import { cacheObject, writtenBy } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { StepDefinition } from "../dag.js";
import type { RunRecord } from "./records.js";
import { cacheKey, type ObjectHasher, resolveInputs } from "./resolve.js";

/** A cached step result: the run and step that produced it, and its output.json. */
export interface CacheEntry {
  run: string;
  step: string;
  output: OutputDoc;
}

/**
 * What the planner decided for one step: serve it from the cache, or run it
 * (after a cache miss, with the cache off, or with a cached result a
 * retraining trigger asked to bypass).
 */
export type StepPlan = {
  inputs: Record<string, ObjectRef[]>;
  parameters: Record<string, unknown>;
  key: string;
  cacheable: boolean;
  /** The retraining triggers that fired upstream (empty: none asked). */
  bypass: string[];
} & ({ kind: "hit"; entry: CacheEntry } | { kind: "run"; bypassed: boolean });

export interface PlanContext {
  storage: Storage;
  hasher: ObjectHasher;
  trigger: string | null;
  code: string;
  noCache: boolean;
  components: ComponentLoader;
}

/** Plan a step: resolve its inputs, compute its cache key, and decide hit, bypass or run. */
export async function planStep(
  step: StepDefinition,
  ctx: PlanContext,
  record: RunRecord,
  upstream: Map<string, OutputDoc>,
): Promise<StepPlan> {
  const inputs = await resolveInputs(step, {
    storage: ctx.storage,
    hasher: ctx.hasher,
    trigger: ctx.trigger,
    upstream,
  });
  const component = await ctx.components(step.component);
  const parameters = { ...(step.parameters ?? {}), ...runtimeParameters(component, record) };
  const key = cacheKey(
    step.component,
    await keyedInputs(ctx.storage, inputs, component),
    parameters,
    ctx.code,
  );
  const cacheable = step.cache !== false;
  const bypass = step.cacheBypass ? bypassReasons(upstream.get(step.cacheBypass.step)) : [];
  const base = { inputs, parameters, key, cacheable, bypass };
  if (!cacheable || ctx.noCache) return { ...base, kind: "run", bypassed: false };
  const entry = await readCache(ctx.storage, key);
  if (!entry) return { ...base, kind: "run", bypassed: false };
  // Same inputs as a finished step, but a retraining trigger asked for a fresh run.
  if (bypass.length > 0) return { ...base, kind: "run", bypassed: true };
  return { ...base, kind: "hit", entry };
}

/**
 * The inputs as the cache key counts them: a component that declares the
 * churn.yaml sections it reads has its config input counted by the hash of
 * those sections' effective settings instead of the file's bytes (the
 * recorded inputs and input.json keep the object's real hash).
 */
export async function keyedInputs(
  storage: Storage,
  inputs: Record<string, ObjectRef[]>,
  component: Pick<Component, "reads">,
): Promise<Record<string, ObjectRef[]>> {
  const ref = inputs[CONFIG_PORT]?.[0];
  if (!ref || component.reads === null) return inputs;
  const digest = configDigest(await storage.readText(ref.object), ref.object, component.reads);
  return { ...inputs, [CONFIG_PORT]: [{ object: ref.object, sha256: digest }] };
}

const bypassRequestSchema = z.object({ bypass_cache: z.array(z.string()) });

/**
 * The reasons an upstream step gave for bypassing the cache (its output.json
 * summary's `bypass_cache`); empty when it asked for nothing.
 */
export function bypassReasons(doc: OutputDoc | undefined): string[] {
  const parsed = bypassRequestSchema.safeParse(doc?.summary);
  return parsed.success ? parsed.data.bypass_cache : [];
}

/** How the runner computes each run-time parameter from the run record (see RUNTIME_PARAMETERS). */
const RUNTIME_VALUES: Record<RuntimeParameter, (record: RunRecord) => unknown> = {
  run_id: (record) => record.run_id,
  trigger: (record) => record.trigger?.object ?? null,
  output_prefix: (record) => record.output_prefix,
  timings: (record) =>
    Object.fromEntries(
      record.steps
        .filter((s) => s.state === "succeeded" || s.state === "cached")
        .map((s) => [s.name, s.seconds]),
    ),
  cache_hits: (record) => record.steps.filter((s) => s.state === "cached").map((s) => s.name),
  cache_bypassed: (record) => record.retrain?.cache_bypassed ?? [],
  warnings: (record) => record.steps.flatMap((s) => s.warnings),
};

/** The run-time parameters a step's component declares, with their values now. */
export function runtimeParameters(component: Component, record: RunRecord): Record<string, unknown> {
  return Object.fromEntries(component.runtime.map((name) => [name, RUNTIME_VALUES[name](record)]));
}

const cacheEntrySchema = z.object({ run: z.string(), step: z.string(), output: outputDocSchema });

/** A cache entry, or null when there is none or it is unusable (unreadable, or its outputs are gone). */
export async function readCache(storage: Storage, key: string): Promise<CacheEntry | null> {
  const name = cacheObject(key);
  if (!(await storage.stat(name))) return null;
  try {
    const entry = cacheEntrySchema.parse(JSON.parse(await storage.readText(name)));
    // A cache entry is only usable while the objects it points to still exist.
    for (const ref of Object.values(entry.output.outputs)) if (!(await storage.stat(ref.object))) return null;
    return entry;
  } catch {
    return null;
  }
}

/** Write the cache entry of a step that succeeded. */
export async function writeCache(storage: Storage, key: string, entry: CacheEntry): Promise<void> {
  await storage.write(cacheObject(key), JSON.stringify(entry), {
    contentType: "application/json",
    metadata: writtenBy("runner"),
  });
}
