/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion et al. 2018, "Consistent
 * individualized feature attribution for tree ensembles", Algorithm 2) for GBDT
 * models. The contributions of one row, plus the expected margin, sum to the
 * row's raw margin. Precomputed once per model: typed node arrays, each
 * child's share of its parent's cover, each tree's expected value and the
 * path buffers sized for the deepest tree; explaining a row allocates nothing.
 */
import type { GbdtModel } from "../../train/gbdt/model.js";

/** Explains rows of one model. */
export interface TreeShapExplainer {
  readonly numFeatures: number;
  /** Expected raw margin over the training distribution (the base value). */
  readonly expectedValue: number;
  /**
   * Writes feature contributions of the row at `x[offset .. offset+numFeatures)`
   * into phi[0..numFeatures) and the expected value into phi[numFeatures];
   * phi's sum is the row's raw margin.
   */
  explainRow(x: ArrayLike<number>, offset: number, phi: Float64Array): void;
}

/** Share of a parent's cover that reaches `child`; an empty parent splits evenly. */
function coverShare(parentCover: number, childCover: number): number {
  return parentCover > 0 ? childCover / parentCover : 0.5;
}

/** Builds the per-model precomputation for TreeSHAP. */
export function createTreeShap(model: GbdtModel): TreeShapExplainer {
  const d = model.numFeatures;
  let total = 0;
  for (const t of model.trees) total += t.feature.length;
  // All trees' nodes in one set of arrays; child links are global indices.
  const feature = new Int32Array(total);
  const threshold = new Float64Array(total);
  const defaultLeft = new Uint8Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const value = new Float64Array(total);
  const leftShare = new Float64Array(total);
  const rightShare = new Float64Array(total);
  const roots = new Int32Array(model.trees.length);
  let maxDepth = 0;
  let expected = model.baseScore;
  let at = 0;
  model.trees.forEach((t, ti) => {
    roots[ti] = at;
    const nn = t.feature.length;
    const depth = new Int32Array(nn);
    for (let k = 0; k < nn; k++) {
      const g = at + k;
      feature[g] = t.feature[k];
      threshold[g] = t.threshold[k];
      defaultLeft[g] = t.defaultLeft[k];
      value[g] = t.value[k];
      if (t.feature[k] !== -1) {
        left[g] = at + t.left[k];
        right[g] = at + t.right[k];
        leftShare[g] = coverShare(t.cover[k], t.cover[t.left[k]]);
        rightShare[g] = coverShare(t.cover[k], t.cover[t.right[k]]);
        // Children always follow their parent, so depths fill in one forward pass.
        depth[t.left[k]] = depth[k] + 1;
        depth[t.right[k]] = depth[k] + 1;
      } else {
        left[g] = -1;
        right[g] = -1;
        maxDepth = Math.max(maxDepth, depth[k]);
      }
    }
    // Expected value of the tree: leaves weighted by the product of cover shares on their path.
    const reach = new Float64Array(nn);
    reach[0] = 1;
    for (let k = 0; k < nn; k++) {
      if (t.feature[k] === -1) expected += reach[k] * t.value[k];
      else {
        reach[t.left[k]] = reach[k] * leftShare[at + k];
        reach[t.right[k]] = reach[k] * rightShare[at + k];
      }
    }
    at += nn;
  });

  // Path storage as in the reference implementation: level k of the recursion
  // owns k+1 elements right after level k-1's, so a path is copied, never shared.
  const maxd = maxDepth + 2;
  const size = (maxd * (maxd + 1)) / 2;
  const pFeature = new Int32Array(size);
  const pZero = new Float64Array(size);
  const pOne = new Float64Array(size);
  const pWeight = new Float64Array(size);
  let phiOut: Float64Array = new Float64Array(0);
  let xIn: ArrayLike<number> = phiOut;
  let xOff = 0;

  function extendPath(p: number, depth: number, zero: number, one: number, feat: number): void {
    pFeature[p + depth] = feat;
    pZero[p + depth] = zero;
    pOne[p + depth] = one;
    pWeight[p + depth] = depth === 0 ? 1 : 0;
    const inv = 1 / (depth + 1);
    const oneInv = one * inv;
    const zeroInv = zero * inv;
    for (let i = depth - 1; i >= 0; i--) {
      const w = pWeight[p + i];
      pWeight[p + i + 1] += oneInv * w * (i + 1);
      pWeight[p + i] = zeroInv * w * (depth - i);
    }
  }

  function unwindPath(p: number, depth: number, index: number): void {
    const one = pOne[p + index];
    const zero = pZero[p + index];
    let nextOne = pWeight[p + depth];
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pWeight[p + i];
        pWeight[p + i] = (nextOne * (depth + 1)) / ((i + 1) * one);
        nextOne = tmp - (pWeight[p + i] * zero * (depth - i)) / (depth + 1);
      } else {
        pWeight[p + i] = (pWeight[p + i] * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = index; i < depth; i++) {
      pFeature[p + i] = pFeature[p + i + 1];
      pZero[p + i] = pZero[p + i + 1];
      pOne[p + i] = pOne[p + i + 1];
    }
  }

  // Ratios of the recurrences, tabulated per path length so the inner loops
  // multiply instead of divide: up[depth][i] = (depth+1)/(i+1), down[depth][i] = (depth-i)/(depth+1).
  const up: Float64Array[] = [];
  const down: Float64Array[] = [];
  for (let depth = 0; depth <= maxd; depth++) {
    up.push(Float64Array.from({ length: depth + 1 }, (_, i) => (depth + 1) / (i + 1)));
    down.push(Float64Array.from({ length: depth + 1 }, (_, i) => (depth - i) / (depth + 1)));
  }

  function unwoundPathSum(p: number, depth: number, index: number): number {
    const one = pOne[p + index];
    const zero = pZero[p + index];
    let nextOne = pWeight[p + depth];
    let sum = 0;
    const u = up[depth]!;
    const dn = down[depth]!;
    if (one !== 0) {
      const inv = 1 / one;
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = nextOne * u[i]! * inv;
        sum += tmp;
        nextOne = pWeight[p + i] - tmp * zero * dn[i]!;
      }
    } else if (zero !== 0) {
      for (let i = depth - 1; i >= 0; i--) sum += pWeight[p + i] / dn[i]!;
      sum /= zero;
    }
    return sum;
  }

  function recurse(
    node: number,
    depthIn: number,
    parentP: number,
    zero: number,
    one: number,
    feat: number,
  ): void {
    let depth = depthIn;
    const p = parentP + depth; // this level's path follows the parent's (depth elements)
    for (let i = 0; i < depth; i++) {
      pFeature[p + i] = pFeature[parentP + i];
      pZero[p + i] = pZero[parentP + i];
      pOne[p + i] = pOne[parentP + i];
      pWeight[p + i] = pWeight[parentP + i];
    }
    extendPath(p, depth, zero, one, feat);
    const f = feature[node];
    if (f === -1) {
      const v = value[node];
      // Elements the row does not satisfy (one = 0) share one sum, divided by their own zero fraction.
      let cold = Number.NaN;
      for (let i = 1; i <= depth; i++) {
        const one = pOne[p + i];
        const zero = pZero[p + i];
        let w = 0;
        if (one !== 0) w = unwoundPathSum(p, depth, i);
        else if (zero !== 0) {
          if (Number.isNaN(cold)) {
            const dn = down[depth]!;
            cold = 0;
            for (let k = depth - 1; k >= 0; k--) cold += pWeight[p + k] / dn[k]!;
          }
          w = cold / zero;
        }
        phiOut[pFeature[p + i]] += w * (one - zero) * v;
      }
      return;
    }
    const xv = xIn[xOff + f];
    const goLeft = xv <= threshold[node] || (Number.isNaN(xv) && defaultLeft[node] === 1);
    const hot = goLeft ? left[node] : right[node];
    const cold = goLeft ? right[node] : left[node];
    const hotZero = goLeft ? leftShare[node] : rightShare[node];
    const coldZero = goLeft ? rightShare[node] : leftShare[node];
    let inZero = 1;
    let inOne = 1;
    // A feature already on the path is unwound first so the path keeps each feature once.
    let k = 0;
    for (; k <= depth; k++) if (pFeature[p + k] === f) break;
    if (k !== depth + 1) {
      inZero = pZero[p + k];
      inOne = pOne[p + k];
      unwindPath(p, depth, k);
      depth -= 1;
    }
    recurse(hot, depth + 1, p, hotZero * inZero, inOne, f);
    recurse(cold, depth + 1, p, coldZero * inZero, 0, f);
  }

  return {
    numFeatures: d,
    expectedValue: expected,
    explainRow(x, offset, phi) {
      if (phi.length < d + 1) throw new RangeError(`phi needs ${d + 1} slots, got ${phi.length}`);
      phi.fill(0, 0, d + 1);
      phiOut = phi;
      xIn = x;
      xOff = offset;
      for (let t = 0; t < roots.length; t++) {
        const root = roots[t];
        // A single-leaf tree adds a constant, which the expected value already holds.
        if (feature[root] === -1) continue;
        recurse(root, 0, 0, 1, 1, -1);
      }
      phi[d] = expected;
    },
  };
}
