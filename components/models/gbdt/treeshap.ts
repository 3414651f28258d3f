/**
 * Exact path-dependent TreeSHAP for GBDT models: the contributions of one row,
 * plus the expected margin, sum to the row's raw margin.
 *
 * Two exact algorithms, chosen per tree:
 * - leaf tables (the default): path-dependent TreeSHAP is a sum over leaves of
 *   the Shapley values of each leaf's product game, and that game depends on
 *   the row only through which of the leaf's path features the row satisfies
 *   (a bit mask H over the K unique features of the path). Tabulating, per
 *   leaf, T(M) = sum over S subset of M of |S|!(K-|S|-1)!/K! * prod over j in
 *   path, not in S of z_j (z_j: the cover share of the path's splits on j)
 *   gives each feature's share in O(1): (1-z_i)/z_i * T(H without i) when the
 *   row satisfies i, and -T(H) when it does not. A row then costs O(leaves x K)
 *   per tree instead of O(leaves x depth^2), about 5x less on our models. This
 *   is the idea of Fast TreeSHAP v2 (Yang 2021, arXiv:2109.09847), derived and
 *   written here for our tree layout. Within a model-wide budget
 *   (MAX_VECTOR_ENTRIES, tree by tree) both cases are tabulated per mask as
 *   "contribution vectors" (K x 2^K numbers per leaf, 6 MB for the pinned
 *   bench model), so a row only works out H and adds K numbers per leaf.
 * Rows are explained in batches tree by tree (explainRows), so each tree's
 * tables stay in cache across the batch; a row's values are the same bits in
 * any batch and by vectors or plain tables.
 * - the recursive Algorithm 2 of Lundberg, Erion et al. 2018 ("Consistent
 *   individualized feature attribution for tree ensembles"), for trees whose
 *   tables would be too big (deep paths) or whose paths hold an empty child.
 * Explaining a row allocates nothing.
 */
import type { GbdtModel } from "./model.js";

/** Largest number of unique features on one leaf's path for which a table is built (2^K entries). */
const MAX_TABLE_FEATURES = 14;
/** Table entries (numbers) across the whole model; trees beyond the budget use the recursion. */
const MAX_TABLE_ENTRIES = 16 << 20;
/**
 * Numbers of contribution vectors (K x 2^K per leaf) across the model, 32 MB:
 * trees past this budget keep the 2^K numbers of T per leaf and work out each
 * share per row (about half as fast). The pinned bench model takes 762,000; a
 * 300-tree model on 31 synthetic features would take 13M (103 MB; its plain
 * tables: 11 MB). Chosen per tree, so the hot loops have no per-leaf branch
 * (one made the whole walk 1.7x slower).
 */
const MAX_VECTOR_ENTRIES = 4 << 20;

/** How a tree is explained. */
const BY_RECURSION = 0;
const BY_TABLES = 1;
const BY_VECTORS = 2;

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
  /**
   * explainRow for `count` rows at once: the row at `x[offsets[r] ..]` gets
   * phi[r * (numFeatures + 1) ..), with the same values bit for bit as
   * explainRow gives it (whatever the batch).
   */
  explainRows(x: ArrayLike<number>, offsets: ArrayLike<number>, count: number, phi: Float64Array): void;
}

/** Share of a parent's cover that reaches `child`; an empty parent splits evenly. */
function coverShare(parentCover: number, childCover: number): number {
  return parentCover > 0 ? childCover / parentCover : 0.5;
}

/** How TreeSHAP runs; both algorithms give the same values (to rounding). */
export interface TreeShapOptions {
  /** Leaf tables where they fit (default true); false: the recursion for every tree. */
  tables?: boolean;
  /** Contribution vectors where they fit (default true); false: plain tables (T) for every tree with tables. */
  vectors?: boolean;
}

/** Builds the per-model precomputation for TreeSHAP. */
export function createTreeShap(model: GbdtModel, options: TreeShapOptions = {}): TreeShapExplainer {
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
  let phiAt = 0;
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
        phiOut[phiAt + pFeature[p + i]] += w * (one - zero) * v;
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

  // Leaf tables (see the header): per tree, either tables for every leaf or the recursion.
  const tables = buildLeafTables(
    roots,
    { feature, left, right, leftShare, rightShare, value },
    options.tables === false ? 0 : MAX_TABLE_ENTRIES,
    options.vectors === false ? 0 : MAX_VECTOR_ENTRIES,
  );
  const walk = tableWalk(roots, { feature, threshold, defaultLeft, left, right }, tables);

  /** Adds tree t's contributions by the recursion for the rows at x[offsets[r]..] to phi at r * (d + 1). */
  function explainByRecursion(
    t: number,
    x: ArrayLike<number>,
    offsets: ArrayLike<number>,
    count: number,
    phi: Float64Array,
  ): void {
    phiOut = phi;
    xIn = x;
    for (let r = 0; r < count; r++) {
      phiAt = r * (d + 1);
      xOff = offsets[r]!;
      recurse(roots[t]!, 0, 0, 1, 1, -1);
    }
  }

  const one = new Int32Array(1);
  const explainer: TreeShapExplainer = {
    numFeatures: d,
    expectedValue: expected,
    explainRow(x, offset, phi) {
      one[0] = offset;
      explainer.explainRows(x, one, 1, phi);
    },
    explainRows(x, offsets, count, phi) {
      const stride = d + 1;
      if (phi.length < count * stride)
        throw new RangeError(`phi needs ${count * stride} slots for ${count} rows, got ${phi.length}`);
      phi.fill(0, 0, count * stride);
      // Tree by tree, every row: the tree's tables stay in cache across the rows
      // (1.2x over row by row on the pinned model), and each row's phi still sums
      // tree by tree, leaf by leaf, so the values do not depend on the batch.
      for (let t = 0; t < roots.length; t++) {
        const by = tables.treeKind[t]!;
        if (by === BY_VECTORS) addTreeByVectors(walk, t, x, offsets, count, phi, stride);
        else if (by === BY_TABLES) addTreeByTables(walk, t, x, offsets, count, phi, stride);
        else if (feature[roots[t]!] !== -1) explainByRecursion(t, x, offsets, count, phi);
      }
      for (let r = 0; r < count; r++) phi[r * stride + d] = expected;
    },
  };
  return explainer;
}

/**
 * What the table walk reads, per split and per leaf of the trees with tables
 * (each tree's splits and leaves in forward node order, so the loops of
 * addTreeByTables run without a leaf-or-split branch, which a row's path
 * makes unpredictable). Within a tree, nodes get "miss" slots of their own:
 * the root 0, the children of the tree's j-th split 2j + 1 and 2j + 2.
 */
interface TableWalk {
  /** Tree t's splits are [splitStart[t], splitStart[t + 1]), its leaves [leafStart[t], leafStart[t + 1]); empty without tables. */
  splitStart: Int32Array;
  leafStart: Int32Array;
  splitFeature: Int32Array;
  splitThreshold: Float64Array;
  /** The split's slot bit (1 << slot, slot < 30), with bit 30 set when a missing value goes left. */
  splitBits: Int32Array;
  /** The split's own miss slot. */
  splitSelf: Int32Array;
  leafSelf: Int32Array;
  /** Where the leaf's slots start in slotFeature, and how many (K). */
  leafSlotStart: Int32Array;
  leafSlotCount: Uint8Array;
  slotFeature: Int32Array;
  /** Where the leaf's table starts in `numbers` (LeafTables.tableAt). */
  leafTableAt: Int32Array;
  numbers: Float64Array;
  /** Scratch, per miss slot: the slots of the path features the row fails above the node. */
  miss: Int32Array;
}

/** Bit 30 of splitBits: a missing value goes left at this split. */
const MISSING_LEFT = 1 << 30;

/** Lays out the trees with tables for the table walk. */
function tableWalk(
  roots: Int32Array,
  nodes: Pick<NodeArrays, "feature" | "left" | "right"> & {
    threshold: Float64Array;
    defaultLeft: Uint8Array;
  },
  tables: LeafTables,
): TableWalk {
  const { feature, left, right, threshold, defaultLeft } = nodes;
  const total = feature.length;
  const splitStart = new Int32Array(roots.length + 1);
  const leafStart = new Int32Array(roots.length + 1);
  const splits: number[] = [];
  const leaves: number[] = [];
  const self = new Int32Array(total);
  let widest = 1;
  for (let t = 0; t < roots.length; t++) {
    splitStart[t] = splits.length;
    leafStart[t] = leaves.length;
    if (tables.treeKind[t] === BY_RECURSION) continue;
    const end = t + 1 < roots.length ? roots[t + 1]! : total;
    let j = 0;
    for (let g = roots[t]!; g < end; g++) {
      if (feature[g] === -1) {
        leaves.push(g);
        continue;
      }
      splits.push(g);
      // Children follow their parent, so they get their slots before they are reached.
      self[left[g]!] = 2 * j + 1;
      self[right[g]!] = 2 * j + 2;
      j++;
    }
    widest = Math.max(widest, 2 * j + 1);
  }
  splitStart[roots.length] = splits.length;
  leafStart[roots.length] = leaves.length;
  const of = <A extends Int32Array | Uint8Array | Float64Array>(
    list: number[],
    out: A,
    at: (g: number) => number,
  ) => {
    list.forEach((g, n) => {
      out[n] = at(g);
    });
    return out;
  };
  return {
    splitStart,
    leafStart,
    splitFeature: of(splits, new Int32Array(splits.length), (g) => feature[g]!),
    splitThreshold: of(splits, new Float64Array(splits.length), (g) => threshold[g]!),
    splitBits: of(
      splits,
      new Int32Array(splits.length),
      (g) => tables.nodeBit[g]! | (defaultLeft[g] === 1 ? MISSING_LEFT : 0),
    ),
    splitSelf: of(splits, new Int32Array(splits.length), (g) => self[g]!),
    leafSelf: of(leaves, new Int32Array(leaves.length), (g) => self[g]!),
    leafSlotStart: of(leaves, new Int32Array(leaves.length), (g) => tables.slotStart[g]!),
    leafSlotCount: of(leaves, new Uint8Array(leaves.length), (g) => tables.slotCount[g]!),
    slotFeature: tables.slotFeature,
    leafTableAt: of(leaves, new Int32Array(leaves.length), (g) => tables.tableAt[g]!),
    numbers: tables.numbers,
    miss: new Int32Array(widest),
  };
}

/**
 * One forward pass over tree t's splits [s0, s1) for the row at x[off ..]: each
 * node's miss slot gets the slots of the path features the row fails on the
 * way down; at a leaf that is H's complement. The per-split data sits in few
 * arrays on purpose: with one array per node field, V8 ran out of registers
 * and the walk took 2x as long.
 */
function markFailedSlots(walk: TableWalk, s0: number, s1: number, x: ArrayLike<number>, off: number): void {
  const { splitFeature, splitThreshold, splitBits, splitSelf, miss } = walk;
  miss[0] = 0;
  for (let n = s0, j = 1; n < s1; n++, j += 2) {
    const xv = x[off + splitFeature[n]!]!;
    const m = miss[splitSelf[n]!]!;
    const bits = splitBits[n]!;
    const bit = bits & ~MISSING_LEFT;
    // 1 when the row goes left (missing values follow the default direction); branch-free.
    const goLeft = +(xv <= splitThreshold[n]!) | (+Number.isNaN(xv) & (bits >>> 30));
    miss[j] = m | (bit & (goLeft - 1));
    miss[j + 1] = m | (bit & -goLeft);
  }
}

/** Adds tree t's contributions (by its contribution vectors) for the rows at x[offsets[r]..] to phi at r * stride. */
function addTreeByVectors(
  walk: TableWalk,
  t: number,
  x: ArrayLike<number>,
  offsets: ArrayLike<number>,
  count: number,
  phi: Float64Array,
  stride: number,
): void {
  const { leafSelf, leafSlotStart, leafSlotCount, slotFeature, leafTableAt, numbers, miss } = walk;
  const { splitFeature, splitThreshold, splitBits, splitSelf } = walk;
  const s0 = walk.splitStart[t]!;
  const s1 = walk.splitStart[t + 1]!;
  const l0 = walk.leafStart[t]!;
  const l1 = walk.leafStart[t + 1]!;
  for (let r = 0; r < count; r++) {
    // The split pass (markFailedSlots, written out: as a call it made the walk 1.5x slower).
    const off = offsets[r]!;
    miss[0] = 0;
    for (let n = s0, j = 1; n < s1; n++, j += 2) {
      const xv = x[off + splitFeature[n]!]!;
      const m = miss[splitSelf[n]!]!;
      const bits = splitBits[n]!;
      const bit = bits & ~MISSING_LEFT;
      const goLeft = +(xv <= splitThreshold[n]!) | (+Number.isNaN(xv) & (bits >>> 30));
      miss[j] = m | (bit & (goLeft - 1));
      miss[j + 1] = m | (bit & -goLeft);
    }
    const at = r * stride;
    for (let n = l0; n < l1; n++) {
      const first = leafSlotStart[n]!;
      const k = leafSlotCount[n]!;
      const h = ((1 << k) - 1) & ~miss[leafSelf[n]!]!;
      // The leaf's share for each of its slots given H, tabulated.
      const v = leafTableAt[n]! + h * k;
      for (let i = 0; i < k; i++) phi[at + slotFeature[first + i]!]! += numbers[v + i]!;
    }
  }
}

/**
 * Adds tree t's contributions (by its plain tables: each slot's ratio, then T)
 * for the rows at x[offsets[r]..] to phi at r * stride: satisfied slot ratio x
 * T(H without i), failed slot -T(H), selected by arithmetic. These are the
 * numbers the vectors would hold, to the sign of a zero, which a sum starting
 * at +0 never keeps: a row's values do not depend on which trees got vectors.
 */
function addTreeByTables(
  walk: TableWalk,
  t: number,
  x: ArrayLike<number>,
  offsets: ArrayLike<number>,
  count: number,
  phi: Float64Array,
  stride: number,
): void {
  const { leafSelf, leafSlotStart, leafSlotCount, slotFeature, leafTableAt, numbers, miss } = walk;
  const s0 = walk.splitStart[t]!;
  const s1 = walk.splitStart[t + 1]!;
  const l0 = walk.leafStart[t]!;
  const l1 = walk.leafStart[t + 1]!;
  for (let r = 0; r < count; r++) {
    markFailedSlots(walk, s0, s1, x, offsets[r]!);
    const at = r * stride;
    for (let n = l0; n < l1; n++) {
      const first = leafSlotStart[n]!;
      const k = leafSlotCount[n]!;
      const h = ((1 << k) - 1) & ~miss[leafSelf[n]!]!;
      const ratios = leafTableAt[n]!;
      const table = ratios + k;
      const cold = numbers[table + h]!;
      for (let i = 0; i < k; i++) {
        const sat = (h >> i) & 1;
        const warm = numbers[ratios + i]! * numbers[table + (h ^ (1 << i))]!;
        phi[at + slotFeature[first + i]!]! += sat * warm - (1 - sat) * cold;
      }
    }
  }
}

/** Per-leaf tables of the trees that get them, in flat typed arrays indexed by global node or leaf number. */
interface LeafTables {
  /** BY_VECTORS, BY_TABLES or BY_RECURSION (single-leaf trees: BY_RECURSION, with nothing to do). */
  treeKind: Uint8Array;
  /** Internal node: 1 << the slot of its feature among its path's unique features (the same for every leaf below). */
  nodeBit: Int32Array;
  /** Leaf node: where its unique path features (slots) start in slotFeature, and how many (K). */
  slotStart: Int32Array;
  slotCount: Uint8Array;
  /** Each slot's model feature index. */
  slotFeature: Int32Array;
  /**
   * Leaf node: where its table starts in `numbers`. In a BY_VECTORS tree,
   * its 2^K contribution vectors: the vector of mask H is the K
   * numbers at tableAt + H * K, slot i's share of the leaf when the row
   * satisfies the slots in H (values of the leaf included); in a BY_TABLES
   * tree, each slot's (1 - z) / z, then v T(M) for every mask M at tableAt + K + M.
   */
  tableAt: Int32Array;
  numbers: Float64Array;
}

/** All trees' nodes in one set of arrays (global indices), as createTreeShap lays them out. */
interface NodeArrays {
  feature: Int32Array;
  left: Int32Array;
  right: Int32Array;
  /** Share of the parent's cover that reaches each child. */
  leftShare: Float64Array;
  rightShare: Float64Array;
  value: Float64Array;
}

interface LeafPlan {
  node: number;
  features: number[];
  zeros: number[];
  value: number;
}

/**
 * The leaves of one tree with their paths' unique features (slots numbered by
 * first appearance from the root, so a feature's slot is the same for every
 * leaf below a node) and zero fractions; writes each internal node's slot bit.
 */
function leafPlans(root: number, nodes: NodeArrays, nodeBit: Int32Array): LeafPlan[] {
  const { feature, left, right, leftShare, rightShare, value } = nodes;
  const plans: LeafPlan[] = [];
  const walk = (node: number, features: number[], zeros: number[]) => {
    const f = feature[node]!;
    if (f === -1) {
      plans.push({ node, features, zeros, value: value[node]! });
      return;
    }
    let slot = features.indexOf(f);
    if (slot === -1) slot = features.length;
    nodeBit[node] = 1 << Math.min(slot, 30);
    const child = (share: number) => {
      const z = [...zeros];
      z[slot] = (slot < zeros.length ? zeros[slot]! : 1) * share;
      return z;
    };
    const next = slot < features.length ? features : [...features, f];
    walk(left[node]!, next, child(leftShare[node]!));
    walk(right[node]!, next, child(rightShare[node]!));
  };
  walk(root, [], []);
  return plans;
}

/**
 * v * T(M) for every mask M over a leaf's K path features (see the file header),
 * written at out[at .. at + 2^K). T(M) = Z(not M) * sum_k w(|M| - k) e_k(z over M),
 * with e_k the elementary symmetric polynomials, built mask by mask from the mask
 * without its lowest bit, so a table costs O(2^K K).
 */
function fillLeafTable(zeros: number[], v: number, out: Float64Array, at: number): void {
  const k = zeros.length;
  const size = 1 << k;
  const full = size - 1;
  // w[s] = s! (K-1-s)! / K! = 1 / (K * C(K-1, s)).
  const w = new Float64Array(k);
  let binom = 1;
  for (let s = 0; s < k; s++) {
    w[s] = 1 / (k * binom);
    binom = (binom * (k - 1 - s)) / (s + 1);
  }
  const product = new Float64Array(size);
  const poly = new Float64Array(size * (k + 1));
  const bits = new Uint8Array(size);
  product[0] = 1;
  poly[0] = 1;
  for (let m = 1; m < size; m++) {
    const rest = m & (m - 1);
    const b = 31 - Math.clz32(m & -m);
    const z = zeros[b]!;
    product[m] = product[rest]! * z;
    bits[m] = bits[rest]! + 1;
    const from = rest * (k + 1);
    const to = m * (k + 1);
    poly[to] = poly[from]!;
    for (let e = 1; e <= bits[m]!; e++) poly[to + e] = poly[from + e]! + z * poly[from + e - 1]!;
  }
  for (let m = 0; m < size; m++) {
    const n = bits[m]!;
    // T(full) is never read: a row satisfying every path feature uses only T(H without i).
    if (n === k) {
      out[at + m] = 0;
      continue;
    }
    let sum = 0;
    for (let e = 0; e <= n; e++) sum += w[n - e]! * poly[m * (k + 1) + e]!;
    out[at + m] = v * product[full ^ m]! * sum;
  }
}

/**
 * Slot i's share of a leaf for every mask H (K numbers per mask, at out[at +
 * H * K + i]): (1 - z_i) / z_i x v T(H without i) when H holds i, -v T(H)
 * when not (file header). The products are the ones the per-row formula
 * would compute, so the tabulated values are the same bits.
 */
function fillLeafVectors(zeros: number[], v: number, out: Float64Array, at: number): void {
  const k = zeros.length;
  const size = 1 << k;
  const t = new Float64Array(size);
  fillLeafTable(zeros, v, t, 0);
  const ratio = zeros.map((z) => (1 - z) / z);
  for (let h = 0; h < size; h++) {
    for (let i = 0; i < k; i++) out[at + h * k + i] = (h >> i) & 1 ? ratio[i]! * t[h ^ (1 << i)]! : -t[h]!;
  }
}

/** Builds leaf tables for every tree whose paths are short enough and whose splits all have covered children, within `maxEntries` numbers. */
function buildLeafTables(
  roots: Int32Array,
  nodes: NodeArrays,
  maxEntries: number,
  maxVectorEntries: number,
): LeafTables {
  const { feature } = nodes;
  const total = feature.length;
  const treeKind = new Uint8Array(roots.length);
  const nodeBit = new Int32Array(total);
  const chosen: Array<{ plans: LeafPlan[]; vectors: boolean }> = [];
  let entries = 0;
  let vectorEntries = 0;
  for (let t = 0; t < roots.length; t++) {
    const root = roots[t]!;
    if (feature[root] === -1 || maxEntries === 0) continue;
    const plans = leafPlans(root, nodes, nodeBit);
    let vectorSize = 0;
    let tableSize = 0;
    let usable = true;
    for (const plan of plans) {
      const k = Math.min(plan.features.length, MAX_TABLE_FEATURES);
      // A zero share (a child without cover) would divide by zero in (1 - z) / z.
      if (plan.features.length > MAX_TABLE_FEATURES || plan.zeros.some((z) => !(z > 0))) usable = false;
      vectorSize += k << k;
      tableSize += k + (1 << k);
    }
    if (!usable) continue;
    const vectors = vectorEntries + vectorSize <= maxVectorEntries && entries + vectorSize <= maxEntries;
    const size = vectors ? vectorSize : tableSize;
    if (entries + size > maxEntries) continue;
    entries += size;
    if (vectors) vectorEntries += size;
    treeKind[t] = vectors ? BY_VECTORS : BY_TABLES;
    chosen.push({ plans, vectors });
  }
  let slots = 0;
  for (const { plans } of chosen) for (const plan of plans) slots += plan.features.length;
  const out: LeafTables = {
    treeKind,
    nodeBit,
    slotStart: new Int32Array(total),
    slotCount: new Uint8Array(total),
    slotFeature: new Int32Array(slots),
    tableAt: new Int32Array(total),
    numbers: new Float64Array(entries),
  };
  let s = 0;
  let at = 0;
  for (const { plans, vectors } of chosen) {
    for (const plan of plans) {
      const k = plan.features.length;
      out.slotStart[plan.node] = s;
      out.slotCount[plan.node] = k;
      for (const f of plan.features) out.slotFeature[s++] = f;
      out.tableAt[plan.node] = at;
      if (vectors) {
        fillLeafVectors(plan.zeros, plan.value, out.numbers, at);
        at += k << k;
      } else {
        plan.zeros.forEach((z, i) => {
          out.numbers[at + i] = (1 - z) / z;
        });
        fillLeafTable(plan.zeros, plan.value, out.numbers, at + k);
        at += k + (1 << k);
      }
    }
  }
  return out;
}
