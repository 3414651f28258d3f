import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { type ChurnError, messageOf, NotFoundError } from "../components/common/errors.js";
import { type Logger, silentLogger } from "../components/common/log.js";
import type { InferenceModel } from "../components/models/inference.js";
import { encodeSeldonError } from "./codecs/seldon.js";
import { DEFAULT_CORE_LIMITS, InferenceCore, type ModelSource } from "./core.js";
import { toChurnError, UnsupportedMediaTypeError } from "./errors.js";
import type { LifetimeSource, LoadedLifetime } from "./lifetime-source.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./limits.js";
import { createMetrics, type ServingMetrics } from "./metrics.js";
import { predictRoutes } from "./protocols/predict.js";
import { seldonRoutes } from "./protocols/seldon.js";
import { encodeV2Error, v2Routes } from "./protocols/v2.js";

/**
 * The model server: one InferenceCore, the V2 and Seldon v1 adapters on
 * Fastify, Prometheus metrics, model loading with atomic hot swap, and a
 * graceful close. Listening and signals live in run.ts so tests can drive
 * this through `app.inject` without sockets.
 */

export interface ServerOptions {
  /** Where the served models come from; one per model name. */
  sources: ModelSource[];
  logger?: Logger;
  limits?: Partial<ServerLimits>;
  /** Include process metrics (CPU, memory, event loop) in /metrics; default true. */
  processMetrics?: boolean;
  serverName?: string;
  serverVersion?: string;
  /** The lifetime (BG/NBD) model for `POST /predict`; optional, churn is served without it. */
  lifetime?: LifetimeSource;
  /** Default /predict horizon in days (churn.yaml lifetime.horizon_days); default 90. */
  lifetimeHorizonDays?: number;
}

/** What /predict answers (503) while no lifetime model is loaded. */
export const NO_LIFETIME_MODEL = "no lifetime model: run `churn pipeline run lifetime`";

interface RouteConfig {
  protocol?: "v2" | "seldon";
}

/** A model server instance; create with `createModelServer`. */
export class ModelServer {
  readonly app: FastifyInstance;
  readonly core: InferenceCore;
  readonly metrics: ServingMetrics;
  readonly limits: ServerLimits;
  /** Every route served, as "METHOD /url" (for the OpenAPI test and startup logs). */
  readonly routes: string[] = [];
  private readonly logger: Logger;
  private readonly sources: ModelSource[];
  private readonly options: ServerOptions;
  private readonly unwatch: Array<() => void> = [];
  private readonly reloading = new Map<ModelSource, Promise<void>>();
  private readonly pending = new Set<ModelSource>();
  private accepting = true;
  /** The lifetime model in service (hot swapped like the churn model). */
  lifetimeModel: LoadedLifetime | undefined;
  private lifetimeProblem: string | undefined;
  private lifetimeLoading: Promise<void> | undefined;
  private lifetimeAgain = false;

  constructor(options: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.logger = options.logger ?? silentLogger;
    this.sources = options.sources;
    this.options = options;
    this.metrics = createMetrics(options.processMetrics ?? true);
    this.core = new InferenceCore(
      { maxRows: this.limits.maxRows, maxProblems: DEFAULT_CORE_LIMITS.maxProblems },
      (model, rows) => this.metrics.rows.inc({ model: model.name, version: model.version }, rows),
    );
    this.app = Fastify({
      logger: false,
      bodyLimit: this.limits.bodyBytes,
      requestTimeout: this.limits.requestTimeoutMs,
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
      // While closing: new requests on open connections get 503 and idle keep-alive sockets close.
      return503OnClosing: true,
      forceCloseConnections: "idle",
    });
    this.configure(options);
  }

  private configure(options: ServerOptions): void {
    const app = this.app;
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat())
        if (method !== "HEAD") this.routes.push(`${method} ${route.url}`);
    });
    // Clients that omit the content type or send text/plain still mean JSON; other types are a 415.
    const json = app.getDefaultJsonParser("error", "error");
    app.addContentTypeParser("text/plain", { parseAs: "string" }, json);
    app.addContentTypeParser("*", { parseAs: "string" }, (request, body, done) => {
      const type = request.headers["content-type"];
      if (type === undefined) return json(request, body as string, done);
      done(
        new UnsupportedMediaTypeError(
          `unsupported Content-Type ${JSON.stringify(type.slice(0, 80))}: send application/json (the binary tensor extension is not supported)`,
        ),
        undefined,
      );
    });

    app.addHook("onResponse", async (request, reply) => {
      const endpoint = request.routeOptions.url ?? "unmatched";
      const labels = { endpoint, method: request.method, status: String(reply.statusCode) };
      this.metrics.requests.inc(labels);
      this.metrics.duration.observe(labels, reply.elapsedTime / 1000);
    });

    app.setErrorHandler(async (error, request, reply) => {
      const churn = toChurnError(error);
      if (churn.httpStatus >= 500) {
        this.logger.error("request failed", {
          url: request.routeOptions.url ?? request.url,
          error: messageOf(churn.cause ?? churn),
          stack: (churn.cause as Error | undefined)?.stack,
        });
      }
      return reply.code(churn.httpStatus).send(this.errorBody(request, churn));
    });

    app.setNotFoundHandler(async (request, reply) => {
      const error = new NotFoundError(`no route ${request.method} ${request.url.split("?")[0]}`);
      return reply.code(404).send(this.errorBody(request, error));
    });

    app.get("/metrics", async (_request, reply) => {
      const text = await this.metrics.registry.metrics();
      return reply.type(this.metrics.registry.contentType).send(text);
    });

    app.register(v2Routes, {
      core: this.core,
      serverName: options.serverName ?? "churn-serving",
      serverVersion: options.serverVersion ?? "0.1.0",
      accepting: () => this.accepting,
    });
    app.register(seldonRoutes, { core: this.core });
    app.register(predictRoutes, {
      model: () => this.lifetimeModel,
      missing: () =>
        this.lifetimeProblem ? `${NO_LIFETIME_MODEL} (${this.lifetimeProblem})` : NO_LIFETIME_MODEL,
      horizonDays: options.lifetimeHorizonDays ?? 90,
      maxRows: this.limits.maxRows,
      accepting: () => this.accepting,
    });
  }

  private errorBody(request: FastifyRequest, error: ChurnError): unknown {
    const protocol =
      (request.routeOptions.config as RouteConfig | undefined)?.protocol ??
      (request.url.startsWith("/api/v1.0/") ? "seldon" : "v2");
    return protocol === "seldon" ? encodeSeldonError(error) : encodeV2Error(error);
  }

  /** Load every model (in parallel) and start following their sources; rejects if a first load fails. */
  async start(): Promise<void> {
    await Promise.all([...this.sources.map((source) => this.load(source, true)), this.reloadLifetime()]);
    for (const source of this.sources) {
      if (source.watch) this.unwatch.push(source.watch(() => void this.reload(source)));
    }
    const lifetime = this.options.lifetime;
    if (lifetime?.watch) this.unwatch.push(lifetime.watch(() => void this.reloadLifetime()));
  }

  /**
   * Load the lifetime model again (calls during a load coalesce into one
   * more). Never rejects: the model is optional, so a failed load is logged
   * and the previous model, if any, stays in service.
   */
  reloadLifetime(): Promise<void> {
    const source = this.options.lifetime;
    if (!source) return Promise.resolve();
    if (this.lifetimeLoading) {
      this.lifetimeAgain = true;
      return this.lifetimeLoading;
    }
    this.lifetimeLoading = (async () => {
      try {
        const model = await source.load();
        this.lifetimeProblem = undefined;
        if (!model) return;
        const previous = this.lifetimeModel;
        this.lifetimeModel = model;
        if (previous?.version !== model.version) {
          this.metrics.modelInfo.set({ model: "lifetime", version: model.version }, 1);
          if (previous) this.metrics.modelInfo.remove({ model: "lifetime", version: previous.version });
          this.logger.info(previous ? "lifetime model swapped" : "lifetime model loaded", {
            version: model.version,
            previous: previous?.version,
          });
        }
      } catch (error) {
        this.lifetimeProblem = messageOf(error);
        this.metrics.loads.inc({ model: "lifetime", result: "error" });
        this.logger.error("lifetime model load failed", { error: this.lifetimeProblem });
      } finally {
        this.lifetimeLoading = undefined;
        if (this.lifetimeAgain && this.accepting) {
          this.lifetimeAgain = false;
          void this.reloadLifetime();
        }
      }
    })();
    return this.lifetimeLoading;
  }

  /**
   * Load the source's model again and swap it in once fully loaded. Calls
   * while a load runs coalesce into one more load after it; a failed load
   * keeps the served model.
   */
  reload(source: ModelSource = this.sources[0]!): Promise<void> {
    const running = this.reloading.get(source);
    if (running) {
      this.pending.add(source);
      return running;
    }
    const run = (async () => {
      try {
        await this.load(source, false);
      } catch {
        // Logged and counted in load(); the served model stays.
      } finally {
        this.reloading.delete(source);
        if (this.pending.delete(source) && this.accepting) void this.reload(source);
      }
    })();
    this.reloading.set(source, run);
    return run;
  }

  private async load(source: ModelSource, first: boolean): Promise<InferenceModel> {
    const started = performance.now();
    let model: InferenceModel;
    try {
      model = await source.load();
    } catch (error) {
      this.metrics.loads.inc({ model: "unknown", result: "error" });
      this.logger.error(
        first ? "model load failed" : "model reload failed; still serving the previous model",
        {
          error: messageOf(error),
        },
      );
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const previous = this.core.install(model);
    if (previous && previous.version !== model.version) {
      this.metrics.modelInfo.remove({ model: previous.name, version: previous.version });
    }
    this.metrics.modelInfo.set({ model: model.name, version: model.version }, 1);
    this.metrics.loadSeconds.set({ model: model.name }, seconds);
    this.metrics.loads.inc({ model: model.name, result: "ok" });
    if (previous?.version !== model.version) {
      this.logger.info(previous ? "model swapped" : "model loaded", {
        model: model.name,
        version: model.version,
        previous: previous?.version,
        seconds: Number(seconds.toFixed(3)),
      });
    }
    return model;
  }

  /** True while the server accepts requests and every model is loaded. */
  ready(): boolean {
    return this.accepting && this.core.ready();
  }

  /**
   * Graceful close: readiness turns off, watching stops, the listener stops
   * accepting, requests in flight finish, idle connections close.
   */
  async close(): Promise<void> {
    this.accepting = false;
    for (const stop of this.unwatch.splice(0)) stop();
    await this.app.close();
    await Promise.allSettled([...this.reloading.values(), this.lifetimeLoading]);
  }
}

/** Build a model server (routes registered, nothing loaded or listening yet). */
export async function createModelServer(options: ServerOptions): Promise<ModelServer> {
  const server = new ModelServer(options);
  await server.app.ready();
  return server;
}
