import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { IndexedCustomer } from "../../components/common/documents/customer-index.js";
import { ChurnError, NotFoundError, TransientError, UsageError } from "../../components/common/errors.js";
import { type Logger, silentLogger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/types.js";
import { isReasonColumn, REASON_CODES_COLUMN } from "../../components/models/reasons.js";
import type { CustomerAnswer } from "./answer.js";
import { LookupSource, type ServedWeek } from "./source.js";

/**
 * The customer lookup's route (`GET /v1/customers/{id}` on the model server,
 * `/api/customers/{id}` in the console): one registration that also runs
 * its LookupSource (first load when the app is ready, polling the pointer,
 * closed with the app), so the servers that use it add one call.
 */

/** The request carries no valid bearer token for the lookup. */
export class LookupUnauthorizedError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 401;
}

export interface LookupRouteOptions {
  storage: Storage;
  /** When set, requests need `Authorization: Bearer <token>` (the answers expose scores). */
  token?: string;
  /** The route's path; default `/v1/customers/:id`. */
  path?: string;
  pollMs?: number;
  cacheDir?: string;
  logger?: Logger;
}

/** Constant-time comparison of the presented token with the expected one. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(header ?? "");
  if (!match) return false;
  const got = Buffer.from(match[1]!.trim());
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The answer for one indexed customer of the served week. */
export function customerAnswer(week: ServedWeek, found: IndexedCustomer): CustomerAnswer {
  const columns = week.index.header.columns;
  const f = found.fields;
  return {
    id: f[columns[0]!]!,
    week: week.pointer.stem,
    churn_probability: Number(f.churn_probability),
    risk_tier: f.risk_tier ?? "",
    reasons: columns.filter(isReasonColumn).flatMap((c) => (f[c] ? [f[c]] : [])),
    reason_codes: f[REASON_CODES_COLUMN] ?? "",
    model_version: f.model_version || week.modelVersion,
    rank: found.rank,
    group: found.group,
    prob_alive: found.probAlive,
    published_at: week.pointer.published_at,
  };
}

/** Register the lookup route on `app` (before it is ready); returns its source. */
export function registerLookupRoutes(app: FastifyInstance, options: LookupRouteOptions): LookupSource {
  const logger = options.logger ?? silentLogger;
  const source = new LookupSource(options.storage, {
    pollMs: options.pollMs,
    cacheDir: options.cacheDir,
    onLoad: (event) => {
      if ("error" in event) logger.warn("customer lookup", { error: event.error });
      else logger.info("customer lookup serving week", event);
    },
  });
  // The first load runs in the background: a large week must not delay the models' readiness.
  app.addHook("onReady", async () => {
    void source.start();
  });
  app.addHook("onClose", async () => {
    await source.close();
  });
  app.get<{ Params: { id: string } }>(options.path ?? "/v1/customers/:id", async (request, reply) => {
    if (options.token !== undefined && !tokenMatches(request.headers.authorization, options.token)) {
      reply.header("www-authenticate", 'Bearer realm="customer lookup"');
      throw new LookupUnauthorizedError("the customer lookup needs `Authorization: Bearer <token>`");
    }
    // Fastify answers 414 to an id longer than its maxParamLength (100) before this runs.
    const id = request.params.id;
    if (id.length === 0) throw new UsageError("the path names no customer id: GET /v1/customers/{id}");
    const served = source.current();
    if (served.week === null) {
      if (!served.published) throw new NotFoundError(`no customer ${JSON.stringify(id)}: ${served.reason}`);
      reply.header("retry-after", "5");
      throw new TransientError(served.reason);
    }
    const answer = await source.read(async (week) => {
      const found = await week.index.find(id);
      if (!found)
        throw new NotFoundError(
          `no customer ${JSON.stringify(id)} in week ${week.pointer.stem}, the newest complete week`,
        );
      return customerAnswer(week, found);
    });
    if (answer === null) throw new TransientError("no week is loaded for the customer lookup");
    // Scores are personal data: no shared cache may keep them.
    reply.header("cache-control", "private, no-store");
    return answer;
  });
  return source;
}
