import type { Command } from "commander";
import { hashObject, runStep, writeInputDoc } from "../../components/common/component/run.js";
import type { ObjectRef, OutputDoc } from "../../components/common/component/spec.js";

import { NotFoundError, UsageError } from "../../components/common/errors.js";
import { CONFIG_OBJECT, runIdFor, stepPrefix, WEEKLY_PREFIX } from "../../components/common/layout/index.js";
import { componentNames, loadComponent } from "../../components/index.js";
import { ingestSummarySchema } from "../../components/ingest/summary.js";
import { emit, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface ComponentOptions {
  bucket?: string;
  run?: string;
  step?: string;
  input?: string[];
  schema?: string;
  mode?: string;
}

const fmt = (n: number) => n.toLocaleString("en-US");

function size(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The human summary of a finished step (ingest gets its row counts spelled out). */
export function describeStep(output: OutputDoc, bucketUri: string): string {
  const lines: string[] = [];
  const folder = `${bucketUri}/${stepPrefix(output.run, output.step)}`;
  lines.push(
    `${output.component} (step ${output.step}, run ${output.run}): done in ${output.timings.seconds.toFixed(2)} s`,
  );
  // A summary in the ingest shape gets its row counts spelled out (read typed, not by component name).
  const ingested = ingestSummarySchema.safeParse(output.summary);
  if (ingested.success) {
    const c = output.counts;
    const summary = ingested.data;
    for (const file of summary.files) {
      lines.push(`  ${file.object}`);
      lines.push(`    rows read   ${fmt(file.rowsIn).padStart(12)}`);
      lines.push(`    accepted    ${fmt(file.accepted).padStart(12)}`);
      const kinds = Object.entries(file.reasons)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, count]) => `${kind} ${fmt(count)}`)
        .join(", ");
      lines.push(`    rejected    ${fmt(file.rejected).padStart(12)}${kinds ? `  (${kinds})` : ""}`);
      for (const r of file.firstRejects.slice(0, 3)) {
        lines.push(`      line ${r.line}, column "${r.column}": ${r.reason}`);
      }
    }
    if (summary.files.length > 1) {
      lines.push(
        `  total: ${fmt(c.rowsIn ?? 0)} rows read, ${fmt(c.accepted ?? 0)} accepted, ${fmt(c.rejected ?? 0)} rejected`,
      );
    }
    const rate = output.timings.seconds > 0 ? (c.rowsIn ?? 0) / output.timings.seconds : 0;
    lines.push(
      `  time        ${output.timings.seconds.toFixed(2).padStart(10)} s  (${fmt(Math.round(rate))} rows/s)`,
    );
  } else {
    for (const [name, value] of Object.entries(output.counts)) lines.push(`  ${name}: ${fmt(value)}`);
  }
  lines.push(`  outputs in ${folder}`);
  for (const [port, ref] of Object.entries(output.outputs)) {
    lines.push(
      `    ${ref.object.slice(ref.object.lastIndexOf("/") + 1).padEnd(14)} ${size(ref.size).padStart(9)}  (${port})`,
    );
  }
  lines.push(`    output.json`);
  return lines.join("\n");
}

/** Default step name for a human-started ingest of an object. */
function defaultStep(object: string): string {
  return object.startsWith(WEEKLY_PREFIX) ? "ingest-weekly" : "ingest-history";
}

/** `churn component <name>`: what a Kubernetes Job runs (one step of one run). */
export function registerComponent(program: Command, wrap: Wrap): void {
  program
    .command("component")
    .description(
      `run one pipeline step: read runs/<run>/steps/<step>/input.json, run the component, write its outputs and output.json (components: ${componentNames().join(", ")})`,
    )
    .argument("<name>", "component name")
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--run <run-id>", "run id (with --input: default derived from the input objects)")
    .option("--step <step>", "step name, e.g. ingest-weekly (with --input: default from the input's folder)")
    .option(
      "--input <object...>",
      "ingest only, for humans: plan the step on these objects (writes input.json) and run it",
    )
    .option("--schema <object>", "with --input: the recorded training schema.json to read weekly files with")
    .option(
      "--mode <mode>",
      "with --input: training or scoring (default: scoring for weekly/, else training)",
    )
    .option("--json", "print output.json")
    .addHelpText(
      "after",
      "\nExamples:\n  churn component ingest --run r-0123456789abcdef --step ingest-weekly --bucket gs://acme-churn\n  churn component ingest --bucket ./demo-bucket --input weekly/2024-05.csv\n",
    )
    .action(
      wrap<ComponentOptions>(async (options, ctx, args) => {
        const name = args[0]!;
        const storage = await openBucket(options.bucket, ctx);
        await loadComponent(name); // unknown names fail before anything is written
        let run = options.run;
        let step = options.step;
        if (options.input && options.input.length > 0) {
          if (name !== "ingest")
            throw new UsageError("--input plans ingest steps only; other components need --run and --step");
          const data: ObjectRef[] = [];
          for (const object of options.input) data.push(await hashObject(storage, object));
          if (!(await storage.stat(CONFIG_OBJECT))) {
            throw new NotFoundError(
              `${storage.uri}/${CONFIG_OBJECT} does not exist: create it (see \`churn init\`)`,
            );
          }
          const config = await hashObject(storage, CONFIG_OBJECT);
          const inputs: Record<string, ObjectRef[]> = { data, config: [config] };
          if (options.schema) inputs.schema = [await hashObject(storage, options.schema)];
          const mode = options.mode ?? (options.input[0]!.startsWith(WEEKLY_PREFIX) ? "scoring" : "training");
          step ??= defaultStep(options.input[0]!);
          // The DESIGN run id of the objects (as a set: the order they are named in does not change it).
          run ??= runIdFor(
            "component-ingest",
            storage.uri,
            data.map((d) => ({ name: d.object, generation: d.generation ?? "" })),
          );
          await writeInputDoc(storage, {
            component: name,
            run,
            step,
            inputs,
            parameters: { mode },
            createdAt: new Date().toISOString(),
          });
        }
        if (!run || !step)
          throw new UsageError("pass --run and --step (or --input to plan an ingest step on an object)");
        const { output } = await runStep(storage, run, step, {
          load: loadComponent,
          logger: ctx.logger,
          expectComponent: name,
        });
        emit(ctx, output, () => describeStep(output, storage.uri));
      }),
    );
}
