import type { ChampionPointer, ModelListing, ModelSummary } from "../../api-types.js";
import { listModels, promoteModel, rollbackChampion } from "../api.js";
import { h } from "../dom.js";
import { when } from "../format.js";
import type { PageContext } from "../router.js";
import { change, tokenForm } from "./changes.js";

/** `#/models`: the champion with rollback, every bundle with promote, and unreadable bundles. */

function modelRow(ctx: PageContext, m: ModelSummary): HTMLTableRowElement {
  const promote = h(
    "button",
    {
      type: "button",
      class: "promote",
      "aria-disabled": ctx.status?.read_only ? "true" : null,
      onclick: () =>
        change(ctx, `Promote ${m.version} to champion`, (token) => promoteModel(m.version, token)),
    },
    `Promote ${m.version.slice(0, 8)}…`,
  );
  const cv = m.cv_roc_auc
    ? Object.entries(m.cv_roc_auc)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(", ")
    : "–";
  return h(
    "tr",
    { "data-version": m.version, class: m.champion ? "champion" : null },
    h(
      "td",
      {},
      h("a", { href: `#/models/${m.version}` }, h("code", {}, m.version)),
      m.champion ? h("span", { class: "badge champion-badge" }, "champion") : null,
    ),
    h("td", {}, m.family),
    h("td", { class: "num" }, m.roc_auc.toFixed(4)),
    h("td", {}, cv),
    h("td", {}, when(m.created)),
    h("td", {}, m.champion ? "" : promote),
  );
}

function championSection(ctx: PageContext, champion: ChampionPointer | null): HTMLElement {
  const rollback =
    champion && champion.previous.length > 0
      ? h(
          "button",
          {
            type: "button",
            id: "rollback",
            "aria-disabled": ctx.status?.read_only ? "true" : null,
            onclick: () =>
              change(ctx, `Roll back from ${champion.version} to ${champion.previous[0]}`, (token) =>
                rollbackChampion(token),
              ),
          },
          `Roll back to ${champion.previous[0]}`,
        )
      : null;
  return h(
    "section",
    { "aria-labelledby": "champ" },
    h("h2", { id: "champ" }, "Champion"),
    champion
      ? h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Version"),
          h("dd", { id: "champion-version" }, h("code", {}, champion.version)),
          h("dt", {}, "Since"),
          h("dd", {}, when(champion.changed_at)),
          h("dt", {}, "Why"),
          h("dd", {}, champion.reason),
          h("dt", {}, "Before"),
          h("dd", {}, champion.previous.length ? champion.previous.join(", ") : "none"),
        )
      : h("p", {}, "No champion yet."),
    rollback,
  );
}

function problemsSection(problems: ModelListing["problems"]): HTMLElement | null {
  if (!problems.length) return null;
  return h(
    "section",
    { class: "failure", "aria-labelledby": "problems" },
    h("h2", { id: "problems" }, "Unreadable bundles"),
    h(
      "ul",
      {},
      problems.map((p) => h("li", {}, h("code", {}, p.version), `: ${p.error}`)),
    ),
  );
}

function modelsTable(ctx: PageContext, models: ModelSummary[]): HTMLElement {
  if (models.length === 0) return h("p", {}, "No models yet.");
  const columns = ["Version", "Family", "ROC-AUC", "Cross-validated", "Created", "Action"];
  return h(
    "table",
    { class: "models" },
    h("caption", {}, "Model bundles, newest first"),
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
      [...models].reverse().map((m) => modelRow(ctx, m)),
    ),
  );
}

export async function modelsPage(ctx: PageContext): Promise<void> {
  const { champion, models, problems } = await listModels();
  const readOnly = ctx.status?.read_only
    ? h(
        "p",
        { class: "readonly" },
        "Read-only console: promote and roll back are refused. Start it with ",
        h("code", {}, "--allow-changes"),
        " to enable them.",
      )
    : null;
  ctx.view(
    "Models",
    h("h1", {}, "Models"),
    readOnly,
    tokenForm(ctx),
    problemsSection(problems),
    championSection(ctx, champion),
    modelsTable(ctx, models),
  );
}
