import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { rollback } from "../../components/common/bundle/index.js";
import { parseRequest } from "../../components/common/documents/parse.js";
import { ChurnError, InputError, NotFoundError, UsageError } from "../../components/common/errors.js";
import { OUTPUT_FILES } from "../../components/common/layout/index.js";
import { type Logger, silentLogger } from "../../components/common/log.js";
import { logText, logTextChunks } from "../../components/common/log-lines.js";
import { mirrorChampion } from "../../components/common/mlflow/sync.js";
import type { Storage } from "../../components/common/storage/index.js";
import { PIPELINES } from "../../pipelines/definitions/index.js";
import { cachedRunRecords, listModels, listRuns } from "../../pipelines/query/index.js";
import { promoteModel } from "../../pipelines/query/promote.js";
import { toChurnError } from "../errors.js";
import { registerLookupRoutes } from "../lookup/routes.js";
import type {
  ChampionChange,
  ConsoleStatus,
  LogHeaders,
  ModelListing,
  RunsResponse,
  WeeksResponse,
} from "./api-types.js";
import {
  listWeeks,
  modelDetail,
  type PiiContext,
  piiContext,
  rejectedCsv,
  runDetail,
  stepLogObject,
  tailText,
  weekDetail,
  weekFile,
} from "./data.js";
import { isModuleName, loadPageFiles } from "./static-files.js";

/**
 * The web console (`churn ui`): a JSON API under /api/ and the static pages
 * that use it, on Fastify like the model server. Safe by default: read-only
 * unless `allowChanges`, and every change needs the bearer token when one is
 * set. Listening lives in the command, so tests drive this with `inject`.
 */

/** The client is not authenticated for a change (no or malformed bearer token). */
export class UnauthorizedError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 401;
}

/** The change is not allowed: read-only console, wrong token or cross-site request. */
export class ForbiddenError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 403;
}

export interface ConsoleOptions {
  storage: Storage;
  /** Serve promote/rollback; without it every change request gets 403. */
  allowChanges?: boolean;
  /** When set, change requests need `Authorization: Bearer <token>`. */
  authToken?: string;
  /** The address the console listens on, to check Host headers against DNS rebinding. */
  host?: string;
  logger?: Logger;
  /** How long the pii settings read from churn.yaml are reused. */
  configCacheMs?: number;
  /** The folder of the compiled page modules (default: the build's, see static-files.ts). */
  pageModules?: string;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/**
 * The start-up rule: a console reachable from other machines may change the
 * champion only with a token. Throws a UsageError (exit 2) otherwise.
 */
export function checkExposure(options: { host: string; allowChanges: boolean; authToken?: string }): void {
  if (options.authToken !== undefined && options.authToken.length < 16)
    throw new UsageError("--auth-token must be at least 16 characters");
  if (!isLoopback(options.host) && options.allowChanges && !options.authToken) {
    throw new UsageError(
      `refusing to serve changes on ${options.host} without a token: add --auth-token <secret> (or bind 127.0.0.1, or drop --allow-changes)`,
    );
  }
}

/** Everything the pages load is same-origin; nothing reaches the network beyond the console. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** Published reports are our own HTML but are shown sandboxed: no scripts, inline styles only. */
const REPORT_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

const runsQuery = z
  .object({
    state: z.string().optional(),
    pipeline: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();
const logQuery = z
  .object({
    tail: z.coerce
      .number()
      .int()
      .min(1)
      .max(16 * 1024 * 1024)
      .optional(),
    // raw: the JSON lines as the step wrote them (downloads, tools); text: as `churn runs logs` prints them.
    format: z.enum(["raw", "text"]).default("raw"),
  })
  .strict();
const changeBody = z.object({ reason: z.string().min(1).max(500).optional() }).strict();
/** A promote may force a model the quality gate refused, like `churn models promote --force`. */
const promoteBody = changeBody.extend({ force: z.boolean().optional() }).strict();

/** The console's queries and bodies: absent is empty, and a refused one is a 422 naming the fields at fault. */
function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  return parseRequest(schema, value ?? {}, what, { status: 422 });
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match ? match[1]! : null;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when an Origin header names the host the request was sent to (default ports normalised). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    const from = new URL(origin);
    return from.host === new URL(`${from.protocol}//${host ?? ""}`).host;
  } catch {
    return false;
  }
}

function hostName(header: string | undefined): string {
  const value = header ?? "";
  const match = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(value);
  return (match?.[1] ?? value).toLowerCase();
}

/** Build the console app (not listening). */
export function createConsoleApp(options: ConsoleOptions): FastifyInstance {
  const { storage } = options;
  const logger = options.logger ?? silentLogger;
  const allowChanges = options.allowChanges ?? false;
  const token = options.authToken;
  const boundHost = options.host ?? "127.0.0.1";
  const { files, problem: unbuilt } = loadPageFiles(options.pageModules);
  if (unbuilt) logger.warn(unbuilt);

  const runs = cachedRunRecords(storage);
  let piiCache: { at: number; value: Promise<PiiContext | null> } | null = null;
  const pii = (): Promise<PiiContext | null> => {
    const now = Date.now();
    if (!piiCache || now - piiCache.at > (options.configCacheMs ?? 5_000))
      piiCache = { at: now, value: piiContext(storage) };
    return piiCache.value;
  };

  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Malformed URLs and over-long parameters answer in the same shape as every other error.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).send({ error: error.message, status });
    },
  });

  // An empty JSON body means "no options" (`curl -X POST` without -d works).
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new InputError(`malformed JSON in the request body: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler(async (error, request, reply) => {
    const churn = toChurnError(error);
    if (churn.httpStatus >= 500)
      logger.error("console request failed", { url: request.url, error: String(error) });
    await reply
      .code(churn.httpStatus)
      .header("cache-control", "no-store")
      .send({ error: churn.message, status: churn.httpStatus });
  });
  app.setNotFoundHandler(async (request, reply) => {
    await reply
      .code(404)
      .send({ error: `no such page or API: ${request.method} ${request.url.split("?")[0]}`, status: 404 });
  });

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    // A page on another site could point a name at 127.0.0.1 (DNS rebinding) and read the API.
    if (isLoopback(boundHost) && !isLoopback(hostName(request.headers.host)))
      throw new ForbiddenError(
        `unexpected Host header "${request.headers.host ?? ""}" for a console on ${boundHost}`,
      );
    if (["GET", "HEAD", "OPTIONS"].includes(request.method)) return;
    if (!allowChanges)
      throw new ForbiddenError(
        "the console is read-only: restart it with `churn ui --allow-changes` to promote or roll back",
      );
    if (token !== undefined) {
      const given = bearer(request.headers.authorization);
      if (given === null)
        throw new UnauthorizedError("this console needs `Authorization: Bearer <token>` for changes");
      if (!sameSecret(given, token)) throw new ForbiddenError("wrong token");
    }
    // Browsers always send Origin on cross-site POSTs: refuse those (CSRF).
    const origin = request.headers.origin;
    if (origin && !sameOrigin(origin, request.headers.host))
      throw new ForbiddenError(`change requests from another site (${origin}) are refused`);
    if (!/^application\/json\b/.test(request.headers["content-type"] ?? ""))
      throw new InputError("change requests need Content-Type: application/json");
  });

  // Pages.
  const sendFile = async (name: string, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) throw new NotFoundError(unbuilt && isModuleName(name) ? unbuilt : `no such file ${name}`);
    return reply
      .header("content-type", file.type)
      .header("content-security-policy", PAGE_CSP)
      .header("cache-control", "no-cache")
      .send(file.body);
  };
  app.get("/", async (_request, reply) => sendFile("index.html", reply));
  // Nested names too (`/static/pages/runs.js`): the compiled modules import each other by relative path.
  app.get<{ Params: { "*": string } }>("/static/*", async (request, reply) =>
    sendFile(request.params["*"], reply),
  );

  // API.
  app.get(
    "/api/status",
    async (): Promise<ConsoleStatus> => ({
      bucket: storage.uri,
      read_only: !allowChanges,
      auth_required: allowChanges && token !== undefined,
      pipelines: Object.keys(PIPELINES),
    }),
  );

  app.get("/api/runs", async (request): Promise<RunsResponse> => {
    const query = parse(runsQuery, request.query, "query");
    return { runs: await listRuns(storage, query, runs) };
  });

  app.get<{ Params: { run: string } }>("/api/runs/:run", async (request, reply) => {
    reply.header("cache-control", "no-store");
    return runDetail(storage, request.params.run);
  });

  app.get<{ Params: { run: string; step: string } }>(
    "/api/runs/:run/steps/:step/log",
    async (request, reply) => {
      const query = parse(logQuery, request.query, "query");
      const log = await stepLogObject(storage, request.params.run, request.params.step);
      reply.header("cache-control", "no-store").header("content-type", "text/plain; charset=utf-8");
      const about = (size: number): LogHeaders => ({
        "x-log-run": log.run,
        "x-log-step": log.step,
        "x-log-size": String(size),
      });
      if (query.tail !== undefined) {
        const tail = await tailText(storage.createReadStream(log.object), query.tail);
        const headers: LogHeaders = {
          ...about(tail.size),
          "x-log-truncated": tail.truncated ? "true" : "false",
        };
        // The tail starts at a whole line, so each line converts on its own.
        return reply.headers(headers).send(query.format === "text" ? logText(tail.text) : tail.text);
      }
      // The full log streams through: big logs never sit in memory.
      const stream = storage.createReadStream(log.object);
      return reply
        .headers(about(log.info.size))
        .send(query.format === "text" ? Readable.from(logTextChunks(stream)) : stream);
    },
  );

  app.get("/api/models", async (): Promise<ModelListing> => listModels(storage));

  app.get<{ Params: { version: string } }>("/api/models/:version", async (request) => {
    const context = await pii();
    return modelDetail(storage, request.params.version, new Set(context?.pii ?? []), runs);
  });

  // Exactly what `churn models promote|rollback` do: the gate rule, the pointer, then the MLflow mirror.
  app.post<{ Params: { version: string } }>(
    "/api/models/:version/promote",
    async (request): Promise<ChampionChange> => {
      const body = parse(promoteBody, request.body, "request body");
      // The same gate rule as the CLI (promoteModel): a refused model needs force.
      const pointer = await promoteModel(storage, request.params.version, {
        reason: body.reason ?? "promoted in the console",
        force: body.force,
        forceHint: 'Send {"force": true}',
      });
      logger.info("champion promoted from the console", { version: pointer.version });
      return pointer;
    },
  );

  app.post("/api/models/rollback", async (request): Promise<ChampionChange> => {
    const body = parse(changeBody, request.body, "request body");
    const pointer = await rollback(storage, body.reason ?? "rolled back in the console");
    const mlflow = await mirrorChampion(storage);
    logger.info("champion rolled back from the console", { version: pointer.version });
    return mlflow ? { ...pointer, mlflow } : pointer;
  });

  app.get("/api/weeks", async (): Promise<WeeksResponse> => ({ weeks: await listWeeks(storage, runs) }));
  // The "find a customer" box: the customer lookup of churn serve, on this bucket (scores, never pii).
  registerLookupRoutes(app, { storage, path: "/api/customers/:id", logger });

  app.get<{ Params: { stem: string } }>("/api/weeks/:stem", async (request, reply) => {
    reply.header("cache-control", "no-store");
    return weekDetail(storage, request.params.stem, await pii(), runs);
  });

  app.get<{ Params: { stem: string; name: string } }>(
    "/api/weeks/:stem/files/:name",
    async (request, reply) => {
      const { stem, name } = request.params;
      const info = await weekFile(storage, stem, name);
      if (name === OUTPUT_FILES.rejected) {
        // Served after the pii rules, like the page shows it.
        return reply
          .header("content-type", "text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="${stem}-rejected.csv"`)
          .send(await rejectedCsv(storage, stem, await pii()));
      }
      if (name.endsWith(".html"))
        reply
          .header("content-type", "text/html; charset=utf-8")
          .header("content-security-policy", REPORT_CSP);
      else {
        const type = name.endsWith(".json")
          ? "application/json"
          : name.endsWith(".csv")
            ? "text/csv"
            : "text/plain";
        reply
          .header("content-type", `${type}; charset=utf-8`)
          .header("content-disposition", `attachment; filename="${stem}-${name}"`);
      }
      return reply.send(storage.createReadStream(info.name));
    },
  );

  return app;
}
