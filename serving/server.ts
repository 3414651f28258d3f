import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  type ChurnError,
  messageOf,
  NotFoundError,
  TransientError,
  UsageError,
} from "../components/common/errors.js";
import { type Logger, silentLogger } from "../components/common/log.js";
import { encodeSeldonError } from "./codecs/seldon.js";
import {
  checkContentType,
  MalformedSeldonForm,
  parseFormBody,
  SeldonFormMessage,
  unsupportedType,
} from "./content-types.js";
import {
  DEFAULT_CORE_LIMITS,
  InferenceCore,
  type ModelName,
  type ModelSource,
  type ServedModel,
} from "./core.js";
import { MethodNotAllowedError, toChurnError } from "./errors.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./limits.js";
import { type LookupRouteOptions, registerLookupRoutes } from "./lookup/routes.js";
import { createMetrics, type ServingMetrics } from "./metrics.js";
import { predictRoutes } from "./protocols/predict.js";
import { type ModelRepository, type RepositoryEntry, repositoryRoutes } from "./protocols/repository.js";
import { seldonRoutes } from "./protocols/seldon.js";
import { encodeV2Error, v2Routes } from "./protocols/v2.js";
import { RouteTable } from "./route-table.js";

/**
 * The model server: one InferenceCore, the V2, Seldon v1 and /predict
 * adapters on Fastify, Prometheus metrics, model loading with atomic hot
 * swap (one path for every model), and a graceful close. Listening and
 * signals live in run.ts so tests can drive this through `app.inject`
 * without sockets.
 */

export interface ServerOptions {
  /** Where the served models come from: at most one source per model name. */
  sources: ModelSource[];
  /**
   * Models the server cannot be ready without; a failed first load of one of
   * them fails `start()`. Default `["churn"]`: the lifetime model is optional.
   */
  required?: readonly ModelName[];
  logger?: Logger;
  limits?: Partial<ServerLimits>;
  /** Include process metrics (CPU, memory, event loop) in /metrics; default true. */
  processMetrics?: boolean;
  serverName?: string;
  serverVersion?: string;
  /** Default lifetime horizon in days (churn.yaml lifetime.horizon_days); default 90. */
  lifetimeHorizonDays?: number;
  /** Serve the customer lookup (GET /v1/customers/{id}, serving/lookup) from this bucket. */
  lookup?: LookupRouteOptions;
  /** Bearer token the model repository routes (load, unload, index) require; default none. */
  token?: string;
}

interface RouteConfig {
  protocol?: "v2" | "seldon";
  /** The route also reads form-encoded bodies (Seldon's microservice form; content-types.ts). */
  form?: boolean;
}

/** A model server instance; create with `createModelServer`. */
export class ModelServer implements ModelRepository {
  readonly app: FastifyInstance;
  readonly core: InferenceCore;
  readonly metrics: ServingMetrics;
  readonly limits: ServerLimits;
  /** Every route served, by path template and method (the 405 rule reads it). */
  readonly routeTable = new RouteTable();
  private readonly logger: Logger;
  private readonly sources: ModelSource[];
  private readonly required: ReadonlySet<ModelName>;
  private readonly unwatch: Array<() => void> = [];
  /** Per source, the load running now; calls meanwhile set `pending` for one more after it. */
  private readonly reloading = new Map<ModelSource, Promise<void>>();
  private readonly pending = new Set<ModelSource>();
  private accepting = true;
  /** Models unloaded through the repository API: polls do not bring them back until a load. */
  private readonly unloaded = new Set<ModelName>();
  /** Settles once: true when the server first becomes ready, false when it closes before that. */
  private readonly readiness: Promise<boolean>;
  private settleReadiness!: (ready: boolean) => void;

  constructor(options: ServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.logger = options.logger ?? silentLogger;
    this.sources = options.sources;
    const names = new Set<ModelName>();
    for (const source of this.sources) {
      if (names.has(source.name)) throw new UsageError(`two model sources for model ${source.name}`);
      names.add(source.name);
    }
    this.required = new Set(options.required ?? ["churn"]);
    this.metrics = createMetrics(options.processMetrics ?? true);
    this.core = new InferenceCore(
      { maxRows: this.limits.maxRows, maxProblems: DEFAULT_CORE_LIMITS.maxProblems },
      {
        horizonDays: options.lifetimeHorizonDays ?? 90,
        onScored: (model, rows) => this.metrics.rows.inc({ model: model.name, version: model.version }, rows),
        onUnseen: (model, column, rows) => this.metrics.unseen.inc({ model: model.name, column }, rows),
      },
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
    this.readiness = new Promise((resolve) => {
      this.settleReadiness = resolve;
    });
    this.configure(options);
  }

  /** Every route served, as "METHOD /url" (for the OpenAPI test and startup logs). */
  get routes(): string[] {
    return this.routeTable.list();
  }

  /** Resolves true once the server is first ready (a model loaded), false if it closes before. */
  whenReady(): Promise<boolean> {
    return this.readiness;
  }

  private configure(options: ServerOptions): void {
    const app = this.app;
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat()) this.routeTable.add(method, route.url);
    });
    // Bodies: JSON (application/json, text/plain, or no Content-Type), and form-encoded on the
    // routes that read Seldon's microservice form; the rule is content-types.ts, checked per route
    // before parsing.
    const json = app.getDefaultJsonParser("error", "error");
    app.addContentTypeParser("text/plain", { parseAs: "string" }, json);
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) => {
      try {
        done(null, parseFormBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    app.addContentTypeParser("*", { parseAs: "string" }, (request, body, done) => {
      const type = request.headers["content-type"];
      if (type === undefined) return json(request, body as string, done);
      done(unsupportedType(type), undefined);
    });
    app.addHook("preParsing", async (request) => {
      if (request.is404 || request.method === "GET" || request.method === "HEAD") return;
      const config = request.routeOptions.config as RouteConfig | undefined;
      checkContentType(request.headers["content-type"], config?.form === true);
    });

    app.addHook("onResponse", async (request, reply) => {
      const endpoint = request.routeOptions.url ?? "unmatched";
      const labels = { endpoint, method: request.method, status: String(reply.statusCode) };
      this.metrics.requests.inc(labels);
      this.metrics.duration.observe(labels, reply.elapsedTime / 1000);
    });

    app.setErrorHandler(async (error, request, reply) => {
      // No route for this method (a QUERY without a Content-Type fails before the 404 handler runs).
      if (request.is404) return this.unrouted(request, reply);
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

    app.setNotFoundHandler(async (request, reply) => this.unrouted(request, reply));

    app.get("/metrics", async (_request, reply) => {
      const text = await this.metrics.registry.metrics();
      return reply.type(this.metrics.registry.contentType).send(text);
    });

    app.register(v2Routes, {
      core: this.core,
      serverName: options.serverName ?? "churn-serving",
      serverVersion: options.serverVersion ?? "0.1.0",
      accepting: () => this.accepting,
      notReadyBecause: () => this.notReadyBecause(),
    });
    app.register(seldonRoutes, { core: this.core });
    app.register(repositoryRoutes, { repository: this, token: options.token });
    app.register(predictRoutes, { core: this.core });
    if (options.lookup) registerLookupRoutes(app, { logger: this.logger, ...options.lookup });
  }

  /** A request no route takes: 405 with Allow when the path exists for other methods, else 404. */
  private unrouted(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split("?")[0]!;
    const allowed = this.routeTable.allowed(path);
    if (allowed.length > 0) {
      const error = new MethodNotAllowedError(
        `${path} does not take ${request.method}: use ${allowed.join(", ")}`,
      );
      return reply.code(405).header("allow", allowed.join(", ")).send(this.errorBody(request, error));
    }
    const error = new NotFoundError(`no route ${request.method} ${path}`);
    return reply.code(404).send(this.errorBody(request, error));
  }

  private errorBody(request: FastifyRequest, error: ChurnError): unknown {
    const protocol =
      request.body instanceof SeldonFormMessage || error instanceof MalformedSeldonForm
        ? "seldon"
        : ((request.routeOptions.config as RouteConfig | undefined)?.protocol ??
          (request.url.startsWith("/api/v1.0/") ? "seldon" : "v2"));
    return protocol === "seldon" ? encodeSeldonError(error) : encodeV2Error(error);
  }

  /**
   * Load every model (in parallel) and start following their sources. Rejects
   * when the first load of a required model fails; any other failed load is
   * logged and the server starts without that model.
   */
  async start(): Promise<void> {
    await Promise.all(this.sources.map((source) => this.reloadSource(source, true)));
    for (const source of this.sources) {
      if (source.watch) this.unwatch.push(source.watch(() => void this.reloadSource(source)));
    }
  }

  /**
   * Load the named model's source again (every source without a name) and
   * swap the model in once fully loaded. Never rejects: a failed load keeps
   * the served model.
   */
  async reload(name?: ModelName): Promise<void> {
    const sources = this.sources.filter((s) => name === undefined || s.name === name);
    // Only start() hears of a failed first load (it may still be running when this is called).
    await Promise.all(sources.map((s) => this.reloadSource(s).catch(() => {})));
  }

  /**
   * The one load path of every model. Per source, calls while a load runs
   * coalesce into one more load after it; sources never wait for each other,
   * so a slow churn bundle does not delay a lifetime swap.
   */
  private reloadSource(source: ModelSource, first = false): Promise<void> {
    const running = this.reloading.get(source);
    if (running) {
      this.pending.add(source);
      return running;
    }
    const run = this.load(source, first).finally(() => {
      this.reloading.delete(source);
      if (this.pending.delete(source) && this.accepting) void this.reloadSource(source);
    });
    this.reloading.set(source, run);
    return run;
  }

  /**
   * One load of a source: install its model, or record why there is none.
   * Throws only for a failed first load of a required model (start() fails);
   * otherwise the failure is logged, counted, and told to requests while no
   * model of that name is served.
   */
  private async load(source: ModelSource, first: boolean): Promise<void> {
    const name = source.name;
    if (this.unloaded.has(name)) return;
    const started = performance.now();
    let model: ServedModel | null;
    try {
      model = await source.load();
      // `ModelSource` of any name does not tie the name to the model in its type: check it here.
      if (model && model.name !== name) throw new Error(`the ${name} source loaded a ${model.name} model`);
    } catch (error) {
      const problem = messageOf(error);
      this.core.setProblem(name, problem);
      this.metrics.loads.inc({ model: name, result: "error" });
      this.logger.error(
        this.core.has(name) ? "model reload failed; still serving the previous model" : "model load failed",
        { model: name, error: problem },
      );
      if (first && this.required.has(name)) throw error;
      return;
    }
    if (!model) {
      // Nothing to load (e.g. no lifetime model in the bucket yet): not a failure.
      this.core.setProblem(name, undefined);
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const previous = this.core.install(model);
    if (previous && previous.version !== model.version) {
      this.metrics.modelInfo.remove({ model: previous.name, version: previous.version });
    }
    this.metrics.modelInfo.set({ model: model.name, version: model.version }, 1);
    this.metrics.loadSeconds.set({ model: model.name }, seconds);
    this.metrics.loads.inc({ model: model.name, result: "ok" });
    if (this.ready()) this.settleReadiness(true);
    if (previous?.version !== model.version) {
      this.logger.info(previous ? "model swapped" : "model loaded", {
        model: model.name,
        version: model.version,
        previous: previous?.version,
        seconds: Number(seconds.toFixed(3)),
      });
    }
  }

  /** The repository index: each model's state (repository extension of V2). */
  index(): RepositoryEntry[] {
    return this.sources.map(({ name }): RepositoryEntry => {
      const model = this.core.loaded().find((m) => m.name === name);
      if (model) return { name, version: model.version, state: "READY", reason: "" };
      return {
        name,
        state: this.unloaded.has(name) ? "UNLOADED" : "UNAVAILABLE",
        reason: this.core.absence(name),
      };
    });
  }

  /**
   * Load the named model from its source now (the repository's load): also
   * after an unload. Resolves once a load that started after this call has
   * finished and the model is served; otherwise rejects with why (503).
   */
  async loadModel(name: ModelName): Promise<void> {
    const source = this.sources.find((s) => s.name === name);
    if (!source) throw new NotFoundError(`this server has no source for model ${name}`);
    this.unloaded.delete(name);
    // A load already running may have read the bucket before this call: wait for one after it.
    const running = this.reloading.get(source);
    if (running) await running.catch(() => {});
    await this.reloadSource(source).catch(() => {});
    for (let next = this.reloading.get(source); next; next = this.reloading.get(source))
      await next.catch(() => {});
    if (!this.core.has(name)) throw new TransientError(this.core.absence(name));
  }

  /** Stop serving the named model until the next `loadModel` (the repository's unload). */
  unloadModel(name: ModelName): void {
    if (!this.sources.some((s) => s.name === name))
      throw new NotFoundError(`this server has no source for model ${name}`);
    this.unloaded.add(name);
    const previous = this.core.uninstall(
      name,
      `unloaded through the model repository: POST /v2/repository/models/${name}/load loads it again`,
    );
    if (previous) {
      this.metrics.modelInfo.remove({ model: previous.name, version: previous.version });
      this.logger.info("model unloaded", { model: name, version: previous.version });
    }
  }

  /**
   * The one readiness rule (/v2/health/ready): accepting requests, at least
   * one model loaded, and every required model among them.
   */
  ready(): boolean {
    return this.notReadyBecause() === undefined;
  }

  /** Why the server is not ready (the /v2/health/ready 503 body says it), or undefined when it is. */
  notReadyBecause(): string | undefined {
    if (!this.accepting) return "the server is shutting down";
    const missing = [...this.required].filter((name) => !this.core.has(name));
    if (this.core.loaded().length > 0 && missing.length === 0) return undefined;
    const names = missing.length > 0 ? missing : this.sources.map((s) => s.name);
    const why = names.map((name) => `${name}: ${this.core.absence(name)}`).join("; ");
    return `no model loaded yet${why ? ` (${why})` : ""}`;
  }

  /**
   * Graceful close: readiness turns off, watching stops, the listener stops
   * accepting, requests in flight finish, idle connections close.
   */
  async close(): Promise<void> {
    this.accepting = false;
    this.settleReadiness(false);
    for (const stop of this.unwatch.splice(0)) stop();
    await this.app.close();
    await Promise.allSettled(this.reloading.values());
  }
}

/** Build a model server (routes registered, nothing loaded or listening yet). */
export async function createModelServer(options: ServerOptions): Promise<ModelServer> {
  const server = new ModelServer(options);
  await server.app.ready();
  return server;
}
