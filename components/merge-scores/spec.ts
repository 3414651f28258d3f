import { PassThrough } from "node:stream";
import { z } from "zod";
import { type ComponentContext, defineComponent } from "../common/component/spec.js";

/**
 * The merge-scores component: concatenates the score shards in shard order
 * into one scores.csv (shard 0 carries the header; each shard is a
 * contiguous block of input batches). With one shard it is a byte copy.
 */
export const mergeParameters = z.strictObject({});
export type MergeParameters = z.output<typeof mergeParameters>;

async function run(ctx: ComponentContext<MergeParameters>) {
  const out = new PassThrough();
  const written = ctx.writeOutput("scores", out, { contentType: "text/csv" });
  written.catch(() => {});
  let bytes = 0;
  try {
    for (const ref of ctx.inputs.scores!) {
      for await (const chunk of ctx.openInput(ref)) {
        bytes += chunk.length;
        if (!out.write(chunk)) await new Promise((resolve) => out.once("drain", resolve));
      }
    }
    out.end();
  } catch (error) {
    out.destroy(error as Error);
    throw error;
  }
  await written;
  return { counts: { shards: ctx.inputs.scores!.length, bytes } };
}

/** The merge-scores component spec. */
export const mergeScoresComponent = defineComponent({
  name: "merge-scores",
  description: "concatenate score shards in order into one scores.csv",
  inputs: {
    scores: { type: "csv", description: "the score shards, in shard order", many: true },
  },
  outputs: { scores: { type: "csv", file: "scores.csv", description: "the merged scores.csv" } },
  parameters: mergeParameters,
  summary: z.undefined(),
  run,
});
