import { z } from "zod";
import type { ChurnConfig } from "../config/schema.js";
import { formatIssues } from "../documents/parse.js";
import { ChurnError, InputError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Storage } from "../storage/types.js";
import { type StepWarning, stepWarningSchema } from "../warnings.js";

/**
 * The component contract, after Kubeflow Pipelines v2: a component is a typed
 * spec (declared inputs, outputs and parameters); the container gets ONE input
 * document (`runs/<run-id>/steps/<step>/input.json`: resolved objects with their
 * content hashes, and parameters) and writes ONE output document (`output.json`,
 * written last, so its presence means the step finished). Unlike KFP, inputs are
 * identified by content hash, so a cache key built from input.json changes
 * whenever any input byte changes.
 */

/** What kind of object flows through a port (informational, checked by pipelines). */
export type ArtifactType = "csv" | "arrow" | "json" | "yaml" | "html" | "model";

export interface PortSpec {
  type: ArtifactType;
  description: string;
  /** Input ports: may be absent. */
  optional?: boolean;
  /** Input ports: accepts several objects (e.g. every file under input/). */
  many?: boolean;
}

/** An object a step reads, as resolved when the step was planned. */
export const objectRefSchema = z.strictObject({
  object: z.string().min(1).describe("object name relative to the bucket"),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe("sha256 of the object's stored bytes"),
  generation: z.string().optional(),
  size: z.number().int().min(0).optional(),
});
export type ObjectRef = z.infer<typeof objectRefSchema>;

export const STEP_DOC_VERSION = 1;

/** `input.json`: what a step runs on. */
export const inputDocSchema = z.strictObject({
  version: z.literal(STEP_DOC_VERSION),
  component: z.string().min(1),
  run: z.string().min(1),
  step: z.string().min(1),
  inputs: z.record(z.string(), z.array(objectRefSchema)),
  parameters: z.record(z.string(), z.unknown()).default({}),
  createdAt: z.string().optional(),
});
export type InputDoc = z.infer<typeof inputDocSchema>;

/** `output.json`: what a step produced. Written last. */
export const outputDocSchema = z.strictObject({
  version: z.literal(STEP_DOC_VERSION),
  component: z.string(),
  run: z.string(),
  step: z.string(),
  outputs: z.record(z.string(), objectRefSchema),
  counts: z.record(z.string(), z.number()),
  timings: z.strictObject({ startedAt: z.string(), finishedAt: z.string(), seconds: z.number() }),
  summary: z.unknown().optional(),
  /** What the step noticed that people must see (components/common/warnings.ts); absent in older documents. */
  warnings: z.array(stepWarningSchema).optional(),
});
export type OutputDoc = z.infer<typeof outputDocSchema>;

/** A top-level section (or key) of churn.yaml, as a component declares it reads it. */
export type ConfigSection = keyof ChurnConfig;

/** What a component's implementation gets: resolved inputs, parameters and writers. */
export interface ComponentContext<P, R extends ConfigSection = ConfigSection> {
  storage: Storage;
  run: string;
  step: string;
  /** Folder (object prefix, ending in `/`) where this step's outputs go. */
  outputPrefix: string;
  inputs: Record<string, ObjectRef[]>;
  parameters: P;
  /**
   * The churn.yaml sections the component declared it reads (`reads`), or
   * null when it declared none; `readConfigInput` types the config to them.
   */
  reads: readonly R[] | null;
  logger: Logger;
  /** Read an input object's bytes; the content hash is checked when the stream ends. */
  openInput(ref: ObjectRef): AsyncIterable<Uint8Array>;
  /** Write a declared output (under outputPrefix); its hash and size are recorded in output.json. */
  writeOutput(
    port: string,
    data: string | Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    options?: { contentType?: string },
  ): Promise<ObjectRef>;
}

/** What a component's implementation returns: counts for the run record and a summary for output.json. */
export interface ComponentResult<S = unknown> {
  counts: Record<string, number>;
  summary?: S;
  /** What the step noticed that people must see: the runner carries it to every surface. */
  warnings?: StepWarning[];
}

/**
 * Parameters only the runner knows, supplied by it to the steps whose
 * component declares them (`runtime`), and part of those steps' cache keys.
 * The runner computes each one from the run record; it never asks which
 * component a step runs.
 */
export const RUNTIME_PARAMETERS = [
  /** The run's id. */
  "run_id",
  /** The object that triggered the run (weekly or transactions file), or null. */
  "trigger",
  /** Where the run publishes (output/<stem>/ or output/lifetime/<stem>/), or null. */
  "output_prefix",
  /** Seconds per finished step (null while unfinished), as the run record has them. */
  "timings",
  /** Steps served from the cache in this run. */
  "cache_hits",
  /** Steps whose cached result was bypassed because a retraining trigger fired. */
  "cache_bypassed",
  /** The warnings of the steps finished so far (components/common/warnings.ts), for the report. */
  "warnings",
] as const;
export type RuntimeParameter = (typeof RUNTIME_PARAMETERS)[number];

/**
 * An object a step writes outside its own step folder, declared so readers
 * and operators know every writer of a shared object: e.g. the champion
 * pointer (promote), monitoring/realised.json (retrain-triggers), the public
 * output folder (publish). `object` is a bucket-relative name or a prefix
 * ending in `/` with `<...>` placeholders.
 */
export interface ExternalWrite {
  object: string;
  description: string;
}

/** A component as its author writes it: typed parameters and summary. */
export interface ComponentSpec<
  P extends z.ZodType = z.ZodType,
  S extends z.ZodType = z.ZodType,
  R extends ConfigSection = ConfigSection,
> {
  name: string;
  description: string;
  inputs: Record<string, PortSpec>;
  /** Output ports: the object name under the step folder is the port's `file`. */
  outputs: Record<string, PortSpec & { file: string }>;
  /** Static and run-time parameters (validated before the implementation runs). */
  parameters: P;
  /** Which of its parameters the runner supplies at run time (each must be a key of `parameters`). */
  runtime?: readonly RuntimeParameter[];
  /** The shape of output.json's `summary` (checked when the step finishes; readers parse with it). */
  summary: S;
  /** Objects written outside the step folder. */
  writes?: readonly ExternalWrite[];
  /**
   * The churn.yaml sections this component reads from its `config` input
   * (CONFIG_PORT). Its cache key hashes their parsed, effective values, not
   * the file's bytes, so an edit elsewhere in churn.yaml (a comment, another
   * step's section) reuses its cached result. The config it reads is typed
   * to these sections, so reading an undeclared one does not compile.
   * Absent: the whole file's bytes are the key, as for any other input.
   */
  reads?: readonly R[];
  run(ctx: ComponentContext<z.output<P>, R>): Promise<ComponentResult<z.input<S>>>;
}

/** A step's context before its parameters are validated. */
export type StepContext = Omit<ComponentContext<never>, "parameters" | "reads">;

/** The outcome of validating a step's raw parameters against its component. */
export type BoundComponent =
  | { ok: true; run(ctx: StepContext): Promise<ComponentResult> }
  | { ok: false; error: z.ZodError };

/**
 * A component with its types erased, as the registry, the runner and the
 * step entry hold it. `bind` validates the raw parameters once and closes
 * over the typed result, so no caller needs a cast.
 */
export interface Component<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly inputs: Record<string, PortSpec>;
  readonly outputs: Record<string, PortSpec & { file: string }>;
  readonly parameters: z.ZodType;
  readonly runtime: readonly RuntimeParameter[];
  readonly summary: S;
  readonly writes: readonly ExternalWrite[];
  /** The churn.yaml sections it reads (see ComponentSpec.reads); null: undeclared, the file's bytes count. */
  readonly reads: readonly ConfigSection[] | null;
  bind(parameters: unknown): BoundComponent;
}

/**
 * Declare a component: checks at build time that its run-time parameters
 * are parameters it has, and returns the erased form the registry holds.
 * The summary the implementation returns is parsed with its schema, so a
 * summary that drifts from its declaration fails the step, not a reader.
 */
export function defineComponent<P extends z.ZodType, S extends z.ZodType, R extends ConfigSection = never>(
  spec: ComponentSpec<P, S, R> & { runtime?: readonly (RuntimeParameter & keyof z.input<P>)[] },
): Component<S> {
  const reads = spec.reads ?? null;
  return {
    name: spec.name,
    description: spec.description,
    inputs: spec.inputs,
    outputs: spec.outputs,
    parameters: spec.parameters,
    runtime: spec.runtime ?? [],
    summary: spec.summary,
    writes: spec.writes ?? [],
    reads,
    bind(raw) {
      const parsed = spec.parameters.safeParse(raw);
      if (!parsed.success) return { ok: false, error: parsed.error };
      const parameters = parsed.data;
      return {
        ok: true,
        async run(ctx) {
          const result = await spec.run({ ...ctx, parameters, reads });
          const summary = spec.summary.safeParse(result.summary);
          // A bug in the component, not bad input: exit 1 with what drifted.
          if (!summary.success)
            throw new ChurnError(
              `component ${spec.name} returned a summary that does not match its declaration: ${formatIssues(summary.error)}`,
            );
          return { counts: result.counts, summary: summary.data, warnings: result.warnings ?? [] };
        },
      };
    },
  };
}

/** A finished step's summary, typed by its component's declaration (a mismatch names the step). */
export function summaryOf<S extends z.ZodType>(component: Component<S>, doc: OutputDoc): z.output<S> {
  const parsed = component.summary.safeParse(doc.summary);
  if (!parsed.success)
    throw new InputError(
      `output.json of step ${doc.step} (run ${doc.run}) has an invalid ${component.name} summary: ${formatIssues(parsed.error)}`,
    );
  return parsed.data;
}
