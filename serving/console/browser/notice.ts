import { h, pageElement } from "./dom.js";

/** The banner under the page (role=alert): refusals, errors and confirmations of changes. */
export function showNotice(text: string, kind: "error" | "ok" = "error"): void {
  const notice = pageElement("notice");
  notice.hidden = false;
  notice.className = `notice notice-${kind}`;
  notice.replaceChildren(
    h("p", {}, text),
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          notice.hidden = true;
        },
      },
      "Dismiss",
    ),
  );
}
