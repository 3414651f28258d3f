import { z } from "zod";
import type { Logger } from "../log.js";
import type { Storage } from "../storage/types.js";

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
});
export type OutputDoc = z.infer<typeof outputDocSchema>;

/** What a component's implementation gets: resolved inputs, parameters and writers. */
export interface ComponentContext<P> {
  storage: Storage;
  run: string;
  step: string;
  /** Folder (object prefix, ending in `/`) where this step's outputs go. */
  outputPrefix: string;
  inputs: Record<string, ObjectRef[]>;
  parameters: P;
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

export interface ComponentResult {
  counts: Record<string, number>;
  summary?: unknown;
}

/** A component: spec plus its implementation. */
export interface ComponentSpec<P extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  inputs: Record<string, PortSpec>;
  /** Output ports: the object name under the step folder is the port's `file`. */
  outputs: Record<string, PortSpec & { file: string }>;
  parameters: P;
  run(ctx: ComponentContext<z.output<P>>): Promise<ComponentResult>;
}

/** Object prefix of a step's folder. */
export function stepPrefix(run: string, step: string): string {
  return `runs/${run}/steps/${step}/`;
}
