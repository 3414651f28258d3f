/**
 * Reason rows per CPU-second on a pinned model (issue 23 item 4): a GBDT of
 * 100 trees of 31 leaves trained here on the example history (the `churn
 * init` generator, seed 42; no early stopping), so model changes elsewhere do
 * not move the figure. A reason row is what the score step does for a row
 * that gets reasons: exact TreeSHAP (leaf tables, as scoring uses), the top
 * 3 positive contributions and their sentences (reasons.ts rowReasons).
 * Columns are the example's numeric ones, one model feature each, so the
 * transform's aggregation by source is the identity here.
 *
 *   npx tsx bench/reasons.ts [--rows 5000] [--repeat 3]
 *
 * Prints the median over --repeat timed passes (after one warm-up pass) of
 * rows / CPU-second (process.cpuUsage, user + system), with the load average.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  EXAMPLE_COLUMNS,
  exampleRows,
  LABEL_COLUMN,
  POSITIVE_LABEL,
} from "../components/example-bucket/generate.js";
import type { ColumnEncoder } from "../components/models/features/transform.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { createTreeShap } from "../components/models/gbdt/treeshap.js";
import { rowReasons } from "../components/models/reasons.js";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "5000" }, repeat: { type: "string", default: "3" } },
});
const explainRows = Number(values.rows);
const repeat = Number(values.repeat);
const HISTORY_ROWS = 20_000;
const REASONS = 3;

async function exampleTable(rows: number, seed: number): Promise<string[][]> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of exampleRows({ rows, seed, labelled: true })) text += decoder.decode(chunk);
  return text
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
}

const history = await exampleTable(HISTORY_ROWS, 42);
const labelAt = EXAMPLE_COLUMNS.indexOf(LABEL_COLUMN);
// Numeric columns: every value of the column parses as a number (the id is left out).
const numeric = EXAMPLE_COLUMNS.map((c, j) => ({ c, j })).filter(
  ({ c, j }) =>
    c !== "CLIENTNUM" &&
    c !== LABEL_COLUMN &&
    history.every((r) => r[j] !== "" && Number.isFinite(Number(r[j]))),
);
const d = numeric.length;
const x = new Float64Array(HISTORY_ROWS * d);
const y = new Float64Array(HISTORY_ROWS);
history.forEach((r, i) => {
  numeric.forEach(({ j }, f) => {
    x[i * d + f] = Number(r[j]);
  });
  // The generator quotes text fields.
  y[i] = r[labelAt] === `"${POSITIVE_LABEL}"` ? 1 : 0;
});
const { model } = trainGbdt({
  x,
  y,
  numFeatures: d,
  featureNames: numeric.map((n) => n.c),
  params: { maxRounds: 100, earlyStoppingRounds: 0, numLeaves: 31, seed: 42 },
});
const leaves = model.trees.reduce((s, t) => s + t.feature.filter((f) => f === -1).length, 0);
const encoders: ColumnEncoder[] = numeric.map(({ c }, f) => {
  const sorted = Array.from({ length: HISTORY_ROWS }, (_, i) => x[i * d + f]!).sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  return {
    kind: "numeric",
    column: c,
    stats: { median, q1: median, q3: median, scale: 1 },
    missingIndicator: false,
  };
});
const shap = createTreeShap(model);
const phi = new Float64Array(d + 1);
const rows = explainRows;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let sink = 0;
function pass(): number {
  const c0 = cpu();
  for (let i = 0; i < rows; i++) {
    const at = (i % HISTORY_ROWS) * d;
    shap.explainRow(x, at, phi);
    const reasons = rowReasons(
      encoders,
      phi,
      (col) => x[at + encoders.findIndex((e) => e.column === col)]!,
      REASONS,
      {},
    );
    sink += reasons.texts.length;
  }
  return rows / (cpu() - c0);
}
pass();
const rates: number[] = [];
for (let r = 0; r < repeat; r++) rates.push(pass());
rates.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    model: { trees: model.trees.length, leaves, features: d },
    reasons: REASONS,
    rows_per_pass: rows,
    reason_rows_per_cpu_second: Math.round(rates[rates.length >> 1]!),
    passes: rates.map(Math.round),
    reasons_printed_per_row: sink / ((repeat + 1) * rows),
    load_average: loadavg().map((l) => Number(l.toFixed(2))),
  }),
);
