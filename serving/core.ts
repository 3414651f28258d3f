import { NotFoundError, TransientError } from "../components/common/errors.js";
import type { Explanation, InferenceModel, RawRow, ScoredRow } from "../components/models/inference.js";
import { type NormalizeLimits, normalizeRows } from "./rows.js";

/**
 * The one inference core of the model server. It knows nothing of HTTP or of
 * any protocol: adapters decode a request into rows, call `score`/`explain`
 * here, and encode the answer. Models are held by name and swapped atomically
 * (a request keeps the model it started with), so hot reload never fails one.
 */

/** Where a model comes from, e.g. the champion pointer of a bucket. */
export interface ModelSource {
  /** Load the current model completely (a failed load must not affect the served one). */
  load(): Promise<InferenceModel>;
  /** Call `onChange` when a different model should be loaded; returns a function that stops watching. */
  watch?(onChange: () => void): () => void;
}

/** Names a model is served under (DESIGN: `churn`, and `lifetime` later). */
export const MODEL_NAMES = ["churn"] as const;

export interface ScoreResult {
  model: InferenceModel;
  scored: ScoredRow[];
}

export interface ExplainResult {
  model: InferenceModel;
  explanations: Explanation[];
  /** Feature column names in schema order (the order explain outputs use). */
  features: string[];
}

/** Limits the core enforces on every request, whatever the protocol. */
export type CoreLimits = NormalizeLimits;

export const DEFAULT_CORE_LIMITS: CoreLimits = { maxRows: 10_000, maxProblems: 10 };

/** The model registry plus the validate-then-score path every adapter shares. */
export class InferenceCore {
  private readonly models = new Map<string, InferenceModel>();
  private readonly features = new WeakMap<InferenceModel, string[]>();

  constructor(
    readonly limits: CoreLimits = DEFAULT_CORE_LIMITS,
    private readonly onScored: (model: InferenceModel, rows: number) => void = () => {},
  ) {}

  /** Put a fully loaded model in service; requests already running keep the previous one. */
  install(model: InferenceModel): InferenceModel | undefined {
    const previous = this.models.get(model.name);
    this.models.set(model.name, model);
    return previous;
  }

  /** Names of the models currently loaded. */
  loaded(): InferenceModel[] {
    return [...this.models.values()];
  }

  /** True when the named model is loaded (or, without a name, when every expected model is). */
  ready(name?: string): boolean {
    if (name !== undefined) return this.models.has(name);
    return MODEL_NAMES.every((n) => this.models.has(n));
  }

  /**
   * The model to use for a request: 404 for a name or version we do not serve,
   * 503 while a known model is still loading (a retry will succeed).
   */
  model(name: string, version?: string): InferenceModel {
    const model = this.models.get(name);
    if (!model) {
      if ((MODEL_NAMES as readonly string[]).includes(name)) {
        throw new TransientError(`model ${name} is not loaded yet: retry shortly`);
      }
      throw new NotFoundError(`unknown model "${name}": this server serves ${MODEL_NAMES.join(", ")}`);
    }
    if (version !== undefined && version !== model.version) {
      throw new NotFoundError(`model ${name} version ${version} is not served (serving ${model.version})`);
    }
    return model;
  }

  /** Feature column names of a model, in schema order. */
  featureNames(model: InferenceModel): string[] {
    let names = this.features.get(model);
    if (!names) {
      names = model.schema.columns.filter((c) => c.role === "feature").map((c) => c.name);
      this.features.set(model, names);
    }
    return names;
  }

  /** Validate raw rows against the model's schema and score them. */
  score(name: string, rows: RawRow[], version?: string): ScoreResult {
    const model = this.model(name, version);
    const features = normalizeRows(model.schema, rows, this.limits);
    const scored = model.score(features);
    this.onScored(model, scored.length);
    return { model, scored };
  }

  /** Validate raw rows against the model's schema and explain them. */
  explain(name: string, rows: RawRow[], version?: string): ExplainResult {
    const model = this.model(name, version);
    const features = normalizeRows(model.schema, rows, this.limits);
    return { model, explanations: model.explain(features), features: this.featureNames(model) };
  }
}
