import { InputError, NotFoundError, TransientError, UsageError } from "../components/common/errors.js";
import { UnseenCategories } from "../components/ingest/unseen.js";
import { DAYS_PER_UNIT } from "../components/lifetime/summary.js";
import type {
  Explanation,
  FeatureRow,
  InferenceModel,
  RawRow,
  ScoredRow,
  ScoreOptions,
} from "../components/models/inference.js";
import type { CustomerHistory } from "../components/models/lifetime/history.js";
import type { LifetimeInferenceModel, LifetimePrediction } from "../components/models/lifetime/model.js";
import { type NormalizeLimits, normalizeRows } from "./rows.js";

/**
 * The one inference core of the model server. It knows nothing of HTTP or of
 * any protocol: adapters decode a request, call `score`/`explain` (churn) or
 * `predict` (lifetime) here, and encode the answer. Models are held by name
 * and swapped atomically (a request keeps the model it started with), so hot
 * reload never fails one.
 */

/** The models the server can serve, by the name each is served under. */
interface ModelsByName {
  churn: InferenceModel;
  lifetime: LifetimeInferenceModel;
}
export type ModelName = keyof ModelsByName;
// An indexed access (not Extract) keeps ModelSource<"churn"> assignable to ModelSource.
export type ModelOf<N extends ModelName> = ModelsByName[N];
/** Any served model, told apart by `name`: what each can do follows from it. */
export type ServedModel = ModelOf<ModelName>;

/** Names a model is served under (DESIGN: `churn` and `lifetime`). */
export const MODEL_NAMES = ["churn", "lifetime"] as const satisfies readonly ModelName[];

/** What /predict and the lifetime V2 routes answer (503) while no lifetime model is loaded. */
export const NO_LIFETIME_MODEL = "no lifetime model: run `churn pipeline run lifetime`";

/** What a request for a model is told while none is loaded (and the last load failure, if any). */
const ABSENT: Record<ModelName, string> = {
  churn: "model churn is not loaded yet: retry shortly",
  lifetime: NO_LIFETIME_MODEL,
};

/** Where a model comes from, e.g. the champion pointer of a bucket; `ModelSource` alone is a source of any model. */
export interface ModelSource<N extends ModelName = ModelName> {
  /** The name the loaded model is served under. */
  readonly name: N;
  /**
   * Load the current model completely, or null when there is none to load
   * (the served model, if any, stays). A failed load must not affect the served one.
   */
  load(): Promise<ModelOf<N> | null>;
  /** Call `onChange` when a different model should be loaded; returns a function that stops watching. */
  watch?(onChange: () => void): () => void;
}

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

export interface PredictResult {
  model: LifetimeInferenceModel;
  /** The horizon used, in the model's time unit. */
  horizon: number;
  predictions: LifetimePrediction[];
}

export interface PredictOptions {
  /** In the model's time unit; default the core's `horizonDays` converted to it. */
  horizon?: number;
  version?: string;
  /** How the request names its list of customers, for errors (`customers[2]`, `rows[2]`). */
  field?: string;
}

/** Most reasons per row a request may ask for (openapi.yaml says the same). */
export const MAX_REASONS = 64;

/** Limits the core enforces on every request, whatever the protocol. */
export type CoreLimits = NormalizeLimits;

export const DEFAULT_CORE_LIMITS: CoreLimits = { maxRows: 10_000, maxProblems: 10 };

export interface CoreOptions {
  /** Default lifetime horizon in days (churn.yaml lifetime.horizon_days); default 90. */
  horizonDays?: number;
  /** Called after every successful inference with the model used and the number of rows. */
  onScored?: (model: ServedModel, rows: number) => void;
  /** Called per scored request and column with rows whose category value training never saw. */
  onUnseen?: (model: InferenceModel, column: string, rows: number) => void;
}

function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

function unknownModel(name: string): NotFoundError {
  return new NotFoundError(`unknown model "${name}": this server serves ${MODEL_NAMES.join(", ")}`);
}

/** The model registry plus the validate-then-infer path every adapter shares. */
export class InferenceCore {
  // One typed slot per name, so `model("lifetime")` is a LifetimeInferenceModel without a cast.
  private readonly served: { [N in ModelName]?: ModelOf<N> } = {};
  private readonly problems = new Map<ModelName, string>();
  private readonly features = new WeakMap<InferenceModel, string[]>();
  private readonly horizonDays: number;
  private readonly onScored: (model: ServedModel, rows: number) => void;
  private readonly onUnseen: (model: InferenceModel, column: string, rows: number) => void;
  /** Per model, the category columns ingest checks for unseen values and their known values. */
  private readonly knownCategories = new WeakMap<InferenceModel, Array<[string, Set<string>]>>();

  constructor(
    readonly limits: CoreLimits = DEFAULT_CORE_LIMITS,
    options: CoreOptions = {},
  ) {
    this.horizonDays = options.horizonDays ?? 90;
    this.onScored = options.onScored ?? (() => {});
    this.onUnseen = options.onUnseen ?? (() => {});
  }

  /** Put a fully loaded model in service; requests already running keep the previous one. */
  install(model: ServedModel): ServedModel | undefined {
    const previous = this.served[model.name];
    if (model.name === "churn") this.served.churn = model;
    else this.served.lifetime = model;
    this.problems.delete(model.name);
    return previous;
  }

  /** Stop serving the named model (requests already running keep it); returns the one removed. */
  uninstall(name: ModelName, why: string): ServedModel | undefined {
    const previous = this.served[name];
    delete this.served[name];
    this.problems.set(name, why);
    return previous;
  }

  /**
   * Remember why the named model could not be loaded (requests are told while
   * none is served; a served model stays), or forget it with `undefined`.
   */
  setProblem(name: ModelName, problem: string | undefined): void {
    if (problem === undefined) this.problems.delete(name);
    else this.problems.set(name, problem);
  }

  /** The models currently loaded. */
  loaded(): ServedModel[] {
    return MODEL_NAMES.flatMap((name) => this.served[name] ?? []);
  }

  /** True when the named model is loaded. */
  has(name: ModelName): boolean {
    return this.served[name] !== undefined;
  }

  /**
   * The model to use for a request: 404 for a name or version we do not serve,
   * 503 while a known model is not loaded (with the reason, when a load failed).
   */
  model<N extends ModelName>(name: N, version?: string): ModelOf<N>;
  model(name: string, version?: string): ServedModel;
  model(name: string, version?: string): ServedModel {
    if (!isModelName(name)) throw unknownModel(name);
    const model = this.served[name];
    if (!model) throw new TransientError(this.absence(name));
    if (version !== undefined && version !== model.version) {
      throw new NotFoundError(`model ${name} version ${version} is not served (serving ${model.version})`);
    }
    return model;
  }

  /** Why the named model is not served: what requests for it are told (with the last load failure, if any). */
  absence(name: ModelName): string {
    const problem = this.problems.get(name);
    return problem ? `${ABSENT[name]} (${problem})` : ABSENT[name];
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

  /**
   * Validate raw rows against the model's schema and score them, with at most
   * `reasons` per row when given (a whole number from 0 to MAX_REASONS; 400
   * otherwise), else the model's configured number.
   */
  score(name: string, rows: RawRow[], version?: string, reasons?: unknown): ScoreResult {
    const model = this.churnModel(name, version, "scores rows");
    const options = this.scoreOptions(model, reasons);
    const features = normalizeRows(model.schema, rows, this.limits);
    const scored = model.score(features, options);
    this.countUnseen(model, features);
    this.onScored(model, scored.length);
    return { model, scored };
  }

  /**
   * Count rows whose category value training never saw, by column, with
   * ingest's rule (components/ingest/unseen.ts: which columns are checked
   * and their known values), so the server's metric and a weekly run's
   * unseen_categories agree.
   */
  private countUnseen(model: InferenceModel, rows: readonly FeatureRow[]): void {
    let columns = this.knownCategories.get(model);
    if (!columns) {
      const rule = new UnseenCategories(model.schema.columns, "score");
      columns = model.schema.columns.flatMap((c): Array<[string, Set<string>]> => {
        const known = rule.knownOf(c.name);
        return known ? [[c.name, known]] : [];
      });
      this.knownCategories.set(model, columns);
    }
    for (const [column, known] of columns) {
      let unseen = 0;
      for (const row of rows) {
        const v = row[column];
        if (typeof v === "string" && !known.has(v)) unseen++;
      }
      if (unseen > 0) this.onUnseen(model, column, unseen);
    }
  }

  /** The one rule for a request's number of reasons, whatever the protocol carrying it. */
  private scoreOptions(model: InferenceModel, reasons: unknown): ScoreOptions | undefined {
    if (reasons === undefined) return undefined;
    if (typeof reasons !== "number" || !Number.isInteger(reasons) || reasons < 0 || reasons > MAX_REASONS) {
      throw new UsageError(
        `reasons must be a whole number from 0 to ${MAX_REASONS}, got ${JSON.stringify(reasons)}`,
      );
    }
    // A row never has more reasons than the model has features.
    return { reasons: Math.min(reasons, this.featureNames(model).length) };
  }

  /** Validate raw rows against the model's schema and explain them. */
  explain(name: string, rows: RawRow[], version?: string): ExplainResult {
    const model = this.churnModel(name, version, "explains rows");
    const features = normalizeRows(model.schema, rows, this.limits);
    return { model, explanations: model.explain(features), features: this.featureNames(model) };
  }

  /** The lifetime horizon used when a request gives none, in the model's time unit. */
  defaultHorizon(model: LifetimeInferenceModel): number {
    return this.horizonDays / DAYS_PER_UNIT[model.timeUnit];
  }

  /**
   * P(alive) and expected purchases of validated histories from the lifetime
   * model; a 422 naming the customer when the model gives no finite answer.
   */
  predict(customers: readonly CustomerHistory[], options: PredictOptions = {}): PredictResult {
    const model = this.model("lifetime", options.version);
    const horizon = options.horizon ?? this.defaultHorizon(model);
    const predictions = this.lifetimePredictions(model, customers, horizon, options.field ?? "rows");
    predictions.forEach((p, i) => {
      if (!Number.isFinite(p.probAlive) || !Number.isFinite(p.expectedPurchases)) {
        throw new InputError(
          `${options.field ?? "rows"}[${i}]: the model gives no finite prediction for this history`,
        );
      }
    });
    this.onScored(model, predictions.length);
    return { model, horizon, predictions };
  }

  /**
   * The model's predictions; a history its special functions cannot evaluate
   * (a series that does not converge for extreme inputs) is a 422 naming the
   * customer, never a 500.
   */
  private lifetimePredictions(
    model: LifetimeInferenceModel,
    customers: readonly CustomerHistory[],
    horizon: number,
    field: string,
  ): LifetimePrediction[] {
    try {
      return model.predict(customers, horizon);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const index = customers.findIndex((c) => {
        try {
          model.predict([c], horizon);
          return false;
        } catch {
          return true;
        }
      });
      throw new InputError(
        `${field}[${Math.max(index, 0)}]: the model cannot evaluate this history (${error.message}); such extreme values are outside what it was fitted on`,
      );
    }
  }

  /**
   * The churn model for `score`/`explain`. Asking another known model for
   * them is a 404 whether or not it is loaded: it will never answer them.
   */
  private churnModel(name: string, version: string | undefined, what: string): InferenceModel {
    if (name === "churn") return this.model("churn", version);
    if (isModelName(name)) throw new NotFoundError(`model ${name} does not serve this: only churn ${what}`);
    throw unknownModel(name);
  }
}
