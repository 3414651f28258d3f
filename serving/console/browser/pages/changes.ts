import type { ChampionChange } from "../../api-types.js";
import { ApiError } from "../api.js";
import { h } from "../dom.js";
import { showNotice } from "../notice.js";
import type { PageContext } from "../router.js";

/**
 * Promote and rollback from the models page: refused with the reason on a
 * read-only console, confirmed first otherwise, and sent with the bearer
 * token the user gave this tab (sessionStorage: gone when the tab closes).
 */

const TOKEN_KEY = "churn-ui-token";

/** The token kept for this tab, if the user gave one. */
export function keptToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Ask, then make the change; the notice says what happened, and the page reloads. */
export async function change(
  ctx: PageContext,
  what: string,
  send: (token: string | null) => Promise<ChampionChange>,
): Promise<void> {
  if (ctx.status?.read_only) {
    showNotice(
      "The console is read-only: restart it with `churn ui --allow-changes` to promote or roll back.",
    );
    return;
  }
  if (
    !confirm(
      `${what}?\n\nThis changes models/champion: the model server and the next weekly runs use the new champion.`,
    )
  )
    return;
  try {
    const pointer = await send(keptToken());
    showNotice(`Champion is now ${pointer.version}.`, "ok");
    await ctx.reload();
  } catch (error) {
    const status = error instanceof ApiError ? error.status : "error";
    showNotice(`Refused (${status}): ${(error as Error).message}`);
  }
}

/** Where the user gives the change token, when the console asks for one. */
export function tokenForm(ctx: PageContext): HTMLFormElement | null {
  if (!ctx.status?.auth_required) return null;
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    value: keptToken() ?? "",
  });
  return h(
    "form",
    {
      class: "token",
      onsubmit: (e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value);
        showNotice("Token kept for this browser tab.", "ok");
      },
    },
    h("label", { for: "token" }, "Change token"),
    input,
    h("button", { type: "submit" }, "Use token"),
  );
}
