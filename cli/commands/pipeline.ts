import type { Command } from "commander";
import { dependenciesOf, renderMermaid, renderText, topologicalOrder } from "../../pipelines/dag.js";
import { pipelineByName } from "../../pipelines/definitions/index.js";
import { emit } from "../io.js";
import type { Wrap } from "./index.js";

interface ShowOptions {
  mermaid?: boolean;
}

/** `churn pipeline show` (and, with the pipelines work, `churn pipeline run`). */
export function registerPipeline(program: Command, wrap: Wrap): void {
  const pipeline = program.command("pipeline").description("show and run pipelines (weekly, retrain)");

  pipeline
    .command("show [name]")
    .description("print a pipeline's steps and dependencies, as text or as a Mermaid flowchart")
    .option("--mermaid", "print a Mermaid flowchart instead of text")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn pipeline show weekly\n  churn pipeline show retrain --mermaid\n",
    )
    .action(
      wrap<ShowOptions>(async (options, ctx, [name]) => {
        const definition = pipelineByName(name ?? "weekly");
        const steps = topologicalOrder(definition).map((s) => ({
          name: s.name,
          component: s.component,
          description: s.description,
          needs: dependenciesOf(s),
          cached: s.cache !== false,
        }));
        emit(
          ctx,
          {
            name: definition.name,
            description: definition.description,
            steps,
            mermaid: renderMermaid(definition),
          },
          () => (options.mermaid ? renderMermaid(definition) : renderText(definition)),
        );
      }),
    );
}
