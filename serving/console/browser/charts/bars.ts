import { h, s } from "../dom.js";

/** The model page's evaluation charts as inline SVG, each with a text label for screen readers. */

interface BarOptions {
  /** The value of a full-length bar (longer values are cut at it). */
  max?: number;
  format?: (value: number) => string;
}

/** A horizontal bar per entry, labelled on the left and valued on the right. */
export function barChart(
  label: string,
  entries: Array<[string, number]>,
  { max = 1, format = (v) => v.toFixed(3) }: BarOptions = {},
): HTMLElement {
  const W = 470;
  const row = 26;
  const left = 190;
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
    const length = (W - left - 70) * Math.min(1, value / max);
    svg.append(
      s("text", { x: left - 8, y: y + 16, "text-anchor": "end", class: "axis" }, name),
      s("rect", { x: left, y: y + 3, width: Math.max(1, length), height: row - 8, class: "bar" }),
      s("text", { x: left + length + 6, y: y + 16, class: "axis" }, format(value)),
    );
  });
  return h("figure", { class: "chart-wrap" }, svg, h("figcaption", {}, label));
}

/** Predicted against observed churn rate per bin, with the diagonal of a perfect calibration. */
export function calibrationChart(
  points: Array<{ meanPredicted: number; observedRate: number }>,
): HTMLElement {
  const W = 260;
  const P = 30;
  const x = (v: number) => P + v * (W - 2 * P);
  const y = (v: number) => W - P - v * (W - 2 * P);
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
