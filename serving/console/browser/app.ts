import type { ConsoleStatus } from "../api-types.js";
import { getStatus } from "./api.js";
import { h, pageElement } from "./dom.js";
import { startRouter } from "./router.js";
import { pageFor } from "./routes.js";

/**
 * The console's entry module (index.html loads it as /static/app.js): the
 * status line, the skip link, then the router. Compiled from TypeScript by
 * `npm run build` (browser/tsconfig.json); relative imports only, so the page
 * loads nothing beyond this origin.
 */

async function showStatus(): Promise<ConsoleStatus | null> {
  const line = pageElement("status");
  try {
    const status = await getStatus();
    line.replaceChildren(
      "Bucket ",
      h("code", {}, status.bucket),
      " · ",
      status.read_only
        ? h("span", { class: "badge readonly-badge" }, "read-only")
        : h("span", { class: "badge changes-badge" }, "changes allowed"),
    );
    return status;
  } catch (error) {
    line.textContent = `The console API does not answer: ${(error as Error).message}`;
    return null;
  }
}

async function start(): Promise<void> {
  const status = await showStatus();
  // The skip link must not change the hash: the hash is the router's.
  document.querySelector(".skip")?.addEventListener("click", (event) => {
    event.preventDefault();
    pageElement("main").focus();
  });
  await startRouter(pageFor, status);
}

void start();
