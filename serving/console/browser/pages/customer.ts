import type { CustomerAnswer } from "../../../lookup/answer.js";
import { ApiError, findCustomer } from "../api.js";
import { h } from "../dom.js";

/**
 * The "find a customer" box (issue 20 item 4): a contact-centre agent types
 * the caller's id and sees their score in the newest complete week, from the
 * customer lookup (`/api/customers/{id}`, the same index `churn serve`
 * answers `GET /v1/customers/{id}` from). Unknown ids show the server's reason.
 */

/** The answer as a small table: what an agent reads out. */
function answerTable(a: CustomerAnswer): HTMLTableElement {
  const row = (label: string, value: string | Node) =>
    h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value));
  return h(
    "table",
    { class: "customer", "data-customer": a.id },
    h("caption", {}, `Customer ${a.id}, week ${a.week}`),
    h(
      "tbody",
      {},
      row("Churn probability", a.churn_probability.toFixed(3)),
      row("Risk tier", a.risk_tier),
      row(
        "Reasons",
        a.reasons.length === 0
          ? "–"
          : h(
              "ul",
              { class: "reasons" },
              a.reasons.map((r) => h("li", {}, r)),
            ),
      ),
      row("Contact list", a.rank === null ? "not listed" : `rank ${a.rank}, ${a.group ?? ""}`),
      row("P(alive)", a.prob_alive === null ? "–" : a.prob_alive.toFixed(3)),
      row("Model", a.model_version ?? "–"),
    ),
  );
}

/** The box: a labelled search field, and the answer or the reason below it. */
export function customerBox(): HTMLElement {
  const input = h("input", {
    id: "customer-id",
    name: "id",
    type: "search",
    autocomplete: "off",
    required: true,
  });
  const result = h("div", { class: "customer-result", role: "status", "aria-live": "polite" });
  const search = async (event: Event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (!id) return;
    result.replaceChildren("Looking up…");
    try {
      result.replaceChildren(answerTable(await findCustomer(id)));
    } catch (error) {
      const reason = error instanceof ApiError ? error.message : String(error);
      result.replaceChildren(h("p", { class: "reason" }, reason));
    }
  };
  return h(
    "section",
    { class: "find-customer", "aria-labelledby": "find-customer-title" },
    h("h2", { id: "find-customer-title" }, "Find a customer"),
    h(
      "form",
      { onsubmit: search },
      h("label", { for: "customer-id" }, "Customer id "),
      input,
      " ",
      h("button", { type: "submit" }, "Find"),
    ),
    result,
  );
}
