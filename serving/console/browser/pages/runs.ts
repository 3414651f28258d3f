import type { RunSummary } from "../../api-types.js";
import { listRuns } from "../api.js";
import { h } from "../dom.js";
import { badge, seconds, when } from "../format.js";
import type { PageContext } from "../router.js";

/** `#/runs?state=&pipeline=`: every run, newest first, filtered by state and pipeline. */

const FILTERS = ["state", "pipeline"] as const;

/** Every run state, checked against the API's type: a state added there fails the build until it is listed here. */
const STATES = Object.keys({
  running: true,
  interrupted: true,
  succeeded: true,
  failed: true,
} satisfies Record<RunSummary["state"], true>);

function filterForm(params: URLSearchParams, pipelines: string[]): HTMLFormElement {
  const options = (values: string[], key: string) =>
    values.map((v) => h("option", { value: v, selected: params.get(key) === v || null }, v || "any"));
  return h(
    "form",
    {
      class: "filters",
      "aria-label": "Filter runs",
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(e.target as HTMLFormElement);
        const next = new URLSearchParams();
        for (const key of FILTERS) {
          const value = data.get(key);
          if (typeof value === "string" && value) next.set(key, value);
        }
        location.hash = `#/runs${next.size ? `?${next}` : ""}`;
      },
    },
    h("label", { for: "f-state" }, "State"),
    h("select", { id: "f-state", name: "state" }, options(["", ...STATES], "state")),
    h("label", { for: "f-pipeline" }, "Pipeline"),
    h("select", { id: "f-pipeline", name: "pipeline" }, options(["", ...pipelines], "pipeline")),
    h("button", { type: "submit" }, "Filter"),
  );
}

function runRow(r: RunSummary): HTMLTableRowElement {
  return h(
    "tr",
    { "data-run": r.run_id },
    h("td", {}, h("a", { href: `#/runs/${r.run_id}` }, r.run_id)),
    h("td", {}, r.pipeline),
    h("td", {}, r.trigger ?? "training data"),
    h("td", {}, badge(r.state), r.reason ? h("span", { class: "reason-inline" }, ` ${r.reason}`) : null),
    h("td", {}, when(r.started)),
    h("td", { class: "num" }, seconds(r.seconds)),
    h("td", { class: "num" }, `${r.cache_hits} of ${r.steps}`),
  );
}

function runsTable(runs: RunSummary[]): HTMLElement {
  if (runs.length === 0)
    return h("p", {}, "No runs match. Start one with ", h("code", {}, "churn pipeline run"), ".");
  const columns = ["Run", "Pipeline", "Trigger", "State", "Started", "Duration", "Cache hits"];
  return h(
    "table",
    { class: "runs" },
    h("caption", {}, `${runs.length} run${runs.length === 1 ? "" : "s"}, newest first`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h("tbody", {}, runs.map(runRow)),
  );
}

export async function runsPage(ctx: PageContext, params: URLSearchParams): Promise<void> {
  const query = new URLSearchParams();
  for (const key of FILTERS) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const { runs } = await listRuns(query);
  ctx.view("Runs", h("h1", {}, "Runs"), filterForm(params, ctx.status?.pipelines ?? []), runsTable(runs));
  if (runs.some((r) => r.state === "running")) ctx.live((next) => runsPage(next, params));
}
