import { writeInputDoc } from "../../components/common/component/run.js";
import {
  type InputDoc,
  type ObjectRef,
  type OutputDoc,
  outputDocSchema,
  STEP_DOC_VERSION,
} from "../../components/common/component/spec.js";
import type { ChurnConfig } from "../../components/common/config/index.js";
import { parseDocument } from "../../components/common/documents/parse.js";
import { stepOutputObject, writtenBy } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { StepWarning } from "../../components/common/warnings.js";
import type { StepDefinition } from "../dag.js";

/**
 * Fan-out as a pipeline construct (DESIGN: sharded scoring works on the record
 * batches of ingest's typed output). A step that declares `fanOut` runs as N
 * shards: the runner writes one input.json per shard (the step's own inputs,
 * plus `shard_index`/`shard_count`), any executor runs the shard steps (local
 * processes, in-process, one Indexed Job on Kubernetes), and the runner
 * gathers their output.json files into the step's one output.json, whose
 * ports list the parts in order. Which step fans out, and how its count is
 * chosen, is the pipeline definition's business, never the executor's.
 */

/** Bytes of typed rows per shard when the count is "auto". */
export const SHARD_BYTES = 256 << 20;
/** The most shards "auto" picks, whatever the input size. */
export const MAX_AUTO_SHARDS = 32;

/** The step name of shard `index` of a fanned-out step (its own input.json and outputs). */
export function shardStep(step: string, index: number | string): string {
  return `${step}-shard-${index}`;
}

/** How many shards a step runs as: 1 unless it fans out and its setting (or "auto" over a large input) says more. */
export function shardCount(
  step: StepDefinition,
  inputs: Record<string, ObjectRef[]>,
  config: ChurnConfig | null,
): number {
  if (!step.fanOut || !config) return 1;
  const setting = step.fanOut.shards(config);
  if (setting !== "auto") return Math.max(1, setting);
  const size = (inputs[step.fanOut.input] ?? []).reduce((sum, ref) => sum + (ref.size ?? 0), 0);
  return Math.min(MAX_AUTO_SHARDS, Math.max(1, Math.ceil(size / SHARD_BYTES)));
}

/** Write one input.json per shard, from the step's own input document. */
export async function writeShardInputs(storage: Storage, doc: Omit<InputDoc, "version">, shards: number) {
  for (let index = 0; index < shards; index++) {
    await writeInputDoc(storage, {
      ...doc,
      step: shardStep(doc.step, index),
      parameters: { ...doc.parameters, shard_index: index, shard_count: shards },
    });
  }
}

/**
 * After every shard finished: the step's output.json lists the parts in order
 * (port `scores` is part 0, `scores-<i>` the others, as resolveInputs reads
 * them), counts are summed, and the summary is the first part's with the
 * shard count.
 */
export async function gatherShards(storage: Storage, runId: string, step: string, shards: number) {
  const parts: OutputDoc[] = [];
  for (let index = 0; index < shards; index++) {
    const name = stepOutputObject(runId, shardStep(step, index));
    parts.push(parseDocument(outputDocSchema, await storage.readText(name), name));
  }
  const counts: Record<string, number> = {};
  for (const part of parts)
    for (const [key, value] of Object.entries(part.counts)) counts[key] = (counts[key] ?? 0) + value;
  const outputs: OutputDoc["outputs"] = {};
  parts.forEach((part, index) => {
    for (const [port, ref] of Object.entries(part.outputs))
      outputs[index === 0 ? port : `${port}-${index}`] = ref;
  });
  const first = parts[0]!;
  const firstSummary = typeof first.summary === "object" && first.summary !== null ? first.summary : {};
  const doc: OutputDoc = {
    version: STEP_DOC_VERSION,
    component: first.component,
    run: runId,
    step,
    outputs,
    counts,
    timings: {
      startedAt: parts.map((p) => p.timings.startedAt).sort()[0]!,
      finishedAt: parts
        .map((p) => p.timings.finishedAt)
        .sort()
        .at(-1)!,
      seconds: Math.max(...parts.map((p) => p.timings.seconds)),
    },
    summary: { ...firstSummary, shard: { count: shards } },
    // Each shard notices for its own rows: the same warning from several shards is said once.
    warnings: uniqueWarnings(parts.flatMap((p) => p.warnings ?? [])),
  };
  await storage.write(stepOutputObject(runId, step), `${JSON.stringify(doc, null, 2)}\n`, {
    contentType: "application/json",
    metadata: writtenBy("runner"),
  });
}

/** Warnings without repeats (same code, column and message), in first-seen order. */
function uniqueWarnings(warnings: StepWarning[]): StepWarning[] {
  const seen = new Set<string>();
  return warnings.filter((w) => {
    const key = JSON.stringify([w.code, w.column, w.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
