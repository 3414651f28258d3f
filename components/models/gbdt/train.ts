/**
 * Histogram-based gradient boosting for binary log-loss, in the style of
 * LightGBM: quantile bins, leaf-wise (or depth-wise) growth, the histogram
 * subtraction trick, a learned default direction for missing values, seeded
 * row and feature subsampling, and early stopping on validation log-loss.
 * All buffers are allocated once per training run; the per-round loops only
 * read and write typed arrays.
 *
 * Memory: the raw matrix is read in place (the early-stopping rows are index
 * lists, never float copies); training rows are held as one Uint8 bin per
 * feature twice (row-major for out-of-bag tree walks, column-major for leaf
 * partitions, in histogram.ts), plus the sparse histogram entries (4 bytes
 * per bin that is not its feature's most frequent one) and a few doubles per
 * row (label, margin, gradient, hessian); validation rows as one row-major
 * Uint8 bin per feature. Trees are applied to validation rows in bin
 * space, which sends every value the way its raw threshold would: a value v
 * is at most the bin's upper bound exactly when its bin index is at most the
 * split bin.
 */
import { z } from "zod";
import { InputError } from "../../common/errors.js";
import { Rng } from "../../common/random.js";
import { binRows, type FeatureBins, fitFeatureBins, MAX_VALUE_BINS } from "./binning.js";
import { SparseHistograms } from "./histogram.js";
import type { GbdtModel, GbdtTree } from "./model.js";

/** Training parameters; every field has a default that works without per-dataset tuning. */
export const GbdtParamsSchema = z.strictObject({
  learningRate: z.number().positive().max(1).default(0.05),
  numLeaves: z.number().int().min(2).max(4096).default(31),
  /** 0 = unlimited. */
  maxDepth: z.number().int().min(0).default(0),
  growth: z.enum(["leafwise", "depthwise"]).default("leafwise"),
  minDataInLeaf: z.number().int().min(1).default(20),
  minSumHessianInLeaf: z.number().nonnegative().default(1e-3),
  lambdaL2: z.number().nonnegative().default(1),
  minGainToSplit: z.number().nonnegative().default(0),
  featureFraction: z.number().positive().max(1).default(0.8),
  baggingFraction: z.number().positive().max(1).default(0.8),
  maxBins: z.number().int().min(2).max(MAX_VALUE_BINS).default(MAX_VALUE_BINS),
  maxRounds: z.number().int().min(1).default(1000),
  /** Stop after this many rounds without a better validation log-loss; 0 disables early stopping. */
  earlyStoppingRounds: z.number().int().min(0).default(50),
  /** Share of training rows held out (stratified) for early stopping when no validation set is given. */
  validationFraction: z.number().min(0).max(0.5).default(0.1),
  seed: z.number().int().default(42),
});

/** Parsed GBDT parameters. */
export type GbdtParams = z.infer<typeof GbdtParamsSchema>;
/** GBDT parameters as a caller may give them (all optional). */
export type GbdtParamsInput = z.input<typeof GbdtParamsSchema>;

/** A dense row-major data set. */
export interface GbdtData {
  /** Row-major features, rows × numFeatures; NaN means missing. */
  x: Float64Array;
  /** Labels, 0 or 1. */
  y: Float64Array;
  /** Optional non-negative sample weights (e.g. class-imbalance weights). */
  weights?: Float64Array;
}

/** Everything train needs. */
export interface GbdtTrainInput extends GbdtData {
  numFeatures: number;
  featureNames?: string[];
  /** Early stopping set; without it a stratified share of the training rows is held out. */
  validation?: GbdtData;
  /**
   * Fit on these rows of x only (ascending, no repeats), read in place: the
   * same model as on a copy of those rows, without the copy (e.g. one
   * cross-validation fold's training rows).
   */
  fitRows?: ArrayLike<number>;
  params?: GbdtParamsInput;
}

/** What train returns besides the model. */
export interface GbdtTrainResult {
  model: GbdtModel;
  /** Number of trees kept (best round + 1). */
  bestRounds: number;
  /** Validation log-loss per round (empty without early stopping). */
  validationLoss: number[];
}

function checkData(name: string, data: GbdtData, d: number): number {
  if (data.x.length % d !== 0) {
    throw new InputError(`${name}: x has ${data.x.length} values, not a multiple of ${d} features`);
  }
  const n = data.x.length / d;
  if (data.y.length !== n) throw new InputError(`${name}: ${data.y.length} labels for ${n} rows`);
  if (data.weights && data.weights.length !== n) {
    throw new InputError(`${name}: ${data.weights.length} weights for ${n} rows`);
  }
  for (let i = 0; i < n; i++) {
    if (data.y[i] !== 0 && data.y[i] !== 1)
      throw new InputError(`${name}: row ${i} label ${data.y[i]} is not 0 or 1`);
    const w = data.weights ? data.weights[i] : 1;
    if (!(w >= 0 && Number.isFinite(w)))
      throw new InputError(`${name}: row ${i} weight ${w} is not finite and >= 0`);
  }
  for (let i = 0; i < data.x.length; i++) {
    const v = data.x[i];
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new InputError(`${name}: row ${Math.floor(i / d)} feature ${i % d} is infinite`);
    }
  }
  return n;
}

/** rows[k] of v, for k in order (an index list's labels or weights). */
function pick(v: Float64Array, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = v[rows[k]];
  return out;
}

/** The 0/1 labels of rows, a byte each (checkData has checked they are 0 or 1). */
function pickLabels(y: Float64Array, rows: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = y[rows[k]];
  return out;
}

/** The fitRows option checked: integers in [0, n), strictly ascending. */
function checkRows(rows: ArrayLike<number>, n: number): ArrayLike<number> {
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (!(Number.isInteger(r) && r >= 0 && r < n))
      throw new InputError(`fitRows[${k}] = ${r} is not a row index of the ${n} training rows`);
    if (k > 0 && !(r > rows[k - 1]))
      throw new InputError(`fitRows must be strictly ascending: fitRows[${k}] = ${r} after ${rows[k - 1]}`);
  }
  return rows;
}

/** 0, 1, ..., n - 1. */
function allRows(n: number): Uint32Array {
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/** Stratified seeded split of row indices into (fit, holdout). */
function stratifiedHoldout(y: ArrayLike<number>, fraction: number, rng: Rng): [number[], number[]] {
  const fit: number[] = [];
  const hold: number[] = [];
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) idx.push(i);
    rng.shuffle(idx);
    const h = Math.round(idx.length * fraction);
    for (let k = 0; k < idx.length; k++) (k < h ? hold : fit).push(idx[k]);
  }
  fit.sort((a, b) => a - b);
  hold.sort((a, b) => a - b);
  return [fit, hold];
}

/** Mean (weighted) log-loss of margins against labels. */
function logLoss(margin: Float64Array, y: ArrayLike<number>, w: Float64Array | undefined): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < margin.length; i++) {
    const m = margin[i];
    // log(1 + e^-|m|) form is stable for large |m|.
    const l = Math.max(m, 0) - m * y[i] + Math.log1p(Math.exp(-Math.abs(m)));
    const wi = w ? w[i] : 1;
    s += wi * l;
    ws += wi;
  }
  return ws > 0 ? s / ws : 0;
}

/** Trains a binary GBDT; deterministic for a given input and seed. */
export function trainGbdt(input: GbdtTrainInput): GbdtTrainResult {
  const params = GbdtParamsSchema.parse(input.params ?? {});
  const d = input.numFeatures;
  if (!Number.isInteger(d) || d < 1) throw new InputError(`numFeatures must be a positive integer, got ${d}`);
  const names = input.featureNames ?? Array.from({ length: d }, (_, i) => `f${i}`);
  if (names.length !== d) throw new InputError(`${names.length} feature names for ${d} features`);
  checkData("training data", input, d);
  const rng = new Rng(params.seed);

  // Rows of input fitted on, and the early-stopping rows (of input or of the validation set).
  const given = input.fitRows ? checkRows(input.fitRows, input.y.length) : allRows(input.y.length);
  let fitRows: ArrayLike<number> = given;
  let valData: GbdtData | undefined;
  let valRows: ArrayLike<number> = [];
  if (params.earlyStoppingRounds > 0) {
    if (input.validation) {
      const valN = checkData("validation data", input.validation, d);
      valData = input.validation;
      valRows = allRows(valN);
    } else if (params.validationFraction > 0) {
      // Positions k within the given rows, as if they had been copied out; then rows of input.
      const [fit, hold] = stratifiedHoldout(
        pickLabels(input.y, given),
        params.validationFraction,
        rng.fork(),
      );
      if (hold.length > 0 && fit.length > 0) {
        fitRows = Uint32Array.from(fit, (k) => given[k]);
        valData = input;
        valRows = Uint32Array.from(hold, (k) => given[k]);
      }
    }
  }
  const n = fitRows.length;
  if (n === 0) throw new InputError("training data has no rows");

  const booster = new Booster(input, d, fitRows, params, rng);
  const valN = valRows.length;
  const valBinned = valData ? booster.binRows(valData.x, valRows) : new Uint8Array(0);
  const valY = valData ? pickLabels(valData.y, valRows) : new Uint8Array(0);
  const valW = valData?.weights ? pick(valData.weights, valRows) : undefined;
  const valMargin = new Float64Array(valN).fill(booster.baseScore);
  const losses: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let bestRound = -1;
  const trees: GbdtTree[] = [];
  for (let round = 0; round < params.maxRounds; round++) {
    const tree = booster.boostRound();
    trees.push(tree);
    if (valData) {
      booster.addTreeOutputs(valBinned, valN, valMargin);
      const loss = logLoss(valMargin, valY, valW);
      losses.push(loss);
      if (loss < best - 1e-12) {
        best = loss;
        bestRound = round;
      } else if (round - bestRound >= params.earlyStoppingRounds) break;
    } else bestRound = round;
    // A tree that is a single leaf means no split improved the loss: further rounds repeat it.
    if (tree.feature.length === 1 && !valData) break;
  }
  const kept = trees.slice(0, bestRound + 1);
  const model: GbdtModel = {
    kind: "gbdt",
    formatVersion: 1,
    numFeatures: d,
    featureNames: names.slice(),
    baseScore: booster.baseScore,
    trees: kept,
    params: {
      ...params,
      trainRows: n,
      validationRows: valN,
      bestRounds: kept.length,
      bestValidationLogLoss: valData ? best : null,
    },
  };
  return { model, bestRounds: kept.length, validationLoss: losses };
}

/** Mutable training state: binned data, gradients, histogram pool, tree buffers. */
class Booster {
  readonly baseScore: number;
  private readonly n: number;
  private readonly d: number;
  private readonly bins: FeatureBins[];
  /** Row-major bins of the fitted rows: (row k, feature f) at k * d + f. */
  private readonly binned: Uint8Array;
  /** Histogram pool and the buffers histograms are built from (gradients, row lists). */
  private readonly hx: SparseHistograms;
  /** Missing-bin index (= number of value bins) per feature. */
  private readonly missingBin: Int32Array;
  private readonly binOffset: Int32Array;
  private readonly y: Uint8Array;
  private readonly w: Float64Array | undefined;
  private readonly margin: Float64Array;
  /** Gradient and hessian of row i at gh[2i], gh[2i + 1] (the histograms' buffer). */
  private readonly gh: Float64Array;
  /** Leaf l's rows are rowIdx[leafStart[l] .. leafStart[l] + leafCount[l] - 1] (the histograms' buffer). */
  private readonly rowIdx: Uint32Array;
  /** 1 for the rows of this round's bag. */
  private readonly inBag: Uint8Array;
  private readonly featureUsed: Uint8Array;
  /** This round's features in ascending order, and how many there are. */
  private readonly usedFeatures: Int32Array;
  private numUsed = 0;
  private readonly featureOrder: Int32Array;
  private readonly usableFeatures: number[];
  private readonly maxLeaves: number;
  private numLeaves = 0;
  // Leaf state (index = leaf number during growth).
  private readonly leafNode: Int32Array;
  private readonly leafStart: Int32Array;
  private readonly leafCount: Int32Array;
  private readonly leafG: Float64Array;
  private readonly leafH: Float64Array;
  private readonly leafDepth: Int32Array;
  private readonly leafSlot: Int32Array;
  private readonly bestGain: Float64Array;
  private readonly bestFeature: Int32Array;
  private readonly bestBin: Int32Array;
  private readonly bestMissLeft: Uint8Array;
  private readonly bestLG: Float64Array;
  private readonly bestLH: Float64Array;
  private readonly bestLC: Int32Array;
  // Node arrays of the tree being grown.
  private readonly nFeature: Int32Array;
  private readonly nBin: Int32Array;
  private readonly nThreshold: Float64Array;
  private readonly nDefaultLeft: Uint8Array;
  private readonly nLeft: Int32Array;
  private readonly nRight: Int32Array;
  private readonly nValue: Float64Array;
  private readonly nCover: Float64Array;
  private readonly nGain: Float64Array;
  private numNodes = 0;

  /** Fits on rows `rows` (ascending) of `data`, read in place. */
  constructor(
    data: GbdtData,
    d: number,
    rows: ArrayLike<number>,
    private readonly p: GbdtParams,
    private readonly rng: Rng,
  ) {
    const n = rows.length;
    this.n = n;
    this.d = d;
    this.y = pickLabels(data.y, rows);
    this.w = data.weights ? pick(data.weights, rows) : undefined;
    const scratch = new Float64Array(n);
    this.bins = [];
    for (let f = 0; f < d; f++) this.bins.push(fitFeatureBins(data.x, d, f, rows, p.maxBins, scratch));
    this.binned = binRows(data.x, d, rows, this.bins);
    this.missingBin = Int32Array.from(this.bins, (b) => b.numBins);
    this.binOffset = new Int32Array(d + 1);
    for (let f = 0; f < d; f++) this.binOffset[f + 1] = this.binOffset[f] + this.bins[f].numBins + 1;
    this.hx = new SparseHistograms(this.binned, n, d, this.binOffset, p.numLeaves);
    this.gh = this.hx.gh;
    this.rowIdx = this.hx.rows;
    this.usableFeatures = [];
    for (let f = 0; f < d; f++) {
      if (this.bins[f].numBins > 1 || this.bins[f].hasMissing) this.usableFeatures.push(f);
    }

    let sw = 0;
    let swy = 0;
    for (let i = 0; i < n; i++) {
      const wi = this.w ? this.w[i] : 1;
      sw += wi;
      swy += wi * this.y[i];
    }
    if (!(swy > 0 && swy < sw)) {
      throw new InputError(
        "training data must contain both classes (with positive weight) to fit a classifier",
      );
    }
    this.baseScore = Math.log(swy / (sw - swy));
    this.margin = new Float64Array(n).fill(this.baseScore);
    this.inBag = new Uint8Array(n);
    const L = p.numLeaves;
    this.maxLeaves = L;
    this.featureUsed = new Uint8Array(d);
    this.usedFeatures = new Int32Array(d);
    this.featureOrder = new Int32Array(this.usableFeatures);
    this.leafNode = new Int32Array(L);
    this.leafStart = new Int32Array(L);
    this.leafCount = new Int32Array(L);
    this.leafG = new Float64Array(L);
    this.leafH = new Float64Array(L);
    this.leafDepth = new Int32Array(L);
    this.leafSlot = new Int32Array(L);
    this.bestGain = new Float64Array(L);
    this.bestFeature = new Int32Array(L);
    this.bestBin = new Int32Array(L);
    this.bestMissLeft = new Uint8Array(L);
    this.bestLG = new Float64Array(L);
    this.bestLH = new Float64Array(L);
    this.bestLC = new Int32Array(L);
    const maxNodes = 2 * L - 1;
    this.nFeature = new Int32Array(maxNodes);
    this.nBin = new Int32Array(maxNodes);
    this.nThreshold = new Float64Array(maxNodes);
    this.nDefaultLeft = new Uint8Array(maxNodes);
    this.nLeft = new Int32Array(maxNodes);
    this.nRight = new Int32Array(maxNodes);
    this.nValue = new Float64Array(maxNodes);
    this.nCover = new Float64Array(maxNodes);
    this.nGain = new Float64Array(maxNodes);
  }

  /** Row-major bins of rows `rows` of x under the training bins (for validation rows). */
  binRows(x: Float64Array, rows: ArrayLike<number>): Uint8Array {
    return binRows(x, this.d, rows, this.bins);
  }

  /** Adds the last grown tree's output to margin[k] for each of `count` row-major binned rows. */
  addTreeOutputs(binned: Uint8Array, count: number, margin: Float64Array): void {
    const { d, nFeature, nBin, nLeft, nRight, nDefaultLeft, nValue, missingBin } = this;
    for (let k = 0; k < count; k++) {
      const base = k * d;
      let node = 0;
      while (nFeature[node] !== -1) {
        const f = nFeature[node];
        const b = binned[base + f];
        const goLeft = b === missingBin[f] ? nDefaultLeft[node] === 1 : b <= nBin[node];
        node = goLeft ? nLeft[node] : nRight[node];
      }
      margin[k] += nValue[node];
    }
  }

  /** Grows one tree on the current gradients, updates the training margins and returns the tree. */
  boostRound(): GbdtTree {
    const { n, y, w, margin, gh, inBag, rowIdx } = this;
    // Row subsampling: Bernoulli per row (one 32-bit draw) keeps rows in ascending order
    // (cache-friendly histograms).
    let m = 0;
    const bagged = this.p.baggingFraction < 1;
    if (bagged) {
      const cut = this.p.baggingFraction * 4294967296;
      for (let i = 0; i < n; i++) {
        const keep = this.rng.nextUint32() < cut ? 1 : 0;
        inBag[i] = keep;
        rowIdx[m] = i;
        m += keep;
      }
    } else {
      for (let i = 0; i < n; i++) rowIdx[i] = i;
      m = n;
    }
    // Gradients of the in-bag rows only: no other row takes part in this tree's sums.
    for (let k = 0; k < m; k++) {
      const i = rowIdx[k];
      const pr = 1 / (1 + Math.exp(-margin[i]));
      const wi = w ? w[i] : 1;
      gh[2 * i] = wi * (pr - y[i]);
      gh[2 * i + 1] = Math.max(wi * pr * (1 - pr), 1e-16 * wi);
    }
    // Feature subsampling per tree.
    this.featureUsed.fill(0);
    const usable = this.featureOrder;
    const k = Math.max(1, Math.round(usable.length * this.p.featureFraction));
    if (k < usable.length) {
      this.rng.shuffle(usable);
      for (let j = 0; j < k; j++) this.featureUsed[usable[j]] = 1;
    } else for (let j = 0; j < usable.length; j++) this.featureUsed[usable[j]] = 1;
    this.numUsed = 0;
    for (let f = 0; f < this.d; f++) if (this.featureUsed[f] === 1) this.usedFeatures[this.numUsed++] = f;

    this.growTree(m);
    const tree = this.exportTree();
    // In-bag rows: each leaf's rows are its range of rowIdx, so no walk is needed.
    const { leafNode, leafStart, leafCount, nValue } = this;
    for (let l = 0; l < this.numLeaves; l++) {
      const v = nValue[leafNode[l]];
      const end = leafStart[l] + leafCount[l];
      for (let j = leafStart[l]; j < end; j++) margin[rowIdx[j]] += v;
    }
    // Out-of-bag rows: walk the tree in bin space.
    if (bagged) {
      const { binned, d, nFeature, nBin, nLeft, nRight, nDefaultLeft, missingBin } = this;
      for (let i = 0; i < n; i++) {
        if (inBag[i] === 1) continue;
        const base = i * d;
        let node = 0;
        while (nFeature[node] !== -1) {
          const f = nFeature[node];
          const b = binned[base + f];
          const goLeft = b === missingBin[f] ? nDefaultLeft[node] === 1 : b <= nBin[node];
          node = goLeft ? nLeft[node] : nRight[node];
        }
        margin[i] += nValue[node];
      }
    }
    return tree;
  }

  private leafValue(g: number, h: number): number {
    return (-g / (h + this.p.lambdaL2)) * this.p.learningRate;
  }

  private growTree(m: number): void {
    this.numNodes = 1;
    let numLeaves = 1;
    let g = 0;
    let h = 0;
    for (let k = 0; k < m; k++) {
      const r = this.rowIdx[k];
      g += this.gh[2 * r];
      h += this.gh[2 * r + 1];
    }
    this.leafNode[0] = 0;
    this.leafStart[0] = 0;
    this.leafCount[0] = m;
    this.leafG[0] = g;
    this.leafH[0] = h;
    this.leafDepth[0] = 0;
    this.leafSlot[0] = 0;
    this.setLeafNode(0, 0, m, g, h);
    this.buildHistogram(0, 0, m, g, h);
    this.findBestSplit(0);

    while (numLeaves < this.maxLeaves) {
      // Pick the leaf to split: best gain (leaf-wise) or shallowest first (depth-wise).
      let pick = -1;
      for (let l = 0; l < numLeaves; l++) {
        if (!(this.bestGain[l] > this.p.minGainToSplit)) continue;
        if (pick < 0) pick = l;
        else if (this.p.growth === "leafwise") {
          if (this.bestGain[l] > this.bestGain[pick]) pick = l;
        } else if (this.leafDepth[l] < this.leafDepth[pick]) pick = l;
      }
      if (pick < 0) break;
      const right = numLeaves++;
      this.splitLeaf(pick, right);
    }
    this.numLeaves = numLeaves;
  }
  private setLeafNode(node: number, start: number, count: number, g: number, h: number): void {
    this.nFeature[node] = -1;
    this.nBin[node] = 0;
    this.nThreshold[node] = 0;
    this.nDefaultLeft[node] = 0;
    this.nLeft[node] = -1;
    this.nRight[node] = -1;
    this.nValue[node] = this.leafValue(g, h);
    this.nGain[node] = 0;
    let cover = count;
    if (this.w) {
      cover = 0;
      for (let k = start; k < start + count; k++) cover += this.w[this.rowIdx[k]];
    }
    this.nCover[node] = cover;
  }

  private splitLeaf(l: number, r: number): void {
    const f = this.bestFeature[l];
    const bin = this.bestBin[l];
    const missLeft = this.bestMissLeft[l];
    const start = this.leafStart[l];
    const count = this.leafCount[l];
    const missingBin = this.bins[f].numBins;
    // Stable partition of the leaf's rows: left rows first, then right rows.
    const nl = this.hx.partition(start, count, f, bin, missingBin, missLeft);
    const nr = count - nl;

    const node = this.leafNode[l];
    const leftNode = this.numNodes++;
    const rightNode = this.numNodes++;
    this.nFeature[node] = f;
    this.nBin[node] = bin;
    // The "missing vs present" split sends every value left: no finite value exceeds MAX_VALUE.
    this.nThreshold[node] = bin < this.bins[f].numBins - 1 ? this.bins[f].upper[bin] : Number.MAX_VALUE;
    this.nDefaultLeft[node] = missLeft;
    this.nLeft[node] = leftNode;
    this.nRight[node] = rightNode;
    this.nGain[node] = this.bestGain[l];

    const gL = this.bestLG[l];
    const hL = this.bestLH[l];
    const gR = this.leafG[l] - gL;
    const hR = this.leafH[l] - hL;
    const depth = this.leafDepth[l] + 1;
    const parentSlot = this.leafSlot[l];
    this.leafNode[l] = leftNode;
    this.leafCount[l] = nl;
    this.leafG[l] = gL;
    this.leafH[l] = hL;
    this.leafDepth[l] = depth;
    this.leafNode[r] = rightNode;
    this.leafStart[r] = start + nl;
    this.leafCount[r] = nr;
    this.leafG[r] = gR;
    this.leafH[r] = hR;
    this.leafDepth[r] = depth;
    this.setLeafNode(leftNode, start, nl, gL, hL);
    this.setLeafNode(rightNode, start + nl, nr, gR, hR);

    // Histogram subtraction: build the smaller child, derive the larger from the parent.
    const smallIsLeft = nl <= nr;
    const small = smallIsLeft ? l : r;
    const large = smallIsLeft ? r : l;
    this.leafSlot[large] = parentSlot;
    this.leafSlot[small] = r; // leaf r's slot is free: slots are assigned one per leaf number
    this.buildHistogram(
      this.leafSlot[small],
      this.leafStart[small],
      this.leafCount[small],
      this.leafG[small],
      this.leafH[small],
    );
    this.subtractHistogram(parentSlot, this.leafSlot[small]);
    const canSplit = this.p.maxDepth === 0 || depth < this.p.maxDepth;
    if (canSplit) {
      this.findBestSplit(l);
      this.findBestSplit(r);
    } else {
      this.bestGain[l] = Number.NEGATIVE_INFINITY;
      this.bestGain[r] = Number.NEGATIVE_INFINITY;
    }
  }

  /**
   * The histogram of the leaf whose rows are rowIdx[start .. start + count - 1]
   * and whose gradient and hessian sums are g and h: the rows' non-zero bins
   * summed a row at a time (in rowIdx order), then each searched feature's
   * zero bin from the totals.
   */
  private buildHistogram(slot: number, start: number, count: number, g: number, h: number): void {
    this.hx.accumulate(slot, start, count);
    this.hx.fillZeroBins(slot, this.usedFeatures, this.numUsed, g, h, count);
  }

  /** parent slot -= small slot, leaving the larger child's histogram in the parent slot. */
  private subtractHistogram(parentSlot: number, smallSlot: number): void {
    const a = this.hx.slots[parentSlot];
    const b = this.hx.slots[smallSlot];
    const { binOffset, usedFeatures, numUsed } = this;
    for (let j = 0; j < numUsed; j++) {
      const f = usedFeatures[j];
      const end = binOffset[f + 1] * 3;
      for (let i = binOffset[f] * 3; i < end; i++) a[i] -= b[i];
    }
  }

  private findBestSplit(l: number): void {
    const hist = this.hx.slots[this.leafSlot[l]];
    const G = this.leafG[l];
    const H = this.leafH[l];
    const C = this.leafCount[l];
    const lambda = this.p.lambdaL2;
    const minData = this.p.minDataInLeaf;
    const minHess = this.p.minSumHessianInLeaf;
    const parentScore = (G * G) / (H + lambda);
    let bestGain = Number.NEGATIVE_INFINITY;
    let bestF = -1;
    let bestBin = 0;
    let bestMissLeft = 0;
    let bestLG = 0;
    let bestLH = 0;
    let bestLC = 0;
    if (C >= 2 * minData && H >= 2 * minHess) {
      for (let f = 0; f < this.d; f++) {
        if (this.featureUsed[f] === 0) continue;
        const nb = this.bins[f].numBins;
        const base = this.binOffset[f] * 3;
        const mIdx = base + nb * 3;
        const gM = hist[mIdx];
        const hM = hist[mIdx + 1];
        const cM = hist[mIdx + 2];
        // Pass 0: missing goes right; pass 1: missing goes left (only if any missing here).
        for (let pass = 0; pass < (cM > 0 ? 2 : 1); pass++) {
          let gl = pass === 1 ? gM : 0;
          let hl = pass === 1 ? hM : 0;
          let cl = pass === 1 ? cM : 0;
          for (let t = 0; t + 1 < nb; t++) {
            const i = base + t * 3;
            gl += hist[i];
            hl += hist[i + 1];
            cl += hist[i + 2];
            if (cl < minData || hl < minHess) continue;
            const cr = C - cl;
            const hr = H - hl;
            if (cr < minData || hr < minHess) break;
            const gr = G - gl;
            const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              bestF = f;
              bestBin = t;
              // Without missing rows here, send future missing values to the larger side.
              bestMissLeft = pass === 1 ? 1 : cM > 0 ? 0 : cl >= cr ? 1 : 0;
              bestLG = gl;
              bestLH = hl;
              bestLC = cl;
            }
          }
        }
        // A feature whose only values here are "missing" vs "present": split missing off.
        if (cM > 0 && nb >= 1) {
          const cl = C - cM;
          const hl = H - hM;
          if (cl >= minData && cM >= minData && hl >= minHess && hM >= minHess) {
            const gl = G - gM;
            const gain = (gl * gl) / (hl + lambda) + (gM * gM) / (hM + lambda) - parentScore;
            if (gain > bestGain) {
              bestGain = gain;
              bestF = f;
              bestBin = nb - 1; // all value bins left, missing right
              bestMissLeft = 0;
              bestLG = gl;
              bestLH = hl;
              bestLC = cl;
            }
          }
        }
      }
    }
    this.bestGain[l] = bestF < 0 ? Number.NEGATIVE_INFINITY : bestGain;
    this.bestFeature[l] = bestF;
    this.bestBin[l] = bestBin;
    this.bestMissLeft[l] = bestMissLeft;
    this.bestLG[l] = bestLG;
    this.bestLH[l] = bestLH;
    this.bestLC[l] = bestLC;
  }

  private exportTree(): GbdtTree {
    const k = this.numNodes;
    const t: GbdtTree = {
      feature: Array.from(this.nFeature.subarray(0, k)),
      threshold: Array.from(this.nThreshold.subarray(0, k)),
      defaultLeft: Array.from(this.nDefaultLeft.subarray(0, k), (v) => (v === 1 ? 1 : 0)),
      left: Array.from(this.nLeft.subarray(0, k)),
      right: Array.from(this.nRight.subarray(0, k)),
      value: Array.from(this.nValue.subarray(0, k)),
      cover: Array.from(this.nCover.subarray(0, k)),
      gain: Array.from(this.nGain.subarray(0, k)),
    };
    return t;
  }
}
