import type { PublishedSummaryView, RejectedRows, WeekDetail } from "../../api-types.js";
import { getWeek } from "../api.js";
import { h } from "../dom.js";
import { badge } from "../format.js";
import type { PageContext } from "../router.js";
import { fileLinks } from "./files.js";

/** `#/weeks/<stem>`: a week's status, runs, model, files, summary and rejected rows (pii blanked by the server). */

function weekFacts(week: WeekDetail): HTMLElement {
  const model = week.summary?.model_version;
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Status"),
    h("dd", {}, badge(week.status)),
    h("dt", {}, "Weekly file"),
    h("dd", {}, week.weekly_file ? h("code", {}, week.weekly_file) : "no longer in weekly/"),
    week.failure ? [h("dt", {}, "Last failure"), h("dd", { class: "reason" }, week.failure)] : null,
    h("dt", {}, "Runs"),
    h(
      "dd",
      {},
      week.runs.length ? week.runs.map((r, i) => [i ? ", " : "", h("a", { href: `#/runs/${r}` }, r)]) : "–",
    ),
    model ? [h("dt", {}, "Model"), h("dd", {}, h("a", { href: `#/models/${model}` }, model))] : null,
  );
}

function summarySection(summary: PublishedSummaryView): HTMLElement {
  const counts = summary.counts;
  return h(
    "section",
    { "aria-labelledby": "summary" },
    h("h2", { id: "summary" }, "Summary"),
    counts
      ? h(
          "table",
          { class: "counts" },
          h("caption", {}, "Counts"),
          h(
            "tbody",
            {},
            Object.entries(counts).map(([k, v]) =>
              h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "num" }, v)),
            ),
          ),
        )
      : null,
    summary.model_decision ? h("p", {}, summary.model_decision) : null,
    h(
      "details",
      {},
      h("summary", {}, "summary.json"),
      h("pre", { class: "json", tabindex: 0 }, JSON.stringify(summary, null, 2)),
    ),
  );
}

function rejectedTable(rejected: RejectedRows): HTMLElement {
  if (rejected.total === 0) return h("p", {}, "No rows were rejected.");
  return h(
    "table",
    { class: "rejected" },
    h(
      "caption",
      {},
      rejected.truncated
        ? `The first ${rejected.rows.length} of ${rejected.total}`
        : "Every rejected row; personal (pii) columns are blank",
    ),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Line", "Column", "Reason", "Row"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      rejected.rows.map((r) =>
        h(
          "tr",
          {},
          h("td", { class: "num" }, r.line),
          h("td", {}, r.column),
          h("td", {}, r.reason),
          h("td", {}, h("code", {}, r.raw)),
        ),
      ),
    ),
  );
}

export async function weekPage(ctx: PageContext, stem: string): Promise<void> {
  const week = await getWeek(stem);
  const { summary, rejected } = week;
  ctx.view(
    `Week ${stem}`,
    h("p", { class: "crumbs" }, h("a", { href: "#/weeks" }, "Weeks"), " / ", stem),
    h("h1", {}, `Week ${stem}`),
    weekFacts(week),
    week.report_url
      ? h("p", {}, h("a", { href: week.report_url, class: "report-link" }, "Open the report"))
      : null,
    h(
      "section",
      { "aria-labelledby": "files" },
      h("h2", { id: "files" }, "Published files"),
      fileLinks(week),
    ),
    summary ? summarySection(summary) : null,
    rejected
      ? h(
          "section",
          { "aria-labelledby": "rejected" },
          h("h2", { id: "rejected" }, `Rejected rows (${rejected.total})`),
          rejectedTable(rejected),
        )
      : null,
  );
}
