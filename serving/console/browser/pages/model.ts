import type { ModelDetail } from "../../api-types.js";
import { getModel } from "../api.js";
import { barChart, calibrationChart } from "../charts/bars.js";
import { h } from "../dom.js";
import type { PageContext } from "../router.js";

/** `#/models/<version>`: a model's metrics, tier thresholds, the gate's decision and its evaluation charts. */

const DRIVERS_SHOWN = 8;

function charts({ model, report }: ModelDetail): HTMLElement[] {
  const shown: HTMLElement[] = [];
  if (model.cv_roc_auc)
    shown.push(barChart("Cross-validated ROC-AUC by model family", Object.entries(model.cv_roc_auc)));
  if (report?.lift)
    shown.push(
      barChart(
        "Lift by score decile (held-out rows)",
        report.lift.map((d): [string, number] => [`decile ${d.decile}`, d.lift]),
        { max: Math.max(...report.lift.map((d) => d.lift)), format: (v) => v.toFixed(2) },
      ),
    );
  if (report?.calibration) shown.push(calibrationChart(report.calibration));
  if (report?.drivers)
    shown.push(
      barChart(
        "Strongest drivers (mean absolute contribution)",
        report.drivers.slice(0, DRIVERS_SHOWN).map((d): [string, number] => [d.column, d.meanAbs]),
        { max: Math.max(...report.drivers.map((d) => d.meanAbs)), format: (v) => v.toFixed(2) },
      ),
    );
  return shown;
}

/** The gate's sentence from the bundle's evaluation.json, when it has one. */
function decisionOf(evaluation: unknown): string | null {
  if (typeof evaluation !== "object" || evaluation === null || !("reason" in evaluation)) return null;
  return typeof evaluation.reason === "string" ? evaluation.reason : null;
}

function modelFacts({ model, evaluation, report }: ModelDetail): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Family"),
    h("dd", {}, model.family),
    h("dt", {}, "ROC-AUC"),
    h("dd", {}, model.roc_auc.toFixed(4)),
    report
      ? [
          h("dt", {}, "Held-out"),
          h(
            "dd",
            {},
            `${report.rows} rows, PR-AUC ${report.prAuc?.toFixed(3)}, Brier ${report.brier?.toFixed(4)} (run `,
            h("a", { href: `#/runs/${report.run}` }, report.run),
            ")",
          ),
        ]
      : null,
    h("dt", {}, "Tier thresholds"),
    h("dd", {}, `high ≥ ${model.tiers.high.toFixed(3)}, medium ≥ ${model.tiers.medium.toFixed(3)}`),
    h("dt", {}, "Training rows"),
    h("dd", {}, model.training_rows ?? "–"),
    h("dt", {}, "Decision"),
    h("dd", {}, decisionOf(evaluation) ?? model.decision ?? "–"),
  );
}

export async function modelPage(ctx: PageContext, version: string): Promise<void> {
  const detail = await getModel(version);
  const { model } = detail;
  const shown = charts(detail);
  ctx.view(
    `Model ${model.version}`,
    h("p", { class: "crumbs" }, h("a", { href: "#/models" }, "Models"), " / ", model.version),
    h(
      "h1",
      {},
      `Model ${model.version}`,
      model.champion ? h("span", { class: "badge champion-badge" }, "champion") : null,
    ),
    modelFacts(detail),
    h(
      "section",
      { "aria-labelledby": "charts" },
      h("h2", { id: "charts" }, "Evaluation"),
      shown.length
        ? h("div", { class: "charts" }, shown)
        : h("p", {}, "No evaluation report in the bucket for this model."),
    ),
  );
}
