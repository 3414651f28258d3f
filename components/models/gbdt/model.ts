/**
 * The serialisable GBDT model and the reference (plain walk) inference.
 *
 * A tree is stored as parallel arrays indexed by node id, root = 0. An internal
 * node sends a row left when `x[feature] <= threshold`, and a missing value (NaN)
 * to the side its `defaultLeft` flag names. A leaf has feature -1 and holds its
 * output (already multiplied by the learning rate) in `value`. Thresholds are
 * raw feature values, so inference needs no binning, and JSON round-trips
 * every double exactly. Raw margin = baseScore + tree outputs summed in tree
 * order; the fixed order is what makes scores byte-identical across batchings.
 */
import { z } from "zod";

/** One regression tree as parallel node arrays. */
export const GbdtTreeSchema = z
  .strictObject({
    feature: z.array(z.number().int().min(-1)),
    threshold: z.array(z.number()),
    defaultLeft: z.array(z.union([z.literal(0), z.literal(1)])),
    left: z.array(z.number().int().min(-1)),
    right: z.array(z.number().int().min(-1)),
    /** Leaf output for leaves; for internal nodes the value the node would have had as a leaf. */
    value: z.array(z.number()),
    /** Sum of training sample weights reaching the node (TreeSHAP's cover). */
    cover: z.array(z.number().nonnegative()),
    /** Loss reduction of the split (0 for leaves), for gain importance. */
    gain: z.array(z.number()),
  })
  .superRefine((t, ctx) => {
    const n = t.feature.length;
    for (const key of ["threshold", "defaultLeft", "left", "right", "value", "cover", "gain"] as const) {
      if (t[key].length !== n) {
        ctx.addIssue({ code: "custom", message: `tree.${key} has ${t[key].length} entries, expected ${n}` });
      }
    }
    if (n === 0) ctx.addIssue({ code: "custom", message: "tree has no nodes" });
    for (let i = 0; i < n; i++) {
      if (t.feature[i] === -1) continue;
      // Children must come after their parent: this forbids cycles and keeps walks finite.
      if (!(t.left[i] > i && t.left[i] < n && t.right[i] > i && t.right[i] < n)) {
        ctx.addIssue({ code: "custom", message: `tree node ${i} has invalid children` });
        return;
      }
    }
  });

/** A GBDT tree. */
export type GbdtTree = z.infer<typeof GbdtTreeSchema>;

/** The whole model as stored in a bundle. */
export const GbdtModelSchema = z
  .strictObject({
    kind: z.literal("gbdt"),
    formatVersion: z.literal(1),
    numFeatures: z.number().int().positive(),
    featureNames: z.array(z.string()),
    /** Initial log-odds added to every margin. */
    baseScore: z.number(),
    trees: z.array(GbdtTreeSchema),
    /** Training parameters and early-stopping outcome, for the record. */
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  })
  .superRefine((m, ctx) => {
    if (m.featureNames.length !== m.numFeatures) {
      ctx.addIssue({
        code: "custom",
        message: `featureNames has ${m.featureNames.length} names for ${m.numFeatures} features`,
      });
    }
    m.trees.forEach((t, ti) => {
      for (const f of t.feature) {
        if (f >= m.numFeatures) {
          ctx.addIssue({ code: "custom", message: `tree ${ti} splits on feature ${f} >= numFeatures` });
          return;
        }
      }
    });
  });

/** A GBDT model. */
export type GbdtModel = z.infer<typeof GbdtModelSchema>;

/** Validates a parsed JSON document as a GBDT model (throws a ZodError naming the field). */
export function parseGbdtModel(json: unknown): GbdtModel {
  return GbdtModelSchema.parse(json);
}

/** Logistic function, written so that large negative margins do not overflow. */
export function sigmoid(margin: number): number {
  if (margin >= 0) return 1 / (1 + Math.exp(-margin));
  const e = Math.exp(margin);
  return e / (1 + e);
}

/** Output of one tree for row `row` of a row-major matrix with `d` columns (reference walk). */
export function treeOutput(tree: GbdtTree, x: ArrayLike<number>, offset: number): number {
  let node = 0;
  while (tree.feature[node] !== -1) {
    const v = x[offset + tree.feature[node]];
    const goLeft = v <= tree.threshold[node] || (Number.isNaN(v) && tree.defaultLeft[node] === 1);
    node = goLeft ? tree.left[node] : tree.right[node];
  }
  return tree.value[node];
}

/**
 * Raw margins by walking the JSON trees directly: the reference every faster
 * evaluator must match bit for bit.
 */
export function predictMarginPlain(
  model: GbdtModel,
  x: ArrayLike<number>,
  rows: number,
  out = new Float64Array(rows),
): Float64Array {
  const d = model.numFeatures;
  for (let r = 0; r < rows; r++) {
    let m = model.baseScore;
    for (const tree of model.trees) m += treeOutput(tree, x, r * d);
    out[r] = m;
  }
  return out;
}
