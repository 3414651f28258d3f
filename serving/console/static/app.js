// The churn console's pages: a hash router over the JSON API under /api/.
// Hand-written ES module, no build step, no requests beyond this origin.
// Every element is built with the DOM API (never innerHTML), so bucket
// content cannot inject markup.

const SVG = "http://www.w3.org/2000/svg";
const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const notice = document.getElementById("notice");

/** @type {{bucket: string, read_only: boolean, auth_required: boolean, pipelines: string[]} | null} */
let status = null;
/** The timer of the page's live refresh; cleared on navigation. */
let refresh = null;
/** Bumped on every navigation so slow answers for an old page are dropped. */
let generation = 0;
/** True while a live refresh re-renders the current page: focus stays where the user left it. */
let refreshing = false;

/** Build an element: h("a", {href: "#"}, "text", child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") ?? "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof body === "object" ? body.error : body);
  return body;
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 120) return `${value.toFixed(1)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return h("time", { datetime: iso }, d.toISOString().replace("T", " ").slice(0, 19));
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function badge(state) {
  return h("span", { class: `badge state-${state}` }, state);
}

function showNotice(text, kind = "error") {
  notice.hidden = false;
  notice.className = `notice notice-${kind}`;
  notice.replaceChildren(
    h("p", {}, text),
    h("button", { type: "button", onclick: () => (notice.hidden = true) }, "Dismiss"),
  );
}

/** Replace the page content and move focus to it (keyboard and screen reader users land on the new page). */
function render(title, ...content) {
  document.title = `${title} · churn console`;
  main.replaceChildren(...content.flat().filter(Boolean));
  if (!refreshing) main.focus({ preventScroll: true });
}

function errorPage(error, view) {
  view(
    "Error",
    h("h1", {}, "Something went wrong"),
    h("p", { class: "reason" }, error.message || String(error)),
  );
}

// ---------------------------------------------------------------- runs

async function runsPage(params, view) {
  const query = new URLSearchParams();
  if (params.get("state")) query.set("state", params.get("state"));
  if (params.get("pipeline")) query.set("pipeline", params.get("pipeline"));
  const { runs } = await api(`/api/runs?${query}`);
  const filter = h(
    "form",
    {
      class: "filters",
      "aria-label": "Filter runs",
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(e.target);
        const next = new URLSearchParams();
        for (const key of ["state", "pipeline"]) if (data.get(key)) next.set(key, data.get(key));
        location.hash = `#/runs${next.size ? `?${next}` : ""}`;
      },
    },
    h("label", { for: "f-state" }, "State"),
    h(
      "select",
      { id: "f-state", name: "state" },
      ["", "running", "succeeded", "failed"].map((v) =>
        h("option", { value: v, selected: params.get("state") === v || null }, v || "any"),
      ),
    ),
    h("label", { for: "f-pipeline" }, "Pipeline"),
    h(
      "select",
      { id: "f-pipeline", name: "pipeline" },
      ["", ...(status?.pipelines ?? [])].map((v) =>
        h("option", { value: v, selected: params.get("pipeline") === v || null }, v || "any"),
      ),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  const table =
    runs.length === 0
      ? h("p", {}, "No runs match. Start one with ", h("code", {}, "churn pipeline run"), ".")
      : h(
          "table",
          { class: "runs" },
          h("caption", {}, `${runs.length} run${runs.length === 1 ? "" : "s"}, newest first`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Run", "Pipeline", "Trigger", "State", "Started", "Duration", "Cache hits"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            runs.map((r) =>
              h(
                "tr",
                { "data-run": r.run_id },
                h("td", {}, h("a", { href: `#/runs/${r.run_id}` }, r.run_id)),
                h("td", {}, r.pipeline),
                h("td", {}, r.trigger ?? "training data"),
                h(
                  "td",
                  {},
                  badge(r.state),
                  r.reason ? h("span", { class: "reason-inline" }, ` ${r.reason}`) : null,
                ),
                h("td", {}, when(r.started)),
                h("td", { class: "num" }, seconds(r.seconds)),
                h("td", { class: "num" }, `${r.cache_hits} of ${r.steps}`),
              ),
            ),
          ),
        );
  view("Runs", h("h1", {}, "Runs"), filter, table);
  if (runs.some((r) => r.state === "running")) live((v) => runsPage(params, v));
}

function layers(dag) {
  const byName = new Map(dag.map((n) => [n.name, n]));
  const depth = new Map();
  const visit = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const node = byName.get(name);
    const d = node?.deps.length
      ? 1 + Math.max(...node.deps.filter((x) => byName.has(x)).map((x) => visit(x, seen)), -1)
      : 0;
    depth.set(name, d);
    return d;
  };
  for (const node of dag) visit(node.name);
  const rows = [];
  for (const node of dag) {
    const d = depth.get(node.name);
    rows[d] = rows[d] ?? [];
    rows[d].push(node);
  }
  return rows;
}

/**
 * Edges to draw: the transitive reduction (a -> c is left out when a -> b -> c
 * exists), so the picture shows the order without a tangle of implied edges.
 */
function drawnDeps(dag) {
  const deps = new Map(dag.map((n) => [n.name, n.deps.filter((d) => dag.some((m) => m.name === d))]));
  const reach = new Map();
  const ancestors = (name) => {
    if (reach.has(name)) return reach.get(name);
    const set = new Set();
    reach.set(name, set);
    for (const d of deps.get(name) ?? []) {
      set.add(d);
      for (const a of ancestors(d)) set.add(a);
    }
    return set;
  };
  return new Map(
    dag.map((n) => {
      const direct = deps.get(n.name);
      return [n.name, direct.filter((d) => !direct.some((other) => other !== d && ancestors(other).has(d)))];
    }),
  );
}

/** The run's DAG as inline SVG: one link per step, showing state, duration and exit code. */
function dagSvg(run, fullDag) {
  const edges = drawnDeps(fullDag);
  const dag = fullDag.map((n) => ({ ...n, deps: edges.get(n.name) }));
  const steps = new Map(run.steps.map((st) => [st.name, st]));
  const rows = layers(dag);
  const W = 190,
    H = 48,
    GX = 28,
    GY = 30;
  const widest = Math.max(...rows.map((r) => r.length));
  const row = new Map();
  rows.forEach((r, y) => {
    for (const node of r) row.set(node.name, y);
  });
  // Edges that skip layers run in lanes on the right, so they never cross a box.
  const long = dag.flatMap((node) =>
    node.deps
      .filter((dep) => row.has(dep) && row.get(node.name) - row.get(dep) > 1)
      .map((dep) => [dep, node.name]),
  );
  const LANE = 12;
  const boxes = widest * W + (widest - 1) * GX;
  const width = boxes + 8 + (long.length ? 16 + long.length * LANE : 0);
  const height = rows.length * H + (rows.length - 1) * GY + 8;
  const pos = new Map();
  rows.forEach((r, y) => {
    const rowWidth = r.length * W + (r.length - 1) * GX;
    r.forEach((node, x) => {
      pos.set(node.name, { x: 4 + (boxes - rowWidth) / 2 + x * (W + GX), y: 4 + y * (H + GY) });
    });
  });
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      class: "dag",
      role: "group",
      "aria-label": `Steps of run ${run.run_id}`,
    },
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }),
      ),
    ),
  );
  const laneOf = new Map(long.map(([a, b], i) => [`${a}>${b}`, i]));
  for (const node of dag) {
    for (const dep of node.deps) {
      const a = pos.get(dep);
      const b = pos.get(node.name);
      if (!a || !b) continue;
      const lane = laneOf.get(`${dep}>${node.name}`);
      let d;
      if (lane !== undefined) {
        const x = 4 + boxes + 16 + lane * LANE;
        const y1 = a.y + H / 2 + (lane % 3) * 4 - 4;
        const y2 = b.y + H / 2 + (lane % 3) * 4 - 4;
        d = `M ${a.x + W} ${y1} H ${x} V ${y2} H ${b.x + W + 2}`;
      } else {
        const x1 = a.x + W / 2;
        const y1 = a.y + H;
        const x2 = b.x + W / 2;
        const y2 = b.y;
        d = `M ${x1} ${y1} C ${x1} ${y1 + GY / 2}, ${x2} ${y2 - GY / 2}, ${x2} ${y2 - 2}`;
      }
      svg.append(s("path", { d, class: "edge", "marker-end": "url(#arrow)" }));
    }
  }
  for (const node of dag) {
    const st = steps.get(node.name);
    const state = st?.state ?? "pending";
    const p = pos.get(node.name);
    const detail = [
      state,
      st?.cache?.hit ? "cached" : null,
      st?.seconds != null ? seconds(st.seconds) : null,
      st?.exit_code != null ? `exit ${st.exit_code}` : null,
    ].filter(Boolean);
    const uniq = [...new Set(detail)].join(" · ");
    svg.append(
      s(
        "a",
        {
          href: `#/runs/${run.run_id}/steps/${node.name}`,
          class: `node state-${state}`,
          "data-step": node.name,
          "aria-label": `${node.name}: ${uniq}`,
        },
        s("title", {}, `${node.name} (${node.component}): ${node.description || ""}`),
        s("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6 }),
        s("text", { x: p.x + 10, y: p.y + 19, class: "node-name" }, node.name),
        s("text", { x: p.x + 10, y: p.y + 37, class: "node-detail" }, uniq),
      ),
    );
  }
  return h(
    "figure",
    { class: "dag-wrap" },
    svg,
    h("figcaption", {}, "Pipeline steps; each box links to the step's details and log."),
  );
}

function refList(refs) {
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

async function runPage(runId, stepName, view) {
  const { run, dag } = await api(`/api/runs/${encodeURIComponent(runId)}`);
  const step = stepName ? run.steps.find((st) => st.name === stepName) : null;
  if (stepName && !step) throw new Error(`run ${runId} has no step ${stepName}`);
  const failed = run.steps.filter((st) => st.state === "failed");
  const head = [
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/runs" }, "Runs"),
      " / ",
      step ? h("a", { href: `#/runs/${run.run_id}` }, run.run_id) : run.run_id,
    ),
    h("h1", {}, step ? `Step ${step.name}` : `Run ${run.run_id}`),
  ];
  const facts = h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Pipeline"),
    h("dd", {}, run.pipeline),
    h("dt", {}, "State"),
    h("dd", {}, badge(run.state), run.exit_code !== null ? ` exit ${run.exit_code}` : ""),
    h("dt", {}, "Trigger"),
    h(
      "dd",
      {},
      run.trigger ? `${run.trigger.object} (generation ${run.trigger.generation})` : "training data",
    ),
    h("dt", {}, "Started"),
    h("dd", {}, when(run.started)),
    h("dt", {}, "Duration"),
    h("dd", {}, seconds(run.seconds)),
    h("dt", {}, "Runner"),
    h("dd", {}, `${run.runner}, attempt ${run.attempt}, code ${run.code_version}`),
    run.output_prefix
      ? [
          h("dt", {}, "Outputs"),
          h("dd", {}, h("a", { href: `#/weeks/${run.output_prefix.split("/")[1]}` }, run.output_prefix)),
        ]
      : null,
  );
  const reason =
    run.state === "failed"
      ? h(
          "section",
          { class: "failure", "aria-labelledby": "why" },
          h("h2", { id: "why" }, "Why it failed"),
          h("p", { class: "reason" }, run.reason ?? "no reason recorded"),
          failed.length
            ? h(
                "p",
                {},
                "Failed step: ",
                failed.map((st) =>
                  h("a", { href: `#/runs/${run.run_id}/steps/${st.name}`, class: "failed-step" }, st.name),
                ),
              )
            : null,
        )
      : null;
  if (!step) {
    const table = h(
      "table",
      { class: "steps" },
      h("caption", {}, "Steps"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Step", "State", "Duration", "Exit code", "Cache", "Error"].map((c) =>
            h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        run.steps.map((st) =>
          h(
            "tr",
            { "data-step": st.name },
            h("td", {}, h("a", { href: `#/runs/${run.run_id}/steps/${st.name}` }, st.name)),
            h("td", {}, badge(st.state)),
            h("td", { class: "num" }, seconds(st.seconds)),
            h("td", { class: "num" }, st.exit_code ?? "–"),
            h("td", {}, st.cache?.hit ? `hit (from ${st.cache.from})` : st.cache ? "miss" : "not cached"),
            h("td", {}, st.error ?? ""),
          ),
        ),
      ),
    );
    view(`Run ${run.run_id}`, head, reason, facts, dagSvg(run, dag), table);
  } else {
    const stepFacts = h(
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
      h("dd", {}, step.cache?.hit ? `hit, from ${step.cache.from}` : step.cache ? "miss" : "not cached"),
      step.error ? [h("dt", {}, "Error"), h("dd", { class: "reason" }, step.error)] : null,
      Object.keys(step.counts).length
        ? [
            h("dt", {}, "Counts"),
            h(
              "dd",
              {},
              Object.entries(step.counts)
                .map(([k, v]) => `${k} ${v}`)
                .join(", "),
            ),
          ]
        : null,
    );
    const log = await logSection(run, step);
    view(
      `${step.name} · ${run.run_id}`,
      head,
      reason,
      stepFacts,
      h(
        "section",
        { "aria-labelledby": "inputs" },
        h("h2", { id: "inputs" }, "Inputs"),
        refList(step.inputs),
      ),
      h(
        "section",
        { "aria-labelledby": "outputs" },
        h("h2", { id: "outputs" }, "Outputs"),
        refList(step.outputs),
      ),
      log,
    );
  }
  if (run.state === "running") live((v) => runPage(runId, stepName, v));
}

async function logSection(run, step) {
  const url = `/api/runs/${encodeURIComponent(run.run_id)}/steps/${encodeURIComponent(step.name)}/log`;
  const pre = h("pre", { class: "log", tabindex: 0, "aria-label": `Log of step ${step.name}` });
  const note = h("p", { class: "log-note" });
  const fullButton = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        fullButton.disabled = true;
        note.textContent = "Loading the full log…";
        pre.textContent = "";
        try {
          // Streams: big logs appear as they arrive instead of after the last byte.
          const response = await fetch(url);
          if (!response.ok) throw new ApiError(response.status, (await response.json()).error);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            pre.append(value);
          }
          note.textContent = "Full log.";
        } catch (error) {
          note.textContent = error.message;
        } finally {
          fullButton.disabled = false;
        }
      },
    },
    "Show the full log",
  );
  try {
    const response = await fetch(`${url}?tail=65536`);
    if (!response.ok) throw new ApiError(response.status, (await response.json()).error);
    pre.textContent = await response.text();
    const from = response.headers.get("x-log-run");
    const truncated = response.headers.get("x-log-truncated") === "true";
    note.textContent = [
      from && from !== run.run_id
        ? `Cached: this is the log of run ${from}, which computed the result.`
        : null,
      truncated ? `The last 64 KiB of ${bytes(Number(response.headers.get("x-log-size")))}.` : null,
    ]
      .filter(Boolean)
      .join(" ");
  } catch (error) {
    pre.textContent = "";
    note.textContent = error.message;
  }
  return h(
    "section",
    { "aria-labelledby": "log" },
    h("h2", { id: "log" }, "Log"),
    note,
    pre,
    h(
      "p",
      {},
      fullButton,
      " ",
      h("a", { href: url, download: `${run.run_id}-${step.name}.log` }, "Download the log"),
    ),
  );
}

// ---------------------------------------------------------------- models

function barChart(label, entries, { max = 1, format = (v) => v.toFixed(3) } = {}) {
  const W = 470,
    row = 26,
    left = 190;
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${entries.length * row + 8}`,
    width: W,
    height: entries.length * row + 8,
    role: "img",
    "aria-label": `${label}: ${entries.map(([k, v]) => `${k} ${format(v)}`).join(", ")}`,
    class: "chart",
  });
  entries.forEach(([name, value], i) => {
    const y = 4 + i * row;
    svg.append(
      s("text", { x: left - 8, y: y + 16, "text-anchor": "end", class: "axis" }, name),
      s("rect", {
        x: left,
        y: y + 3,
        width: Math.max(1, (W - left - 70) * Math.min(1, value / max)),
        height: row - 8,
        class: "bar",
      }),
      s(
        "text",
        { x: left + (W - left - 70) * Math.min(1, value / max) + 6, y: y + 16, class: "axis" },
        format(value),
      ),
    );
  });
  return h("figure", { class: "chart-wrap" }, svg, h("figcaption", {}, label));
}

function calibrationChart(points) {
  const W = 260,
    P = 30;
  const x = (v) => P + v * (W - 2 * P),
    y = (v) => W - P - v * (W - 2 * P);
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${W} ${W}`,
      width: W,
      height: W,
      role: "img",
      class: "chart",
      "aria-label": `Calibration: predicted against observed churn rate in ${points.length} bins`,
    },
    s("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: "diagonal" }),
    s("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(0), class: "frame" }),
    s("line", { x1: x(0), y1: y(0), x2: x(0), y2: y(1), class: "frame" }),
    s("text", { x: W / 2, y: W - 6, "text-anchor": "middle", class: "axis" }, "predicted"),
    s(
      "text",
      { x: 10, y: W / 2, transform: `rotate(-90 10 ${W / 2})`, "text-anchor": "middle", class: "axis" },
      "observed",
    ),
    s("polyline", {
      points: points.map((p) => `${x(p.meanPredicted)},${y(p.observedRate)}`).join(" "),
      class: "line",
    }),
    points.map((p) => s("circle", { cx: x(p.meanPredicted), cy: y(p.observedRate), r: 3, class: "dot" })),
  );
  return h(
    "figure",
    { class: "chart-wrap" },
    svg,
    h("figcaption", {}, "Calibration on held-out rows (the diagonal is perfect)"),
  );
}

function tokenHeaders() {
  const headers = { "content-type": "application/json" };
  const token = sessionStorage.getItem("churn-ui-token");
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}

async function change(what, path, reason) {
  if (status?.read_only) {
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
    const pointer = await api(path, {
      method: "POST",
      headers: tokenHeaders(),
      body: JSON.stringify(reason ? { reason } : {}),
    });
    showNotice(`Champion is now ${pointer.version}.`, "ok");
    await route();
  } catch (error) {
    showNotice(`Refused (${error.status ?? "error"}): ${error.message}`);
  }
}

function tokenForm() {
  if (!status?.auth_required) return null;
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    value: sessionStorage.getItem("churn-ui-token") ?? "",
  });
  return h(
    "form",
    {
      class: "token",
      onsubmit: (e) => {
        e.preventDefault();
        sessionStorage.setItem("churn-ui-token", input.value);
        showNotice("Token kept for this browser tab.", "ok");
      },
    },
    h("label", { for: "token" }, "Change token"),
    input,
    h("button", { type: "submit" }, "Use token"),
  );
}

async function modelsPage(view) {
  const { champion, models, problems } = await api("/api/models");
  const readOnly = status?.read_only;
  const rows = [...models].reverse().map((m) =>
    h(
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
      h(
        "td",
        {},
        m.cv_roc_auc
          ? Object.entries(m.cv_roc_auc)
              .map(([k, v]) => `${k} ${v.toFixed(3)}`)
              .join(", ")
          : "–",
      ),
      h("td", {}, when(m.created)),
      h(
        "td",
        {},
        m.champion
          ? ""
          : h(
              "button",
              {
                type: "button",
                class: "promote",
                "aria-disabled": readOnly ? "true" : null,
                onclick: () => change(`Promote ${m.version} to champion`, `/api/models/${m.version}/promote`),
              },
              `Promote ${m.version.slice(0, 8)}…`,
            ),
      ),
    ),
  );
  const canRollBack = champion && champion.previous.length > 0;
  view(
    "Models",
    h("h1", {}, "Models"),
    readOnly
      ? h(
          "p",
          { class: "readonly" },
          "Read-only console: promote and roll back are refused. Start it with ",
          h("code", {}, "--allow-changes"),
          " to enable them.",
        )
      : null,
    tokenForm(),
    problems.length
      ? h(
          "section",
          { class: "failure", "aria-labelledby": "problems" },
          h("h2", { id: "problems" }, "Unreadable bundles"),
          h(
            "ul",
            {},
            problems.map((p) => h("li", {}, h("code", {}, p.version), `: ${p.error}`)),
          ),
        )
      : null,
    h(
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
      canRollBack
        ? h(
            "button",
            {
              type: "button",
              id: "rollback",
              "aria-disabled": readOnly ? "true" : null,
              onclick: () =>
                change(
                  `Roll back from ${champion.version} to ${champion.previous[0]}`,
                  "/api/models/rollback",
                ),
            },
            `Roll back to ${champion.previous[0]}`,
          )
        : null,
    ),
    models.length === 0
      ? h("p", {}, "No models yet.")
      : h(
          "table",
          { class: "models" },
          h("caption", {}, "Model bundles, newest first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Version", "Family", "ROC-AUC", "Cross-validated", "Created", "Action"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h("tbody", {}, rows),
        ),
  );
}

async function modelPage(version, view) {
  const { model, evaluation, report } = await api(`/api/models/${encodeURIComponent(version)}`);
  const charts = [];
  if (model.cv_roc_auc)
    charts.push(barChart("Cross-validated ROC-AUC by model family", Object.entries(model.cv_roc_auc)));
  if (report?.lift)
    charts.push(
      barChart(
        "Lift by score decile (held-out rows)",
        report.lift.map((d) => [`decile ${d.decile}`, d.lift]),
        { max: Math.max(...report.lift.map((d) => d.lift)), format: (v) => v.toFixed(2) },
      ),
    );
  if (report?.calibration) charts.push(calibrationChart(report.calibration));
  if (report?.drivers)
    charts.push(
      barChart(
        "Strongest drivers (mean absolute contribution)",
        report.drivers.slice(0, 8).map((d) => [d.column, d.meanAbs]),
        { max: Math.max(...report.drivers.map((d) => d.meanAbs)), format: (v) => v.toFixed(2) },
      ),
    );
  view(
    `Model ${model.version}`,
    h("p", { class: "crumbs" }, h("a", { href: "#/models" }, "Models"), " / ", model.version),
    h(
      "h1",
      {},
      `Model ${model.version}`,
      model.champion ? h("span", { class: "badge champion-badge" }, "champion") : null,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Family"),
      h("dd", {}, model.family),
      h("dt", {}, "ROC-AUC"),
      h("dd", {}, model.roc_auc.toFixed(4)),
      report
        ? [
            h("dt", {}, "Held-out"),
            h(
              "dd",
              {},
              `${report.rows} rows, PR-AUC ${report.prAuc?.toFixed(3)}, Brier ${report.brier?.toFixed(4)} (run `,
              h("a", { href: `#/runs/${report.run}` }, report.run),
              ")",
            ),
          ]
        : null,
      h("dt", {}, "Tier thresholds"),
      h("dd", {}, `high ≥ ${model.tiers.high.toFixed(3)}, medium ≥ ${model.tiers.medium.toFixed(3)}`),
      h("dt", {}, "Training rows"),
      h("dd", {}, model.training_rows ?? "–"),
      h("dt", {}, "Decision"),
      h("dd", {}, evaluation?.reason ?? model.decision ?? "–"),
    ),
    h(
      "section",
      { "aria-labelledby": "charts" },
      h("h2", { id: "charts" }, "Evaluation"),
      charts.length
        ? h("div", { class: "charts" }, charts)
        : h("p", {}, "No evaluation report in the bucket for this model."),
    ),
  );
}

// ---------------------------------------------------------------- weeks

function fileLinks(week) {
  return h(
    "ul",
    { class: "files" },
    week.files
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

async function weeksPage(view) {
  const { weeks } = await api("/api/weeks");
  view(
    "Weeks",
    h("h1", {}, "Weeks"),
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
              ["Week", "Status", "Scored", "Rejected", "Files"].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h(
            "tbody",
            {},
            weeks.map((w) =>
              h(
                "tr",
                { "data-week": w.stem },
                h(
                  "td",
                  {},
                  h("a", { href: `#/weeks/${w.stem}` }, w.stem),
                  w.weekly_file ? h("div", { class: "sub" }, h("code", {}, w.weekly_file)) : null,
                ),
                h(
                  "td",
                  {},
                  badge(w.status),
                  w.failure ? h("span", { class: "reason-inline" }, ` ${w.failure}`) : null,
                ),
                h("td", { class: "num" }, w.counts?.scored ?? "–"),
                h("td", { class: "num" }, w.counts?.rejected ?? "–"),
                h("td", {}, fileLinks(w)),
              ),
            ),
          ),
        ),
  );
}

async function weekPage(stem, view) {
  const week = await api(`/api/weeks/${encodeURIComponent(stem)}`);
  const counts = week.summary?.counts;
  const rejected = week.rejected;
  view(
    `Week ${stem}`,
    h("p", { class: "crumbs" }, h("a", { href: "#/weeks" }, "Weeks"), " / ", stem),
    h("h1", {}, `Week ${stem}`),
    h(
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
      week.summary?.model_version
        ? [
            h("dt", {}, "Model"),
            h(
              "dd",
              {},
              h("a", { href: `#/models/${week.summary.model_version}` }, week.summary.model_version),
            ),
          ]
        : null,
    ),
    week.report_url
      ? h("p", {}, h("a", { href: week.report_url, class: "report-link" }, "Open the report"))
      : null,
    h(
      "section",
      { "aria-labelledby": "files" },
      h("h2", { id: "files" }, "Published files"),
      fileLinks(week),
    ),
    week.summary
      ? h(
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
          week.summary.model_decision ? h("p", {}, week.summary.model_decision) : null,
          h(
            "details",
            {},
            h("summary", {}, "summary.json"),
            h("pre", { class: "json", tabindex: 0 }, JSON.stringify(week.summary, null, 2)),
          ),
        )
      : null,
    rejected
      ? h(
          "section",
          { "aria-labelledby": "rejected" },
          h("h2", { id: "rejected" }, `Rejected rows (${rejected.total})`),
          rejected.total === 0
            ? h("p", {}, "No rows were rejected.")
            : h(
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
              ),
        )
      : null,
  );
}

// ---------------------------------------------------------------- router

/** A render function for one page load: it does nothing once a newer page has started loading. */
function viewFor(mine, keepFocus) {
  return (title, ...content) => {
    if (mine !== generation) return;
    refreshing = keepFocus;
    try {
      render(title, ...content);
    } finally {
      refreshing = false;
    }
  };
}

function live(again) {
  const mine = generation;
  refresh = setTimeout(async () => {
    if (mine !== generation) return;
    const focused = document.activeElement?.getAttribute?.("href");
    try {
      await again(viewFor(mine, true));
    } catch {
      // a failed refresh keeps the last page; the next navigation reports errors
    }
    // Keep keyboard focus where it was across refreshes.
    const target =
      mine === generation && focused ? main.querySelector(`[href="${CSS.escape(focused)}"]`) : null;
    if (target) target.focus();
  }, 2000);
}

async function route() {
  const mine = ++generation;
  const view = viewFor(mine, false);
  clearTimeout(refresh);
  const [path, query = ""] = (location.hash.slice(1) || "/runs").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.section === parts[0]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    if (parts[0] === "runs" && parts[1])
      await runPage(parts[1], parts[2] === "steps" ? parts[3] : null, view);
    else if (parts[0] === "models" && parts[1]) await modelPage(parts[1], view);
    else if (parts[0] === "models") await modelsPage(view);
    else if (parts[0] === "weeks" && parts[1]) await weekPage(parts[1], view);
    else if (parts[0] === "weeks") await weeksPage(view);
    else await runsPage(params, view);
  } catch (error) {
    errorPage(error, view);
  }
}

async function start() {
  try {
    status = await api("/api/status");
    statusLine.replaceChildren(
      "Bucket ",
      h("code", {}, status.bucket),
      " · ",
      status.read_only
        ? h("span", { class: "badge readonly-badge" }, "read-only")
        : h("span", { class: "badge changes-badge" }, "changes allowed"),
    );
  } catch (error) {
    statusLine.textContent = `The console API does not answer: ${error.message}`;
  }
  // The skip link must not change the hash: the hash is the router's.
  document.querySelector(".skip")?.addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
