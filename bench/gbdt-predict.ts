/**
 * GBDT inference speed: the plain walk over the JSON trees (the baseline
 * DESIGN quotes at ~110k rows/s for 200 depth-6 trees) next to the flattened
 * typed-array layout and the generated-code predictor, on the same rows in the same run, plus TreeSHAP rows/s.
 * The generated code runs twice: as scoring uses it, and with branches all
 * the way down (its baseline). Also checks that all give bit-identical margins.
 *
 *   npx tsx bench/gbdt-predict.ts [rows=200000] [trees=200]
 */
import { Rng } from "../components/common/random.js";
import { compileGbdt, compileGbdtCode, predictMargin } from "../components/models/gbdt/compiled.js";
import { predictMarginPlain } from "../components/models/gbdt/model.js";
import { trainGbdt } from "../components/models/gbdt/train.js";
import { createTreeShap } from "../components/models/gbdt/treeshap.js";
import { DATASETS, datasetsAvailable, loadDataset } from "./gbdt-datasets.js";

const rows = Number(process.argv[2] ?? 200_000);
const numTrees = Number(process.argv[3] ?? 200);

function trainingData(): { x: Float64Array; y: Float64Array; d: number; source: string } {
  if (datasetsAvailable()) {
    const ds = loadDataset(DATASETS[0]);
    return { x: ds.train.x, y: ds.train.y, d: ds.numFeatures, source: "BankChurners train rows" };
  }
  // Synthetic fallback: 20 features, a nonlinear signal, 5% missing.
  const rng = new Rng(1);
  const n = 7000;
  const d = 20;
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let f = 0; f < d; f++) {
      const v = rng.nextGaussian();
      x[i * d + f] = rng.nextFloat() < 0.05 ? Number.NaN : v;
      s += (f % 3 === 0 ? v * v : v) * (1 / (f + 1));
    }
    y[i] = rng.nextFloat() < 1 / (1 + Math.exp(-s + 1)) ? 1 : 0;
  }
  return { x, y, d, source: "synthetic 7000 × 20" };
}

function timeIt(fn: () => void, minMs = 1500): number {
  fn(); // warm-up
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    reps++;
    t = performance.now();
  }
  return (t - t0) / reps;
}

const data = trainingData();
const { model } = trainGbdt({
  x: data.x,
  y: data.y,
  numFeatures: data.d,
  params: { maxRounds: numTrees, earlyStoppingRounds: 0, numLeaves: 64, maxDepth: 6, minDataInLeaf: 5 },
});
const n0 = data.y.length;
const rng = new Rng(7);
const x = new Float64Array(rows * data.d);
for (let r = 0; r < rows; r++) {
  const src = rng.nextInt(n0);
  x.set(data.x.subarray(src * data.d, (src + 1) * data.d), r * data.d);
}
const nodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
console.log(
  `model: ${model.trees.length} trees, depth <= 6, ${nodes} nodes, ${data.d} features (${data.source})`,
);
console.log(`rows: ${rows}`);

const compiled = compileGbdt(model);
const outPlain = new Float64Array(rows);
const outFast = new Float64Array(rows);
const msPlain = timeIt(() => predictMarginPlain(model, x, rows, outPlain));
const msFast = timeIt(() => predictMargin(compiled, x, rows, outFast));
const code = compileGbdtCode(model);
const outCode = new Float64Array(rows);
const msCode = timeIt(() => code.predictMargin(x, rows, outCode));
const branching = compileGbdtCode(model, { branchFreeLeaves: 1 });
const outBranching = new Float64Array(rows);
const msBranching = timeIt(() => branching.predictMargin(x, rows, outBranching));
let mismatches = 0;
for (let r = 0; r < rows; r++) {
  if (
    !Object.is(outPlain[r], outFast[r]) ||
    !Object.is(outPlain[r], outCode[r]) ||
    !Object.is(outPlain[r], outBranching[r])
  )
    mismatches++;
}
const rate = (ms: number, n: number) => Math.round((n / ms) * 1000);
console.log(`plain walk (JSON trees)   ${rate(msPlain, rows).toLocaleString("en")} rows/s`);
console.log(`flattened typed arrays    ${rate(msFast, rows).toLocaleString("en")} rows/s`);
console.log(`generated, branches only  ${rate(msBranching, rows).toLocaleString("en")} rows/s`);
console.log(
  `generated (what scoring uses: branch-free subtrees of <= 8 leaves) ${rate(msCode, rows).toLocaleString("en")} rows/s (${(msBranching / msCode).toFixed(2)}x branches only)`,
);
console.log(
  `speed-up vs plain walk    typed arrays ${(msPlain / msFast).toFixed(2)}x, generated ${(msPlain / msCode).toFixed(2)}x`,
);
console.log(`bit-identical margins     ${mismatches === 0 ? "yes" : `NO (${mismatches} rows differ)`}`);

// TreeSHAP: leaf tables (what scoring uses) against the recursive Algorithm 2 as the baseline.
const shapRows = Math.min(rows, 20_000);
const phi = new Float64Array(data.d + 1);
const shapRate = (shap: ReturnType<typeof createTreeShap>) =>
  rate(
    timeIt(() => {
      for (let r = 0; r < shapRows; r++) shap.explainRow(x, r * data.d, phi);
    }),
    shapRows,
  );
const recursive = shapRate(createTreeShap(model, { tables: false }));
const tables = shapRate(createTreeShap(model));
console.log(`TreeSHAP recursion        ${recursive.toLocaleString("en")} rows/s`);
console.log(
  `TreeSHAP leaf tables      ${tables.toLocaleString("en")} rows/s (${(tables / recursive).toFixed(2)}x)`,
);
if (mismatches > 0) process.exitCode = 1;
