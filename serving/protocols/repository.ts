import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { parseRequest } from "../../components/common/documents/parse.js";
import { ChurnError, NotFoundError } from "../../components/common/errors.js";
import { MODEL_NAMES, type ModelName } from "../core.js";

/**
 * The V2 model repository extension (as MLServer and Triton serve it):
 * `POST /v2/repository/index` lists the models and their state,
 * `POST /v2/repository/models/{name}/load` loads the named model from the
 * bucket now (what the model-published function calls outside Kubernetes),
 * `/unload` stops serving it until the next load. Behind the server's bearer
 * token when one is set (`churn serve --token`): these change what is served.
 */

/** What the repository routes need from the server (ModelServer implements it). */
export interface ModelRepository {
  /** Each model's state: READY (served), UNAVAILABLE (not loaded, with why) or UNLOADED (by request). */
  index(): RepositoryEntry[];
  /** Load the named model now; resolves once it is served, or rejects with why not. */
  loadModel(name: ModelName): Promise<void>;
  /** Stop serving the named model (polls no longer bring it back until the next load). */
  unloadModel(name: ModelName): void;
}

export interface RepositoryEntry {
  name: ModelName;
  version?: string;
  state: "READY" | "UNAVAILABLE" | "UNLOADED";
  reason: string;
}

export interface RepositoryOptions {
  repository: ModelRepository;
  /** Bearer token these routes require; undefined: none. */
  token?: string;
}

/** The request lacks the server's bearer token. */
export class UnauthorizedError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 401;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

// Bodies are optional; when present, validated like every other request (strict: a typo is a 400).
const indexBody = z.strictObject({ ready: z.boolean().optional() });
const modelBody = z.strictObject({ parameters: z.record(z.string(), z.unknown()).optional() });

function modelName(name: string): ModelName {
  if ((MODEL_NAMES as readonly string[]).includes(name)) return name as ModelName;
  throw new NotFoundError(`unknown model "${name}": this server serves ${MODEL_NAMES.join(", ")}`);
}

/** Register the repository routes. */
export async function repositoryRoutes(app: FastifyInstance, options: RepositoryOptions): Promise<void> {
  const { repository, token } = options;
  const config = { protocol: "v2" };
  if (token !== undefined) {
    app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
      if (!tokenMatches(request.headers.authorization, token)) {
        reply.header("www-authenticate", 'Bearer realm="churn-serving"');
        throw new UnauthorizedError(
          "the model repository needs the server's token: Authorization: Bearer <token>",
        );
      }
    });
  }

  app.post("/v2/repository/index", { config }, async (request) => {
    const body = parseRequest(
      indexBody,
      request.body === undefined ? {} : request.body,
      "repository index request",
    );
    const entries = repository.index();
    return body.ready === true ? entries.filter((e) => e.state === "READY") : entries;
  });

  app.post<{ Params: { name: string } }>("/v2/repository/models/:name/load", { config }, async (request) => {
    parseRequest(modelBody, request.body === undefined ? {} : request.body, "repository load request");
    await repository.loadModel(modelName(request.params.name));
    return {};
  });

  app.post<{ Params: { name: string } }>(
    "/v2/repository/models/:name/unload",
    { config },
    async (request) => {
      repository.unloadModel(modelName(request.params.name));
      return {};
    },
  );
}
