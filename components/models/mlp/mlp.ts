import { z } from "zod";
import { stratifiedSplit, take, takeRows } from "../../common/data/cv.js";
import { parseStoredValue } from "../../common/documents/parse.js";
import { Rng } from "../../common/random.js";
import { quantileSorted } from "../features/fit.js";
import { classWeights, sigmoid } from "../logistic/logistic.js";

/**
 * A small multilayer perceptron (ReLU hidden layers, one logit output).
 * Training runs in TensorFlow.js on the pure-JavaScript CPU backend, with our
 * own seeded initialisation and shuffles (tfjs's own shuffling and
 * initialisers use Math.random), class weights, L2 and early stopping on
 * validation log loss. The fitted weights are exported as plain arrays, and
 * inference (`mlpLogit`) is float64 JavaScript over those arrays, so scores do
 * not depend on tfjs, its backend or float32 kernels (DESIGN identity rule).
 * tfjs is imported lazily: scoring never loads it.
 */

export interface MlpLayer {
  inputs: number;
  outputs: number;
  /** Row-major inputs × outputs. */
  weights: number[];
  bias: number[];
}

export interface MlpModel {
  family: "mlp";
  features: string[];
  /** Hidden layers use ReLU; the last layer has one output, the log-odds. */
  layers: MlpLayer[];
  /** Training median of each feature: the reference point of the attributions. */
  baseline: number[];
  training: { epochs: number; bestEpoch: number; validLogLoss: number; seed: number };
}

export interface MlpOptions {
  seed: number;
  /** Hidden layer widths (default [32, 16]). */
  hidden?: number[];
  maxEpochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 penalty on the weights (not biases), per training row. */
  l2?: number;
  /** Epochs without a better validation loss before stopping (default 15). */
  patience?: number;
  classWeight?: "balanced" | "none";
  /** Validation rows for early stopping; without them a stratified share of the training rows is held out. */
  valid?: { x: Float64Array; y: ArrayLike<number> };
  validShare?: number;
}

// One scratch buffer per layer and model: inference allocates nothing per row.
// Safe because a call runs to completion before any other can start.
const scratch = new WeakMap<MlpModel, Float64Array[]>();

/** Log-odds of one row (x[offset..offset+d)) in float64. */
export function mlpLogit(model: MlpModel, x: ArrayLike<number>, offset = 0): number {
  let buffers = scratch.get(model);
  if (!buffers) {
    buffers = model.layers.map((layer) => new Float64Array(layer.outputs));
    scratch.set(model, buffers);
  }
  let input: ArrayLike<number> = x;
  let base = offset;
  const last = model.layers.length - 1;
  for (let l = 0; l <= last; l++) {
    const layer = model.layers[l];
    const out = buffers[l];
    const w = layer.weights;
    const outputs = layer.outputs;
    for (let o = 0; o < outputs; o++) out[o] = layer.bias[o];
    for (let i = 0; i < layer.inputs; i++) {
      const v = input[base + i];
      if (v === 0) continue;
      const row = i * outputs;
      for (let o = 0; o < outputs; o++) out[o] += v * w[row + o];
    }
    if (l < last) for (let o = 0; o < outputs; o++) if (out[o] < 0) out[o] = 0;
    input = out;
    base = 0;
  }
  return input[0];
}

/** Probabilities for every row of a row-major matrix. */
export function predictMlp(model: MlpModel, x: Float64Array): Float64Array {
  const d = model.features.length;
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sigmoid(mlpLogit(model, x, i * d));
  return out;
}

function weightedLogLoss(model: MlpModel, x: Float64Array, y: ArrayLike<number>, w: Float64Array): number {
  const d = model.features.length;
  let loss = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const z = mlpLogit(model, x, i * d);
    // softplus(z) - y·z, stable for large |z|
    loss += w[i] * (Math.max(z, 0) - z * y[i] + Math.log1p(Math.exp(-Math.abs(z))));
    total += w[i];
  }
  return loss / total;
}

function columnMedians(x: Float64Array, n: number, d: number): number[] {
  const col = new Float64Array(n);
  const out: number[] = [];
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) col[i] = x[i * d + j];
    col.sort();
    out.push(n === 0 ? 0 : quantileSorted(col, 0.5));
  }
  return out;
}

type Tf = typeof import("@tensorflow/tfjs");
type Tensor2D = import("@tensorflow/tfjs").Tensor2D;
type Scalar = import("@tensorflow/tfjs").Scalar;
let tfReady: Promise<Tf> | null = null;

/** Loads tfjs once, on the CPU backend, with its Node.js banner silenced. */
function loadTf(): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = await import("@tensorflow/tfjs");
    // PROD mode drops debug checks and the "install tfjs-node" banner, which
    // would otherwise land in our structured logs.
    tf.env().set("PROD", true);
    await tf.setBackend("cpu");
    await tf.ready();
    return tf;
  })();
  return tfReady;
}

/** Trains the MLP on a row-major matrix x (n × d) with 0/1 labels y. */
export async function trainMlp(
  x: Float64Array,
  y: ArrayLike<number>,
  features: string[],
  options: MlpOptions,
): Promise<MlpModel> {
  const tf = await loadTf();
  const d = features.length;
  const hidden = options.hidden ?? [32, 16];
  const maxEpochs = options.maxEpochs ?? 200;
  const batchSize = options.batchSize ?? 512;
  const learningRate = options.learningRate ?? 0.005;
  const l2 = options.l2 ?? 1e-4;
  const patience = options.patience ?? 15;
  const classWeight = options.classWeight ?? "balanced";
  const rng = new Rng(options.seed);

  let trainX: Float64Array;
  let trainY: Uint8Array;
  let validX: Float64Array;
  let validY: ArrayLike<number>;
  const yAll = Uint8Array.from(y as ArrayLike<number>);
  if (options.valid) {
    trainX = x;
    trainY = yAll;
    validX = options.valid.x;
    validY = options.valid.y;
  } else {
    const split = stratifiedSplit(yAll, options.validShare ?? 0.15, rng.nextUint32());
    trainX = takeRows(x, d, split.train);
    trainY = take(yAll, split.train);
    validX = takeRows(x, d, split.valid);
    validY = take(yAll, split.valid);
  }
  const n = trainY.length;
  const wTrain = classWeights(trainY, classWeight);
  const wValid = classWeights(validY, classWeight);

  // Seeded He-uniform initialisation for ReLU layers, Glorot for the output.
  const sizes = [d, ...hidden, 1];
  const model: MlpModel = {
    family: "mlp",
    features: [...features],
    layers: [],
    baseline: columnMedians(x, y.length, d),
    training: { epochs: 0, bestEpoch: 0, validLogLoss: Number.NaN, seed: options.seed },
  };
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l];
    const fanOut = sizes[l + 1];
    const last = l + 2 === sizes.length;
    const limit = last ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
    const weights = Array.from({ length: fanIn * fanOut }, () =>
      Math.fround((2 * rng.nextFloat() - 1) * limit),
    );
    model.layers.push({ inputs: fanIn, outputs: fanOut, weights, bias: new Array(fanOut).fill(0) });
  }

  const vars = model.layers.map((layer) => ({
    w: tf.variable(tf.tensor2d(layer.weights, [layer.inputs, layer.outputs])),
    b: tf.variable(tf.tensor1d(layer.bias)),
  }));
  // Explicit list: minimize() would otherwise train every variable registered in the process.
  const varList = vars.flatMap((v) => [v.w, v.b]);
  const optimizer = tf.train.adam(learningRate);
  const exportWeights = () => {
    for (let l = 0; l < vars.length; l++) {
      model.layers[l].weights = Array.from(vars[l].w.dataSync());
      model.layers[l].bias = Array.from(vars[l].b.dataSync());
    }
  };

  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const xf = new Float32Array(batchSize * d);
  const yf = new Float32Array(batchSize);
  const wf = new Float32Array(batchSize);
  let best = Number.POSITIVE_INFINITY;
  let bestLayers = structuredClone(model.layers);
  let bestEpoch = 0;
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= maxEpochs; epoch++) {
      rng.shuffle(order);
      for (let start = 0; start < n; start += batchSize) {
        const m = Math.min(batchSize, n - start);
        let wSum = 0;
        for (let k = 0; k < m; k++) {
          const i = order[start + k];
          for (let j = 0; j < d; j++) xf[k * d + j] = trainX[i * d + j];
          yf[k] = trainY[i];
          wf[k] = wTrain[i];
          wSum += wTrain[i];
        }
        tf.tidy(() => {
          const xb = tf.tensor2d(xf.subarray(0, m * d), [m, d]);
          const yb = tf.tensor2d(yf.subarray(0, m), [m, 1]);
          const wb = tf.tensor2d(wf.subarray(0, m), [m, 1]);
          optimizer.minimize(
            () => {
              let h: Tensor2D = xb;
              for (let l = 0; l < vars.length; l++) {
                h = tf.add(tf.matMul(h, vars[l].w), vars[l].b) as Tensor2D;
                if (l < vars.length - 1) h = tf.relu(h);
              }
              // weighted sigmoid cross-entropy on logits: max(z,0) - z·y + log(1 + e^-|z|)
              const ce = tf.add(tf.sub(tf.relu(h), tf.mul(h, yb)), tf.log1p(tf.exp(tf.neg(tf.abs(h)))));
              let loss = tf.div(tf.sum(tf.mul(ce, wb)), wSum);
              let penalty = tf.scalar(0);
              for (const v of vars) penalty = tf.add(penalty, tf.sum(tf.square(v.w)));
              loss = tf.add(loss, tf.mul(penalty, l2));
              return loss as Scalar;
            },
            false,
            varList,
          );
        });
      }
      exportWeights();
      const validLoss = weightedLogLoss(model, validX, validY, wValid);
      if (validLoss < best - 1e-7) {
        best = validLoss;
        bestEpoch = epoch;
        bestLayers = structuredClone(model.layers);
      } else if (epoch - bestEpoch >= patience) break;
    }
  } finally {
    optimizer.dispose();
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
  }
  if (!Number.isFinite(best)) {
    // Only NaN/Infinity losses (e.g. non-finite inputs): no usable epoch to keep.
    throw new Error(`MLP training produced no finite validation loss in ${maxEpochs} epochs`);
  }
  model.layers = bestLayers;
  model.training = { epochs: Math.min(epoch, maxEpochs), bestEpoch, validLogLoss: best, seed: options.seed };
  return model;
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const layerSchema = z
  .strictObject({
    inputs: z.int().min(1),
    outputs: z.int().min(1),
    weights: z.array(finite),
    bias: z.array(finite),
  })
  .superRefine((l, ctx) => {
    if (l.weights.length !== l.inputs * l.outputs) {
      ctx.addIssue({
        code: "custom",
        path: ["weights"],
        message: `must have inputs × outputs = ${l.inputs * l.outputs} entries`,
      });
    }
    if (l.bias.length !== l.outputs) {
      ctx.addIssue({ code: "custom", path: ["bias"], message: `must have ${l.outputs} entries` });
    }
  });

/** Strict schema of a stored MLP: layer shapes must chain from the features to one output. */
export const mlpModelSchema = z
  .strictObject({
    family: z.literal("mlp"),
    features: z.array(z.string()),
    layers: z.array(layerSchema).min(1),
    baseline: z.array(finite),
    training: z.strictObject({
      epochs: z.int(),
      bestEpoch: z.int(),
      validLogLoss: z.number(),
      seed: z.number(),
    }),
  })
  .superRefine((m, ctx) => {
    let width = m.features.length;
    m.layers.forEach((l, i) => {
      if (l.inputs !== width) {
        ctx.addIssue({
          code: "custom",
          path: ["layers", i, "inputs"],
          message: `must be ${width}, the previous width`,
        });
      }
      width = l.outputs;
    });
    if (width !== 1)
      ctx.addIssue({ code: "custom", path: ["layers"], message: "the last layer must have one output" });
    if (m.baseline.length !== m.features.length) {
      ctx.addIssue({ code: "custom", path: ["baseline"], message: "must have one entry per feature" });
    }
  });

/** Validates a stored MLP (e.g. from a bundle); errors name the field. */
export function parseMlpModel(value: unknown, where = "model"): MlpModel {
  return parseStoredValue(mlpModelSchema, value, where, "MLP") as MlpModel;
}
