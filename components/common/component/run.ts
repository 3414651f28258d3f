import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { parseDocument } from "../documents/parse.js";
import { ChurnError, InputError, NotFoundError } from "../errors.js";
import { stepInputObject, stepOutputObject, stepPrefix, writtenBy } from "../layout/index.js";
import { type Logger, silentLogger } from "../log.js";
import type { Storage } from "../storage/types.js";
import {
  type Component,
  type InputDoc,
  inputDocSchema,
  type ObjectRef,
  type OutputDoc,
  STEP_DOC_VERSION,
} from "./spec.js";

/** sha256 of an object's stored bytes (not gunzipped), streamed. */
export async function hashObject(storage: Storage, name: string): Promise<ObjectRef> {
  const info = await storage.stat(name);
  if (!info) throw new NotFoundError(`${storage.uri}/${name} does not exist`);
  const hash = createHash("sha256");
  for await (const chunk of storage.createReadStream(name, { gunzip: false }))
    hash.update(chunk as Uint8Array);
  return { object: name, sha256: hash.digest("hex"), generation: info.generation, size: info.size };
}

/** Parse and validate an input.json text; ConfigError-style message naming the document. */
export function parseInputDoc(text: string, where: string): InputDoc {
  return parseDocument(inputDocSchema, text, where, "step input document");
}

/** Check the input document against the component: declared ports only, required ones present, parameters valid. */
export function checkInputs(spec: Component, doc: InputDoc, where: string) {
  const problems: string[] = [];
  for (const port of Object.keys(doc.inputs)) {
    if (!spec.inputs[port]) problems.push(`input "${port}" is not declared by component ${spec.name}`);
  }
  for (const [port, declared] of Object.entries(spec.inputs)) {
    const refs = doc.inputs[port] ?? [];
    if (refs.length === 0 && !declared.optional) problems.push(`input "${port}" is required`);
    if (refs.length > 1 && !declared.many)
      problems.push(`input "${port}" takes one object, got ${refs.length}`);
  }
  const bound = spec.bind(doc.parameters);
  if (!bound.ok) {
    for (const issue of bound.error.issues) {
      problems.push(`parameter ${issue.path.join(".") || "(all)"}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !bound.ok) throw new InputError(`${where}: ${problems.join("; ")}`);
  return bound;
}

/** A stream that hashes what passes through and counts bytes. */
function hashing(): { transform: Transform; result: () => { sha256: string; size: number } } {
  const hash = createHash("sha256");
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { transform, result: () => ({ sha256: hash.digest("hex"), size }) };
}

/** Finds a component by name (components/index.ts#loadComponent; tests pass their own). */
export type ComponentLoader = (name: string) => Promise<Component>;

export interface RunStepOptions {
  /** Where the step's component comes from. */
  load: ComponentLoader;
  logger?: Logger;
  /** Only accept this component name (what the CLI was asked to run). */
  expectComponent?: string;
  /** Metadata tag for written objects (DESIGN: churn-writer). */
  writer?: string;
}

/**
 * Run one step: read and validate its input.json, run the component, write
 * its outputs under `runs/<run>/steps/<step>/`, then output.json last.
 */
export async function runStep(storage: Storage, run: string, step: string, options: RunStepOptions) {
  const logger = options.logger ?? silentLogger;
  const prefix = stepPrefix(run, step);
  const inputName = stepInputObject(run, step);
  const where = `${storage.uri}/${inputName}`;
  if (!(await storage.stat(inputName))) {
    throw new NotFoundError(
      `${where} does not exist: the step has not been planned (write its input.json first)`,
    );
  }
  const doc = parseInputDoc(await storage.readText(inputName), where);
  if (options.expectComponent && doc.component !== options.expectComponent) {
    throw new InputError(`${where} is for component "${doc.component}", not "${options.expectComponent}"`);
  }
  if (doc.run !== run || doc.step !== step) {
    throw new InputError(
      `${where} names run "${doc.run}" step "${doc.step}", not run "${run}" step "${step}"`,
    );
  }
  const spec = await options.load(doc.component);
  const bound = checkInputs(spec, doc, where);
  const metadata = writtenBy(options.writer ?? doc.component);
  const outputs: Record<string, ObjectRef> = {};
  const started = new Date();
  const stepLogger = logger.child({ run, step, component: spec.name });

  const result = await bound.run({
    storage,
    run,
    step,
    outputPrefix: prefix,
    inputs: doc.inputs,
    logger: stepLogger,
    openInput(ref) {
      const raw = storage.createReadStream(ref.object, { gunzip: false });
      const hash = createHash("sha256");
      return (async function* () {
        for await (const chunk of raw) {
          hash.update(chunk as Uint8Array);
          yield chunk as Uint8Array;
        }
        const actual = hash.digest("hex");
        if (actual !== ref.sha256) {
          throw new InputError(
            `${ref.object} changed since the step was planned (sha256 ${actual.slice(0, 12)}... instead of ${ref.sha256.slice(0, 12)}...): plan the run again`,
          );
        }
      })();
    },
    async writeOutput(port, data, writeOptions = {}) {
      const declared = spec.outputs[port];
      if (!declared) throw new ChurnError(`component ${spec.name} wrote undeclared output "${port}"`);
      const name = `${prefix}${declared.file}`;
      const h = hashing();
      const source =
        typeof data === "string" || data instanceof Uint8Array
          ? Readable.from([typeof data === "string" ? Buffer.from(data) : data])
          : data instanceof Readable
            ? data
            : Readable.from(data as AsyncIterable<Uint8Array>);
      // .pipe() does not forward errors: a failing producer must fail the write.
      source.on("error", (error) => h.transform.destroy(error));
      const info = await storage.write(name, source.pipe(h.transform), {
        metadata,
        contentType: writeOptions.contentType,
        gzip: false,
      });
      const { sha256, size } = h.result();
      outputs[port] = { object: name, sha256, generation: info.generation, size };
      return outputs[port]!;
    },
  });
  const finished = new Date();
  const outputDoc: OutputDoc = {
    version: STEP_DOC_VERSION,
    component: spec.name,
    run,
    step,
    outputs,
    counts: result.counts,
    timings: {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
    },
    summary: result.summary,
    warnings: result.warnings ?? [],
  };
  const outputName = stepOutputObject(run, step);
  await storage.write(outputName, `${JSON.stringify(outputDoc, null, 2)}\n`, {
    metadata,
    contentType: "application/json",
  });
  return { output: outputDoc, outputName, spec };
}

/** Write a step's input.json (used by planners and by `churn component` for humans). */
export async function writeInputDoc(storage: Storage, doc: Omit<InputDoc, "version">): Promise<string> {
  const name = stepInputObject(doc.run, doc.step);
  const full: InputDoc = { version: STEP_DOC_VERSION, ...doc };
  inputDocSchema.parse(full);
  await storage.write(name, `${JSON.stringify(full, null, 2)}\n`, {
    metadata: writtenBy(doc.component),
    contentType: "application/json",
  });
  return name;
}

/**
 * Plan one step on named objects (hashing them into its input.json) and run it
 * in this process. For commands and benchmarks that run a single component
 * outside a pipeline; pipelines plan through the runner instead.
 */
export async function planAndRunStep(
  storage: Storage,
  run: string,
  step: string,
  component: Component,
  inputs: Record<string, string[]>,
  parameters: Record<string, unknown> = {},
): Promise<OutputDoc> {
  const resolved: Record<string, ObjectRef[]> = {};
  for (const [port, names] of Object.entries(inputs)) {
    resolved[port] = await Promise.all(names.map((n) => hashObject(storage, n)));
  }
  await writeInputDoc(storage, { component: component.name, run, step, inputs: resolved, parameters });
  const load = async () => component;
  return (await runStep(storage, run, step, { load, expectComponent: component.name })).output;
}
