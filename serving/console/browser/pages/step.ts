import type { RunRecord, StepRecord } from "../../api-types.js";
import { stepLogChunks, stepLogTail, stepLogUrl } from "../api.js";
import { type Child, h } from "../dom.js";
import { badge, bytes, cacheText, seconds } from "../format.js";
import type { PageContext } from "../router.js";

/**
 * `#/runs/<id>/steps/<step>`: one step's facts, its inputs and outputs with
 * content hashes, and its log as text (time, level, message, fields, as
 * `churn runs logs` prints it): the last 64 KiB at once, the whole log
 * streamed into the page on request, or downloaded as the step wrote it.
 */

const TAIL_BYTES = 64 * 1024;

function stepFacts(step: StepRecord): HTMLElement {
  const counts = Object.entries(step.counts);
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Component"),
    h("dd", {}, step.component),
    h("dt", {}, "State"),
    h("dd", {}, badge(step.state)),
    h("dt", {}, "Duration"),
    h("dd", {}, seconds(step.seconds)),
    h("dt", {}, "Exit code"),
    h("dd", {}, step.exit_code ?? "–"),
    h("dt", {}, "Attempts"),
    h("dd", {}, step.attempts),
    h("dt", {}, "Cache"),
    h(
      "dd",
      {},
      cacheText(step, (from) => `hit, from ${from}`),
    ),
    step.error ? [h("dt", {}, "Error"), h("dd", { class: "reason" }, step.error)] : null,
    counts.length
      ? [h("dt", {}, "Counts"), h("dd", {}, counts.map(([k, v]) => `${k} ${v}`).join(", "))]
      : null,
  );
}

type Refs = StepRecord["inputs"] | StepRecord["outputs"];

/** A step's inputs or outputs: port name, object and content hash. */
function refList(refs: Refs): HTMLElement {
  const entries = Object.entries(refs);
  if (entries.length === 0) return h("p", {}, "none");
  return h(
    "table",
    { class: "refs" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Object", "SHA-256"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      entries.flatMap(([name, list]) =>
        (Array.isArray(list) ? list : [list]).map((ref) =>
          h(
            "tr",
            {},
            h("td", {}, name),
            h("td", {}, h("code", {}, ref.object)),
            h("td", {}, h("code", { class: "hash", title: ref.sha256 }, ref.sha256.slice(0, 16), "…")),
          ),
        ),
      ),
    ),
  );
}

/** The button that streams the whole log into `pre`, saying how it went in `note`. */
function fullLogButton(url: string, pre: HTMLElement, note: HTMLElement): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        button.disabled = true;
        note.textContent = "Loading the full log…";
        pre.textContent = "";
        try {
          for await (const chunk of stepLogChunks(url, "text")) pre.append(chunk);
          note.textContent = "Full log.";
        } catch (error) {
          note.textContent = (error as Error).message;
        } finally {
          button.disabled = false;
        }
      },
    },
    "Show the full log",
  );
  return button;
}

/** Fill `pre` with the log's tail and `note` with where it came from and how much is left out. */
async function showTail(run: RunRecord, url: string, pre: HTMLElement, note: HTMLElement): Promise<void> {
  try {
    const tail = await stepLogTail(url, TAIL_BYTES, "text");
    pre.textContent = tail.text;
    note.textContent = [
      tail.run && tail.run !== run.run_id
        ? `Cached: this is the log of run ${tail.run}, which computed the result.`
        : null,
      tail.truncated ? `The last 64 KiB of ${bytes(tail.size)}.` : null,
    ]
      .filter(Boolean)
      .join(" ");
  } catch (error) {
    pre.textContent = "";
    note.textContent = (error as Error).message;
  }
}

async function logSection(run: RunRecord, step: StepRecord): Promise<HTMLElement> {
  const url = stepLogUrl(run.run_id, step.name);
  const pre = h("pre", { class: "log", tabindex: 0, "aria-label": `Log of step ${step.name}` });
  const note = h("p", { class: "log-note" });
  const full = fullLogButton(url, pre, note);
  await showTail(run, url, pre, note);
  return h(
    "section",
    { "aria-labelledby": "log" },
    h("h2", { id: "log" }, "Log"),
    note,
    pre,
    h(
      "p",
      {},
      full,
      " ",
      h("a", { href: url, download: `${run.run_id}-${step.name}.log` }, "Download the log"),
    ),
  );
}

function refSection(id: string, title: string, refs: Refs): HTMLElement {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), refList(refs));
}

/** Draw one step of a run under the run page's heading and failure reason (`head`). */
export async function stepView(
  ctx: PageContext,
  run: RunRecord,
  step: StepRecord,
  head: Child[],
): Promise<void> {
  const log = await logSection(run, step);
  ctx.view(
    `${step.name} · ${run.run_id}`,
    head,
    stepFacts(step),
    refSection("inputs", "Inputs", step.inputs),
    refSection("outputs", "Outputs", step.outputs),
    log,
  );
}
