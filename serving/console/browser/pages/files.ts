import type { ConsoleWeek } from "../../api-types.js";
import { h } from "../dom.js";
import { bytes } from "../format.js";

/** A week's published files as links: HTML opens in the page, the rest download as `<stem>-<name>`. */
export function fileLinks(week: ConsoleWeek): HTMLElement {
  return h(
    "ul",
    { class: "files" },
    week.files
      // Markers (_SUCCESS, _FAILED) are the publish protocol, not something to open.
      .filter((f) => !f.name.startsWith("_"))
      .map((f) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: f.url, download: f.name.endsWith(".html") ? null : `${week.stem}-${f.name}` },
            f.name,
          ),
          ` (${bytes(f.size)})`,
        ),
      ),
  );
}
