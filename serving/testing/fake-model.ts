import { hashJson } from "../../components/common/hash.js";
import type { DatasetSchema } from "../../components/common/schema/types.js";
import type {
  Explanation,
  FeatureRow,
  InferenceModel,
  ScoredRow,
  ScoreOptions,
} from "../../components/models/inference.js";
import { formatContribution, REASON_CODE_SEPARATOR } from "../../components/models/reasons.js";
import type { ModelName, ModelOf, ModelSource } from "../core.js";

/**
 * A small deterministic stand-in for the real inference core, for protocol
 * tests and benchmarks until components/score/predictor.ts exists: a
 * logistic model over every feature column with weights derived from the
 * schema and a seed. Its numbers mean nothing; they only have to be a pure
 * function of the row, so tests can compare server answers with direct calls.
 */
export interface FakeModelOptions {
  /** Different seeds give different weights and a different version. */
  seed?: number;
  reasons?: number;
}

function weight(index: number, seed: number): number {
  // A cheap deterministic spread in [-1, 1].
  const x = Math.sin((index + 1) * 12.9898 + seed * 78.233) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

/** Build a fake churn model for a schema. */
export function fakeModel(schema: DatasetSchema, options: FakeModelOptions = {}): InferenceModel {
  const seed = options.seed ?? 1;
  const maxReasons = options.reasons ?? 3;
  const features = schema.columns.filter((c) => c.role === "feature");
  const weights = features.map((_, i) => weight(i, seed));
  const bias = weight(features.length, seed) * 0.5;
  const version = hashJson({ kind: "fake", schema, seed }).slice(0, 16);

  const contributions = (row: FeatureRow): number[] =>
    features.map((column, i) => {
      const v = row[column.name];
      if (v === null || v === undefined) return 0;
      if (typeof v === "boolean") return weights[i]! * (v ? 0.5 : -0.5);
      if (typeof v === "number") return (weights[i]! * Math.sign(v) * Math.log1p(Math.abs(v))) / 4;
      const k = column.categories?.indexOf(v) ?? -1;
      const n = column.categories?.length ?? 1;
      return k < 0 ? 0 : weights[i]! * ((k + 0.5) / n - 0.5);
    });

  return {
    name: "churn",
    version,
    schema,
    score(rows: FeatureRow[], request?: ScoreOptions): ScoredRow[] {
      const k = request?.reasons ?? maxReasons;
      return rows.map((row) => {
        const c = contributions(row);
        let z = bias;
        for (const x of c) z += x;
        const probability = 1 / (1 + Math.exp(-z));
        const tier = probability >= 0.7 ? "high" : probability >= 0.4 ? "medium" : "low";
        const reasons: string[] = [];
        const codes: string[] = [];
        if (tier !== "low") {
          const order = c.map((x, i) => [x, i] as const).filter(([x]) => x > 0);
          order.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
          for (const [x, i] of order.slice(0, k)) {
            const column = features[i]!;
            reasons.push(`${column.name}: ${row[column.name]}`);
            codes.push(`${column.name}:${formatContribution(x)}`);
          }
        }
        return { probability, tier, reasons, reasonCodes: codes.join(REASON_CODE_SEPARATOR) };
      });
    },
    explain(rows: FeatureRow[]): Explanation[] {
      return rows.map((row) => {
        const c = contributions(row);
        const out: Record<string, number> = {};
        features.forEach((column, i) => {
          out[column.name] = c[i]!;
        });
        return { base: bias, contributions: out };
      });
    },
  };
}

/** A ModelSource over a changeable model, with an optional load delay, for reload tests. */
export class FakeModelSource<N extends ModelName> implements ModelSource<N> {
  private listeners = new Set<() => void>();
  loads = 0;
  constructor(
    readonly name: N,
    public next: () => ModelOf<N> | null,
    public delayMs = 0,
  ) {}

  /** Load the current model, after the configured delay. */
  async load(): Promise<ModelOf<N> | null> {
    this.loads++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return this.next();
  }

  /** Register a change listener. */
  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** Switch to another model and signal watchers, as a champion pointer change would. */
  change(next: () => ModelOf<N> | null): void {
    this.next = next;
    for (const listener of this.listeners) listener();
  }
}

/** A churn source over fake models. */
export class FakeSource extends FakeModelSource<"churn"> {
  constructor(next: () => InferenceModel, delayMs = 0) {
    super("churn", next, delayMs);
  }
}
