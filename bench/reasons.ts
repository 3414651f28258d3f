/**
 * Reason rows per CPU-second on a pinned model (issue 23 item 4): a GBDT of
 * 100 trees of 31 leaves trained here on the example history (the `churn
 * init` generator, seed 42; no early stopping), so model changes elsewhere do
 * not move the figure. A reason row is what the score step does for a row
 * that gets reasons: exact TreeSHAP (leaf tables, as scoring uses), the top
 * 3 positive contributions and their sentences (reasons.ts rowReasons).
 * Columns are the example's numeric ones, one model feature each, so the
 * transform's aggregation by source is the identity here. The rows are
 * explained in batches of EXPLAIN_BATCH_ROWS, as Predictor.reasonsOfRows does.
 *
 *   npx tsx bench/reasons.ts [--rows 5000] [--repeat 3] [--before PATH]
 *
 * Prints the median over --repeat timed passes (after two warm-up passes) of
 * rows / CPU-second (process.cpuUsage, user + system), with the load average.
 * --before PATH names another copy of components/models/gbdt/treeshap.ts
 * (e.g. `git show main:components/models/gbdt/treeshap.ts > /tmp/before.ts`),
 * whose createTreeShap is timed row by row (explainRow, as scoring used it
 * before batches) in passes interleaved with ours; every contribution of the
 * two must be the same bits, or the bench fails.
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  EXAMPLE_COLUMNS,
  exampleRows,
  LABEL_COLUMN,
  POSITIVE_LABEL,
} from "../components/example-bucket/generate.js";
import type { ColumnEncoder } from "../components/models/features/transform.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { createTreeShap, type TreeShapExplainer } from "../components/models/gbdt/treeshap.js";
import { EXPLAIN_BATCH_ROWS } from "../components/models/predictor.js";
import { rowReasons } from "../components/models/reasons.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "5000" },
    repeat: { type: "string", default: "3" },
    before: { type: "string" },
  },
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
type CreateTreeShap = (m: typeof model) => Pick<TreeShapExplainer, "explainRow">;
const before = values.before
  ? ((await import(resolve(values.before))) as { createTreeShap: CreateTreeShap }).createTreeShap(model)
  : null;
const rows = explainRows;
const stride = d + 1;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let sink = 0;
const offsets = Int32Array.from({ length: rows }, (_, i) => (i % HISTORY_ROWS) * d);
const ours = new Float64Array(EXPLAIN_BATCH_ROWS * stride);
const theirs = new Float64Array(stride);
const reasonsOf = (phi: Float64Array, at: number) =>
  rowReasons(
    encoders,
    phi.subarray(0, d),
    (col) => x[at + encoders.findIndex((e) => e.column === col)]!,
    REASONS,
    {},
  );
/** Our pass: batches of rows, as the score step explains them. */
function pass(): number {
  const c0 = cpu();
  for (let from = 0; from < rows; from += EXPLAIN_BATCH_ROWS) {
    const n = Math.min(EXPLAIN_BATCH_ROWS, rows - from);
    shap.explainRows(x, offsets.subarray(from, from + n), n, ours);
    for (let i = 0; i < n; i++) sink += reasonsOf(ours.subarray(i * stride), offsets[from + i]!).texts.length;
  }
  return rows / (cpu() - c0);
}
/** The --before pass: row by row through explainRow. */
function passBefore(b: Pick<TreeShapExplainer, "explainRow">): number {
  const c0 = cpu();
  for (let i = 0; i < rows; i++) {
    b.explainRow(x, offsets[i]!, theirs);
    sink += reasonsOf(theirs, offsets[i]!).texts.length;
  }
  return rows / (cpu() - c0);
}
/** Rows whose contributions differ in any bit between ours and --before. */
function differingRows(b: Pick<TreeShapExplainer, "explainRow">): number {
  let differ = 0;
  for (let from = 0; from < rows; from += EXPLAIN_BATCH_ROWS) {
    const n = Math.min(EXPLAIN_BATCH_ROWS, rows - from);
    shap.explainRows(x, offsets.subarray(from, from + n), n, ours);
    for (let i = 0; i < n; i++) {
      b.explainRow(x, offsets[from + i]!, theirs);
      for (let j = 0; j < stride; j++) {
        if (!Object.is(ours[i * stride + j], theirs[j])) {
          differ++;
          break;
        }
      }
    }
  }
  return differ;
}
const load0 = loadavg().map((l) => Number(l.toFixed(2)));
// Two warm-up rounds: the first round of the other side re-optimises the shared reason code.
const WARM_UP_ROUNDS = 2;
for (let r = 0; r < WARM_UP_ROUNDS; r++) {
  pass();
  if (before) passBefore(before);
}
const rates: number[] = [];
const beforeRates: number[] = [];
for (let r = 0; r < repeat; r++) {
  rates.push(pass());
  if (before) beforeRates.push(passBefore(before));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const differ = before ? differingRows(before) : 0;
console.log(
  JSON.stringify({
    model: { trees: model.trees.length, leaves, features: d },
    reasons: REASONS,
    rows_per_pass: rows,
    reason_rows_per_cpu_second: Math.round(median(rates)),
    passes: rates.map(Math.round),
    ...(before
      ? {
          before_reason_rows_per_cpu_second: Math.round(median(beforeRates)),
          before_passes: beforeRates.map(Math.round),
          ours_over_before: Number((median(rates) / median(beforeRates)).toFixed(2)),
          rows_with_different_contributions: differ,
        }
      : {}),
    reasons_printed_per_row: sink / ((repeat + WARM_UP_ROUNDS) * rows * (before ? 2 : 1)),
    load_average: { start: load0, end: loadavg().map((l) => Number(l.toFixed(2))) },
  }),
);
if (differ > 0) {
  console.error(`FAIL: ${differ} rows got other contributions from --before`);
  process.exitCode = 1;
}
