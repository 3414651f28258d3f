import type { Attribution } from "../logistic/explain.js";
import { type MlpModel, mlpLogit } from "./mlp.js";

/**
 * Integrated gradients for the MLP, computed exactly rather than by a Riemann
 * sum. The attributed quantity is the log-odds (as for the linear model and
 * TreeSHAP), and the reference point is the training-median row.
 *
 * Why exact: with ReLU hidden layers the log-odds is piecewise linear, so
 * along the straight path from the baseline to x its gradient is constant
 * between the points where some hidden unit changes sign. We find those
 * points layer by layer (within a piece where earlier layers do not switch, a
 * unit's pre-activation is linear in the path position, so its zero crossing
 * is one division), and sum piece length × gradient. The result satisfies
 * completeness — contributions add up to logit(x) − logit(baseline) — up to
 * float rounding, which a sampled approximation only reaches with many steps;
 * and it is deterministic, which sampled Shapley values are not without
 * carrying a seed into scoring.
 */

/** Dense layer: bias + input · weights (row-major inputs × outputs), optionally rectified. */
function dense(
  layer: MlpModel["layers"][number],
  input: ArrayLike<number>,
  offset: number,
  relu: boolean,
): Float64Array {
  const out = Float64Array.from(layer.bias);
  for (let i = 0; i < layer.inputs; i++) {
    const v = input[offset + i];
    if (v === 0) continue;
    const row = i * layer.outputs;
    for (let o = 0; o < layer.outputs; o++) out[o] += v * layer.weights[row + o];
  }
  if (relu) for (let o = 0; o < out.length; o++) if (out[o] < 0) out[o] = 0;
  return out;
}

// The first layer's pre-activations at the baseline are fixed per model.
const baselineCache = new WeakMap<MlpModel, Float64Array>();
function firstLayerAtBaseline(model: MlpModel): Float64Array {
  let z = baselineCache.get(model);
  if (!z) {
    z = dense(model.layers[0], model.baseline, 0, false);
    baselineCache.set(model, z);
  }
  return z;
}

/**
 * The path from the baseline to x, seen from the first hidden layer: its
 * pre-activations are z0 + α·dz for α in [0, 1] (the first layer is affine),
 * so everything below works on those h₀ numbers instead of the d inputs.
 */
interface Path {
  z0: Float64Array;
  dz: Float64Array;
}

function firstHidden(path: Path, alpha: number): Float64Array {
  const a = new Float64Array(path.z0.length);
  for (let u = 0; u < a.length; u++) {
    const z = path.z0[u] + alpha * path.dz[u];
    a[u] = Math.max(z, 0);
  }
  return a;
}

/** Pre-activations of hidden layer l (>= 1) at path position alpha. */
function preActivationAt(model: MlpModel, path: Path, alpha: number, l: number): Float64Array {
  let a = firstHidden(path, alpha);
  for (let k = 1; k < l; k++) a = dense(model.layers[k], a, 0, true);
  return dense(model.layers[l], a, 0, false);
}

function crossings(za: Float64Array, zc: Float64Array, a: number, c: number, into: Set<number>): void {
  for (let u = 0; u < za.length; u++) {
    if ((za[u] < 0 && zc[u] > 0) || (za[u] > 0 && zc[u] < 0)) {
      const t = a + ((c - a) * za[u]) / (za[u] - zc[u]);
      if (t > a && t < c) into.add(t);
    }
  }
}

function pathOf(model: MlpModel, x: ArrayLike<number>, offset: number): Path {
  const z0 = firstLayerAtBaseline(model);
  const z1 = dense(model.layers[0], x, offset, false);
  const dz = new Float64Array(z0.length);
  for (let u = 0; u < dz.length; u++) dz[u] = z1[u] - z0[u];
  return { z0, dz };
}

function breakpointsOf(model: MlpModel, path: Path): number[] {
  const hiddenLayers = model.layers.length - 1;
  if (hiddenLayers === 0) return [0, 1];
  const first = new Set<number>([0, 1]);
  crossings(
    path.z0,
    Float64Array.from(path.z0, (z, u) => z + path.dz[u]),
    0,
    1,
    first,
  );
  let breaks = [...first].sort((p, q) => p - q);
  // Between consecutive breakpoints earlier layers do not switch, so layer l's
  // pre-activations are affine in alpha there: one division finds each zero.
  for (let l = 1; l < hiddenLayers; l++) {
    const next = new Set<number>(breaks);
    let za = preActivationAt(model, path, breaks[0], l);
    for (let s = 0; s + 1 < breaks.length; s++) {
      const zc = preActivationAt(model, path, breaks[s + 1], l);
      crossings(za, zc, breaks[s], breaks[s + 1], next);
      za = zc;
    }
    breaks = [...next].sort((p, q) => p - q);
  }
  return breaks;
}

/** The path positions in [0, 1] where some hidden unit switches on or off, with 0 and 1. */
export function pathBreakpoints(model: MlpModel, x: ArrayLike<number>, offset = 0): number[] {
  return breakpointsOf(model, pathOf(model, x, offset));
}

/**
 * Gradient of the log-odds with respect to the first layer's pre-activations
 * at path position alpha (ReLU derivative 0 at 0), added into acc with weight.
 */
function addFirstLayerGradient(
  model: MlpModel,
  path: Path,
  alpha: number,
  weight: number,
  acc: Float64Array,
): void {
  const L = model.layers.length;
  const acts: Float64Array[] = [firstHidden(path, alpha)];
  for (let l = 1; l < L - 1; l++) acts.push(dense(model.layers[l], acts[l - 1], 0, true));
  // d logit / d output of hidden layer L-2 is the last layer's weight column
  let grad = Float64Array.from(model.layers[L - 1].weights);
  for (let l = L - 2; l >= 1; l--) {
    const layer = model.layers[l];
    const out = acts[l];
    const next = new Float64Array(layer.inputs);
    for (let i = 0; i < layer.inputs; i++) {
      const row = i * layer.outputs;
      let s = 0;
      for (let o = 0; o < layer.outputs; o++) if (out[o] > 0) s += layer.weights[row + o] * grad[o];
      next[i] = s;
    }
    grad = next;
  }
  const first = acts[0];
  for (let u = 0; u < acc.length; u++) if (first[u] > 0) acc[u] += weight * grad[u];
}

/** Log-odds of the baseline row. */
export function mlpBase(model: MlpModel): number {
  return mlpLogit(model, model.baseline);
}

/** Exact integrated-gradients contributions of one row (starting at x[offset]) to its log-odds. */
export function explainMlp(model: MlpModel, x: ArrayLike<number>, offset = 0): Attribution {
  const d = model.features.length;
  const contributions = new Float64Array(d);
  const first = model.layers[0];
  if (model.layers.length === 1) {
    // no hidden layer: a linear model, contributions are exact products
    for (let j = 0; j < d; j++) contributions[j] = first.weights[j] * (x[offset + j] - model.baseline[j]);
    return { base: mlpBase(model), contributions };
  }
  const path = pathOf(model, x, offset);
  const breaks = breakpointsOf(model, path);
  // Path-averaged gradient in first-layer space; mapped to inputs once at the end.
  const acc = new Float64Array(first.outputs);
  for (let s = 0; s + 1 < breaks.length; s++) {
    addFirstLayerGradient(model, path, (breaks[s] + breaks[s + 1]) / 2, breaks[s + 1] - breaks[s], acc);
  }
  for (let j = 0; j < d; j++) {
    const row = j * first.outputs;
    let g = 0;
    for (let u = 0; u < first.outputs; u++) g += first.weights[row + u] * acc[u];
    contributions[j] = (x[offset + j] - model.baseline[j]) * g;
  }
  return { base: mlpBase(model), contributions };
}
