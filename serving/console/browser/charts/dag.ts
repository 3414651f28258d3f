import type { DagNode, RunRecord, StepRecord } from "../../api-types.js";
import { h, s } from "../dom.js";
import { seconds } from "../format.js";

/**
 * A run's DAG as inline SVG: steps in layers by dependency depth, one
 * keyboard-focusable link per step showing its state, duration and exit code.
 */

const BOX = { width: 190, height: 48, gapX: 28, gapY: 30 };
/** Edges that skip layers run in lanes on the right, this far apart. */
const LANE = 12;

interface Point {
  x: number;
  y: number;
}

/** The nodes by depth: a node sits one layer below its deepest dependency. */
function layers(dag: DagNode[]): DagNode[][] {
  const byName = new Map(dag.map((n) => [n.name, n]));
  const depth = new Map<string, number>();
  const visit = (name: string, seen = new Set<string>()): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
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
  const rows: DagNode[][] = [];
  for (const node of dag) {
    const d = depth.get(node.name) ?? 0;
    rows[d] = rows[d] ?? [];
    rows[d].push(node);
  }
  return rows;
}

/**
 * Edges to draw: the transitive reduction (a -> c is left out when a -> b -> c
 * exists), so the picture shows the order without a tangle of implied edges.
 */
function drawnDeps(dag: DagNode[]): Map<string, string[]> {
  const deps = new Map(dag.map((n) => [n.name, n.deps.filter((d) => dag.some((m) => m.name === d))]));
  const reach = new Map<string, Set<string>>();
  const ancestors = (name: string): Set<string> => {
    const known = reach.get(name);
    if (known) return known;
    const set = new Set<string>();
    reach.set(name, set);
    for (const d of deps.get(name) ?? []) {
      set.add(d);
      for (const a of ancestors(d)) set.add(a);
    }
    return set;
  };
  return new Map(
    dag.map((n) => {
      const direct = deps.get(n.name) ?? [];
      return [n.name, direct.filter((d) => !direct.some((other) => other !== d && ancestors(other).has(d)))];
    }),
  );
}

/** Where each box goes, which edges need a lane, and the picture's size. */
function placeBoxes(dag: DagNode[]) {
  const rows = layers(dag);
  const widest = Math.max(...rows.map((r) => r.length));
  const row = new Map<string, number>();
  rows.forEach((r, y) => {
    for (const node of r) row.set(node.name, y);
  });
  const long = dag.flatMap((node) =>
    node.deps
      .filter((dep) => row.has(dep) && (row.get(node.name) ?? 0) - (row.get(dep) ?? 0) > 1)
      .map((dep): [string, string] => [dep, node.name]),
  );
  const boxes = widest * BOX.width + (widest - 1) * BOX.gapX;
  const width = boxes + 8 + (long.length ? 16 + long.length * LANE : 0);
  const height = rows.length * BOX.height + (rows.length - 1) * BOX.gapY + 8;
  const pos = new Map<string, Point>();
  rows.forEach((r, y) => {
    const rowWidth = r.length * BOX.width + (r.length - 1) * BOX.gapX;
    r.forEach((node, x) => {
      pos.set(node.name, {
        x: 4 + (boxes - rowWidth) / 2 + x * (BOX.width + BOX.gapX),
        y: 4 + y * (BOX.height + BOX.gapY),
      });
    });
  });
  const laneOf = new Map(long.map(([a, b], i) => [`${a}>${b}`, i]));
  return { pos, laneOf, boxes, width, height };
}

/** The path of one edge: a curve between adjacent layers, or a lane on the right. */
function edgePath(a: Point, b: Point, lane: number | undefined, boxes: number): string {
  const { width: W, height: H, gapY } = BOX;
  if (lane !== undefined) {
    const x = 4 + boxes + 16 + lane * LANE;
    const y1 = a.y + H / 2 + (lane % 3) * 4 - 4;
    const y2 = b.y + H / 2 + (lane % 3) * 4 - 4;
    return `M ${a.x + W} ${y1} H ${x} V ${y2} H ${b.x + W + 2}`;
  }
  const x1 = a.x + W / 2;
  const y1 = a.y + H;
  const x2 = b.x + W / 2;
  const y2 = b.y;
  return `M ${x1} ${y1} C ${x1} ${y1 + gapY / 2}, ${x2} ${y2 - gapY / 2}, ${x2} ${y2 - 2}`;
}

/** One step's box: a link to its page, labelled with what the box shows. */
function stepBox(runId: string, node: DagNode, step: StepRecord | undefined, p: Point): SVGAElement {
  const state = step?.state ?? "pending";
  const detail = [
    state,
    step?.cache?.hit ? "cached" : null,
    step?.seconds != null ? seconds(step.seconds) : null,
    step?.exit_code != null ? `exit ${step.exit_code}` : null,
  ].filter(Boolean);
  const uniq = [...new Set(detail)].join(" · ");
  return s(
    "a",
    {
      href: `#/runs/${runId}/steps/${node.name}`,
      class: `node state-${state}`,
      "data-step": node.name,
      "aria-label": `${node.name}: ${uniq}`,
    },
    s("title", {}, `${node.name} (${node.component}): ${node.description || ""}`),
    s("rect", { x: p.x, y: p.y, width: BOX.width, height: BOX.height, rx: 6 }),
    s("text", { x: p.x + 10, y: p.y + 19, class: "node-name" }, node.name),
    s("text", { x: p.x + 10, y: p.y + 37, class: "node-detail" }, uniq),
  );
}

function arrowMarker(): SVGDefsElement {
  return s(
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
  );
}

/** The run's DAG as a figure: boxes linking to each step's details and log. */
export function dagSvg(run: RunRecord, fullDag: DagNode[]): HTMLElement {
  const edges = drawnDeps(fullDag);
  const dag = fullDag.map((n) => ({ ...n, deps: edges.get(n.name) ?? [] }));
  const steps = new Map(run.steps.map((st) => [st.name, st]));
  const { pos, laneOf, boxes, width, height } = placeBoxes(dag);
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
    arrowMarker(),
  );
  for (const node of dag) {
    for (const dep of node.deps) {
      const a = pos.get(dep);
      const b = pos.get(node.name);
      if (!a || !b) continue;
      const d = edgePath(a, b, laneOf.get(`${dep}>${node.name}`), boxes);
      svg.append(s("path", { d, class: "edge", "marker-end": "url(#arrow)" }));
    }
  }
  for (const node of dag) {
    const p = pos.get(node.name);
    if (p) svg.append(stepBox(run.run_id, node, steps.get(node.name), p));
  }
  return h(
    "figure",
    { class: "dag-wrap" },
    svg,
    h("figcaption", {}, "Pipeline steps; each box links to the step's details and log."),
  );
}
