import { type MlpModel, mlpLogit } from "../../train/mlp.js";
import type { Attribution } from "./linear.js";

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

/** Pre-activations of layer `upTo` at input x (float64). */
function preActivations(model: MlpModel, x: Float64Array, upTo: number): Float64Array {
  let input = x;
  for (let l = 0; l <= upTo; l++) {
    const layer = model.layers[l];
    const out = Float64Array.from(layer.bias);
    for (let i = 0; i < layer.inputs; i++) {
      const v = input[i];
      if (v === 0) continue;
      const row = i * layer.outputs;
      for (let o = 0; o < layer.outputs; o++) out[o] += v * layer.weights[row + o];
    }
    if (l === upTo) return out;
    for (let o = 0; o < out.length; o++) if (out[o] < 0) out[o] = 0;
    input = out;
  }
  return input;
}

/** Gradient of the log-odds with respect to the input at x (ReLU derivative 0 at 0). */
function inputGradient(model: MlpModel, x: Float64Array): Float64Array {
  const L = model.layers.length;
  const masks: Uint8Array[] = [];
  // forward pass keeping the ReLU masks
  let input = x;
  for (let l = 0; l < L - 1; l++) {
    const layer = model.layers[l];
    const out = Float64Array.from(layer.bias);
    for (let i = 0; i < layer.inputs; i++) {
      const v = input[i];
      if (v === 0) continue;
      const row = i * layer.outputs;
      for (let o = 0; o < layer.outputs; o++) out[o] += v * layer.weights[row + o];
    }
    const mask = new Uint8Array(out.length);
    for (let o = 0; o < out.length; o++) {
      if (out[o] > 0) mask[o] = 1;
      else out[o] = 0;
    }
    masks.push(mask);
    input = out;
  }
  // backward: d logit / d activations, from the single output down to the input
  let grad = Float64Array.from(
    { length: model.layers[L - 1].inputs },
    (_, i) => model.layers[L - 1].weights[i],
  );
  for (let l = L - 2; l >= 0; l--) {
    const layer = model.layers[l];
    const mask = masks[l];
    const next = new Float64Array(layer.inputs);
    for (let i = 0; i < layer.inputs; i++) {
      const row = i * layer.outputs;
      let s = 0;
      for (let o = 0; o < layer.outputs; o++) if (mask[o]) s += layer.weights[row + o] * grad[o];
      next[i] = s;
    }
    grad = next;
  }
  return grad;
}

function pointOnPath(
  base: ArrayLike<number>,
  x: ArrayLike<number>,
  offset: number,
  alpha: number,
): Float64Array {
  const p = new Float64Array(base.length);
  for (let j = 0; j < p.length; j++) p[j] = base[j] + alpha * (x[offset + j] - base[j]);
  return p;
}

/** The path positions in [0, 1] where some hidden unit switches on or off, with 0 and 1. */
export function pathBreakpoints(model: MlpModel, x: ArrayLike<number>, offset = 0): number[] {
  let breaks = [0, 1];
  for (let l = 0; l < model.layers.length - 1; l++) {
    const next = new Set<number>(breaks);
    for (let s = 0; s + 1 < breaks.length; s++) {
      const a = breaks[s];
      const c = breaks[s + 1];
      const za = preActivations(model, pointOnPath(model.baseline, x, offset, a), l);
      const zc = preActivations(model, pointOnPath(model.baseline, x, offset, c), l);
      for (let u = 0; u < za.length; u++) {
        if ((za[u] < 0 && zc[u] > 0) || (za[u] > 0 && zc[u] < 0)) {
          const t = a + ((c - a) * za[u]) / (za[u] - zc[u]);
          if (t > a && t < c) next.add(t);
        }
      }
    }
    breaks = [...next].sort((p, q) => p - q);
  }
  return breaks;
}

/** Log-odds of the baseline row. */
export function mlpBase(model: MlpModel): number {
  return mlpLogit(model, model.baseline);
}

/** Exact integrated-gradients contributions of one row (starting at x[offset]) to its log-odds. */
export function explainMlp(model: MlpModel, x: ArrayLike<number>, offset = 0): Attribution {
  const d = model.features.length;
  const breaks = pathBreakpoints(model, x, offset);
  const avgGrad = new Float64Array(d);
  for (let s = 0; s + 1 < breaks.length; s++) {
    const a = breaks[s];
    const c = breaks[s + 1];
    const g = inputGradient(model, pointOnPath(model.baseline, x, offset, (a + c) / 2));
    for (let j = 0; j < d; j++) avgGrad[j] += (c - a) * g[j];
  }
  const contributions = new Float64Array(d);
  for (let j = 0; j < d; j++) contributions[j] = (x[offset + j] - model.baseline[j]) * avgGrad[j];
  return { base: mlpBase(model), contributions };
}
