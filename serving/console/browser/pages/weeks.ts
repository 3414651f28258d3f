import type { ConsoleWeek } from "../../api-types.js";
import { listWeeks } from "../api.js";
import { h } from "../dom.js";
import { badge } from "../format.js";
import type { PageContext } from "../router.js";
import { customerBox } from "./customer.js";
import { fileLinks } from "./files.js";

/** `#/weeks`: every weekly file and output folder with its status, counts and files. */

function weekRow(w: ConsoleWeek): HTMLTableRowElement {
  return h(
    "tr",
    { "data-week": w.stem },
    h(
      "td",
      {},
      h("a", { href: `#/weeks/${w.stem}` }, w.stem),
      w.weekly_file ? h("div", { class: "sub" }, h("code", {}, w.weekly_file)) : null,
    ),
    h("td", {}, badge(w.status), w.failure ? h("span", { class: "reason-inline" }, ` ${w.failure}`) : null),
    h("td", { class: "num" }, w.counts?.scored ?? "–"),
    h("td", { class: "num" }, w.counts?.rejected ?? "–"),
    h("td", {}, fileLinks(w)),
  );
}

export async function weeksPage(ctx: PageContext): Promise<void> {
  const { weeks } = await listWeeks();
  const columns = ["Week", "Status", "Scored", "Rejected", "Files"];
  ctx.view(
    "Weeks",
    h("h1", {}, "Weeks"),
    customerBox(),
    weeks.length === 0
      ? h("p", {}, "Nothing published yet.")
      : h(
          "table",
          { class: "weeks" },
          h("caption", {}, "Weekly outputs under output/"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              columns.map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h("tbody", {}, weeks.map(weekRow)),
        ),
  );
}
