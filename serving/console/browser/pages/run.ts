import type { DagNode, RunRecord, StepRecord } from "../../api-types.js";
import { getRun } from "../api.js";
import { dagSvg } from "../charts/dag.js";
import { type Child, h } from "../dom.js";
import { badge, cacheText, seconds, when } from "../format.js";
import type { PageContext } from "../router.js";
import { stepView } from "./step.js";

/**
 * `#/runs/<id>`: the failure reason, the run's facts, its DAG and the steps
 * table; `#/runs/<id>/steps/<step>` shows one step (step.ts) under the same
 * heading and reason. While the run is going the page refreshes itself.
 */

function crumbs(run: RunRecord, step: StepRecord | null): Child[] {
  return [
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/runs" }, "Runs"),
      " / ",
      step ? h("a", { href: `#/runs/${run.run_id}` }, run.run_id) : run.run_id,
    ),
    h("h1", {}, step ? `Step ${step.name}` : `Run ${run.run_id}`),
  ];
}

/** Why a failed run failed, with links to its failed steps; null for other runs. */
function failureSection(run: RunRecord): HTMLElement | null {
  if (run.state !== "failed") return null;
  const failed = run.steps.filter((st) => st.state === "failed");
  return h(
    "section",
    { class: "failure", "aria-labelledby": "why" },
    h("h2", { id: "why" }, "Why it failed"),
    h("p", { class: "reason" }, run.reason ?? "no reason recorded"),
    failed.length
      ? h(
          "p",
          {},
          "Failed step: ",
          failed.map((st) =>
            h("a", { href: `#/runs/${run.run_id}/steps/${st.name}`, class: "failed-step" }, st.name),
          ),
        )
      : null,
  );
}

function runFacts(run: RunRecord): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Pipeline"),
    h("dd", {}, run.pipeline),
    h("dt", {}, "State"),
    h("dd", {}, badge(run.state), run.exit_code !== null ? ` exit ${run.exit_code}` : ""),
    h("dt", {}, "Trigger"),
    h(
      "dd",
      {},
      run.trigger ? `${run.trigger.object} (generation ${run.trigger.generation})` : "training data",
    ),
    h("dt", {}, "Started"),
    h("dd", {}, when(run.started)),
    h("dt", {}, "Duration"),
    h("dd", {}, seconds(run.seconds)),
    h("dt", {}, "Runner"),
    h("dd", {}, `${run.runner}, attempt ${run.attempt}, code ${run.code_version}`),
    run.output_prefix
      ? [
          h("dt", {}, "Outputs"),
          h("dd", {}, h("a", { href: `#/weeks/${run.output_prefix.split("/")[1]}` }, run.output_prefix)),
        ]
      : null,
  );
}

function stepsTable(run: RunRecord): HTMLElement {
  const columns = ["Step", "State", "Duration", "Exit code", "Cache", "Error"];
  return h(
    "table",
    { class: "steps" },
    h("caption", {}, "Steps"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      run.steps.map((st) =>
        h(
          "tr",
          { "data-step": st.name },
          h("td", {}, h("a", { href: `#/runs/${run.run_id}/steps/${st.name}` }, st.name)),
          h("td", {}, badge(st.state)),
          h("td", { class: "num" }, seconds(st.seconds)),
          h("td", { class: "num" }, st.exit_code ?? "–"),
          h(
            "td",
            {},
            cacheText(st, (from) => `hit (from ${from})`),
          ),
          h("td", {}, st.error ?? ""),
        ),
      ),
    ),
  );
}

function runView(ctx: PageContext, run: RunRecord, dag: DagNode[]): void {
  ctx.view(
    `Run ${run.run_id}`,
    crumbs(run, null),
    failureSection(run),
    runFacts(run),
    dagSvg(run, dag),
    stepsTable(run),
  );
}

export async function runPage(ctx: PageContext, runId: string, stepName: string | null): Promise<void> {
  const { run, dag } = await getRun(runId);
  const step = stepName ? run.steps.find((st) => st.name === stepName) : null;
  if (stepName && !step) throw new Error(`run ${runId} has no step ${stepName}`);
  if (step) await stepView(ctx, run, step, [crumbs(run, step), failureSection(run)]);
  else runView(ctx, run, dag);
  if (run.state === "running") ctx.live((next) => runPage(next, runId, stepName));
}
