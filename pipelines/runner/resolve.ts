import { readBundle, readChampion } from "../../components/common/bundle/index.js";
import { CONFIG_PORT } from "../../components/common/component/reads.js";
import { hashObject } from "../../components/common/component/run.js";
import type { ObjectRef, OutputDoc } from "../../components/common/component/spec.js";
import { type ChurnConfig, parseConfigText } from "../../components/common/config/index.js";
import {
  latestLifetimeOutput,
  missingLifetimeOutputMessage,
} from "../../components/common/documents/lifetime-output.js";
import { ChurnError, ConfigError, GateRefusedError, NotFoundError } from "../../components/common/errors.js";
import { hashJson } from "../../components/common/hash.js";
import { bundleObject, modelSideObject, stemUnder, writtenBy } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { InputSource, PipelineDefinition, StepDefinition } from "../dag.js";

/** Hashes objects once per run (keyed by name and generation). */
export class ObjectHasher {
  private readonly memo = new Map<string, Promise<ObjectRef>>();
  constructor(private readonly storage: Storage) {}
  async ref(name: string): Promise<ObjectRef> {
    const info = await this.storage.stat(name);
    if (!info) throw new NotFoundError(`${this.storage.uri}/${name} does not exist`);
    const key = `${name}@${info.generation}`;
    let pending = this.memo.get(key);
    if (!pending) {
      pending = hashObject(this.storage, name);
      this.memo.set(key, pending);
    }
    return pending;
  }
}

export interface ResolveContext {
  storage: Storage;
  hasher: ObjectHasher;
  trigger: string | null;
  /** output.json of every finished upstream step, by step name. */
  upstream: Map<string, OutputDoc>;
}

/** Resolve each declared input of a step to object references with content hashes. */
export async function resolveInputs(
  step: StepDefinition,
  ctx: ResolveContext,
): Promise<Record<string, ObjectRef[]>> {
  const inputs: Record<string, ObjectRef[]> = {};
  for (const [port, source] of Object.entries(step.inputs)) {
    if ("step" in source) {
      const doc = ctx.upstream.get(source.step);
      const ref = doc?.outputs[source.output];
      if (!ref && source.optional && doc) continue;
      if (!ref)
        throw new ChurnError(`step ${step.name}: upstream ${source.step} has no output "${source.output}"`);
      inputs[port] = [{ object: ref.object, sha256: ref.sha256 }];
      // A sharded step (Indexed Job) lists its other parts as `<output>-1`, `<output>-2`..., in order.
      for (let i = 1; doc?.outputs[`${source.output}-${i}`]; i++) {
        const part = doc.outputs[`${source.output}-${i}`]!;
        inputs[port].push({ object: part.object, sha256: part.sha256 });
      }
    } else if ("trigger" in source) {
      if (!ctx.trigger)
        throw new ChurnError(`step ${step.name} needs the triggering object, and this run has none`);
      inputs[port] = [await ctx.hasher.ref(ctx.trigger)];
    } else if ("prefix" in source) {
      const pattern = source.pattern ? new RegExp(source.pattern, "i") : null;
      let names = (await ctx.storage.list(source.prefix))
        .map((o) => o.name)
        .filter((n) => !pattern || pattern.test(n));
      if (source.withStemIn) {
        const other = source.withStemIn;
        const stems = new Set((await ctx.storage.list(other)).map((o) => stemUnder(o.name, other)));
        names = names.filter((n) => stems.has(stemUnder(n, source.prefix)));
      }
      if (names.length === 0 && !source.optional) {
        throw new NotFoundError(`step ${step.name}: no objects under ${ctx.storage.uri}/${source.prefix}`);
      }
      inputs[port] = await Promise.all(names.map((n) => ctx.hasher.ref(n)));
    } else if ("object" in source) {
      if (!(await ctx.storage.stat(source.object))) {
        if (source.optional) continue;
        throw new NotFoundError(`step ${step.name}: ${ctx.storage.uri}/${source.object} does not exist`);
      }
      inputs[port] = [await ctx.hasher.ref(source.object)];
    } else if ("championSchema" in source) {
      inputs[port] = [await ctx.hasher.ref(await championSchema(ctx.storage, step))];
    } else if ("lifetimeOutput" in source) {
      // Decided below, once the step's churn.yaml is resolved (whatever the port order).
    } else {
      const champion = await readChampion(ctx.storage);
      if (champion) inputs[port] = [await ctx.hasher.ref(bundleObject(champion.pointer.version))];
    }
  }
  for (const [port, source] of Object.entries(step.inputs)) {
    if (!("lifetimeOutput" in source)) continue;
    const config = inputs[CONFIG_PORT]?.[0];
    if (!config) throw noConfigInput(step);
    const ref = await lifetimeInput(ctx.storage, source, await configAt(ctx.storage, config.object));
    if (ref) inputs[port] = [ref];
  }
  for (const [port, source] of Object.entries(step.inputs)) {
    if (!("champion" in source) || !source.unlessSameAs) continue;
    const other = inputs[source.unlessSameAs]?.[0];
    if (other && inputs[port]?.[0]?.sha256 === other.sha256) delete inputs[port];
  }
  return inputs;
}

type LifetimeSource = Extract<InputSource, { lifetimeOutput: "customers" }>;

/** A definition bug (exit 1): whether a lifetimeOutput input applies is decided by the step's own churn.yaml. */
function noConfigInput(step: StepDefinition): ChurnError {
  return new ChurnError(
    `step ${step.name} reads the lifetime output only by its churn.yaml, and has no config input`,
  );
}

/** The parsed churn.yaml at `object` (an invalid one is the ConfigError every step would give). */
async function configAt(storage: Storage, object: string): Promise<ChurnConfig> {
  return parseConfigText(await storage.readText(object), `${storage.uri}/${object}`);
}

/**
 * What a `lifetimeOutput` input resolves to under a config: nothing when the
 * config does not ask for it; the latest output's customers.csv (with the
 * manifest's hash: nothing is re-read to hash it) when it does; a
 * ConfigError naming the command to run when the bucket has none.
 */
async function lifetimeInput(
  storage: Storage,
  source: LifetimeSource,
  config: ChurnConfig,
): Promise<ObjectRef | null> {
  if (!source.when(config)) return null;
  const latest = await latestLifetimeOutput(storage);
  if (!latest) throw new ConfigError(missingLifetimeOutputMessage(storage.uri, source.because));
  return latest.customers;
}

/**
 * Before a run starts: every `lifetimeOutput` input its config asks for can
 * be resolved, so a weekly run with `campaign.value_column: lifetime` on a
 * bucket without a lifetime output stops at once (exit 2, naming the command
 * that makes one) instead of training and scoring first. Reads churn.yaml
 * only for pipelines that have such an input.
 */
export async function checkLifetimeInputs(storage: Storage, pipeline: PipelineDefinition): Promise<void> {
  for (const step of pipeline.steps) {
    const config = step.inputs[CONFIG_PORT];
    for (const source of Object.values(step.inputs)) {
      if (!("lifetimeOutput" in source)) continue;
      if (!config || !("object" in config)) throw noConfigInput(step);
      await lifetimeInput(storage, source, await configAt(storage, config.object));
    }
  }
}

/** The side file of a bundle that holds its recorded training schema. */
const BUNDLE_SCHEMA_FILE = "schema.json";

/** The training schema of a model, beside its bundle: what `{ championSchema: true }` resolves to. */
export function bundleSchemaObject(version: string): string {
  return modelSideObject(version, BUNDLE_SCHEMA_FILE);
}

/**
 * The champion's recorded schema as an object an ingest step can read: the
 * bundle carries the schema inside bundle.json, and a step input is a whole
 * object with its content hash, so the schema is written once beside the
 * bundle (formatted as ingest-history writes schema.json). A bundle never
 * changes, so neither does this object; it is rewritten only when its bytes
 * differ (written by hand, or by an older writer).
 */
async function championSchema(storage: Storage, step: StepDefinition): Promise<string> {
  const champion = await readChampion(storage);
  if (!champion)
    throw new GateRefusedError(
      `step ${step.name}: ${storage.uri} has no champion model to score with: run churn train first`,
    );
  const { version, bundle } = await readBundle(storage, champion.pointer.version);
  const name = bundleSchemaObject(version);
  const text = `${JSON.stringify(bundle.schema, null, 2)}\n`;
  const current = (await storage.stat(name)) ? await storage.readText(name) : null;
  if (current !== text)
    await storage.write(name, text, {
      contentType: "application/json",
      metadata: writtenBy("runner"),
    });
  return name;
}

/**
 * DESIGN cache key: sha256 of canonical JSON of the input contents' hashes,
 * the parameters and the code version. Object names are left out on purpose:
 * the same bytes under another name are the same input.
 */
export function cacheKey(
  component: string,
  inputs: Record<string, ObjectRef[]>,
  parameters: Record<string, unknown>,
  code: string,
): string {
  const contents: Record<string, string[]> = {};
  for (const [port, refs] of Object.entries(inputs)) contents[port] = refs.map((r) => r.sha256);
  return hashJson({ component, inputs: contents, parameters, code });
}
