import type { ConsoleStatus } from "../api-types.js";
import { append, type Child, h, pageElement } from "./dom.js";

/**
 * A hash router: `#/runs/<id>` and the like choose a page (routes.ts), and
 * the page draws through a View. Every navigation bumps a generation, so a
 * slow answer for a page the user has left is dropped instead of drawn over
 * the new one, and a live refresh stops when the user navigates.
 */

/** Draw the page: its title and content replace the previous page's. */
export type View = (title: string, ...content: Child[]) => void;

/** A page: loads what it shows and draws it through `ctx.view`. */
export type Page = (ctx: PageContext) => Promise<void>;

/** What a page works with; the router makes one per page load. */
export interface PageContext {
  view: View;
  /** `GET /api/status` as loaded at start (null when the API did not answer). */
  status: ConsoleStatus | null;
  /** Load this page again in 2 s, keeping focus where it is (while a run is going). */
  live(again: Page): void;
  /** Load the current page again now (after a change). */
  reload(): Promise<void>;
}

/** Which page a hash path shows: its decoded parts and query. */
export type Resolve = (parts: string[], params: URLSearchParams) => Page;

const REFRESH_MS = 2000;

/** Replace the page content; on navigation move focus to it (keyboard and screen reader users land on the new page). */
function render(title: string, content: Child[], keepFocus: boolean): void {
  const main = pageElement("main");
  document.title = `${title} · churn console`;
  const page = document.createDocumentFragment();
  append(page, content);
  main.replaceChildren(page);
  if (!keepFocus) main.focus({ preventScroll: true });
}

function errorPage(error: unknown, view: View): void {
  view(
    "Error",
    h("h1", {}, "Something went wrong"),
    h("p", { class: "reason" }, (error instanceof Error && error.message) || String(error)),
  );
}

/** Start routing: draw the page of the current hash and of every later change. */
export function startRouter(resolve: Resolve, status: ConsoleStatus | null): Promise<void> {
  let generation = 0;
  let refresh: ReturnType<typeof setTimeout> | undefined;

  /** A View for one page load: it does nothing once a newer page has started loading. */
  const viewFor =
    (mine: number, keepFocus: boolean): View =>
    (title, ...content) => {
      if (mine === generation) render(title, content, keepFocus);
    };

  const contextFor = (mine: number, keepFocus: boolean): PageContext => ({
    view: viewFor(mine, keepFocus),
    status,
    live: (again) => live(mine, again),
    reload: route,
  });

  function live(mine: number, again: Page): void {
    refresh = setTimeout(async () => {
      if (mine !== generation) return;
      const focused = document.activeElement?.getAttribute?.("href");
      try {
        await again(contextFor(mine, true));
      } catch {
        // a failed refresh keeps the last page; the next navigation reports errors
      }
      // Keep keyboard focus where it was across refreshes.
      const main = pageElement("main");
      const target =
        mine === generation && focused
          ? main.querySelector<HTMLElement>(`[href="${CSS.escape(focused)}"]`)
          : null;
      target?.focus();
    }, REFRESH_MS);
  }

  async function route(): Promise<void> {
    const mine = ++generation;
    const ctx = contextFor(mine, false);
    clearTimeout(refresh);
    const [path = "", query = ""] = (location.hash.slice(1) || "/runs").split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
      if (link.dataset.section === parts[0]) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    try {
      await resolve(parts, new URLSearchParams(query))(ctx);
    } catch (error) {
      errorPage(error, ctx.view);
    }
  }

  window.addEventListener("hashchange", () => void route());
  return route();
}
