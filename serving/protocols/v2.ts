import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type ChurnError, messageOf, NotFoundError } from "../../components/common/errors.js";
import { decodeLifetimeInfer, encodeLifetimeInferResponse, lifetimeMetadata } from "../codecs/lifetime.js";
import {
  checkOutputs,
  decodeInferRequest,
  encodeExplainResponse,
  encodeInferResponse,
  modelMetadata,
} from "../codecs/v2.js";
import type { InferenceCore } from "../core.js";

/**
 * Open Inference Protocol V2 adapter (REST): health, server and model
 * metadata, infer, and explain (our extension, same request shape), for every
 * model of the core (`churn` and `lifetime`: each has its own codec). Thin: it
 * decodes, calls the core, encodes. Errors take the protocol's shape
 * `{"error": "..."}` through `encodeV2Error`, the one mapping for V2.
 */
export interface V2Options {
  core: InferenceCore;
  serverName: string;
  serverVersion: string;
  /** False while the server drains: readiness turns off before connections close. */
  accepting: () => boolean;
  /** The server's readiness rule (ModelServer.notReadyBecause): why it is not ready, or undefined. */
  notReadyBecause: () => string | undefined;
}

interface ModelParams {
  name: string;
  version?: string;
}

/** The one mapping from the error hierarchy to the V2 error shape. */
export function encodeV2Error(error: ChurnError): { error: string } {
  return { error: error.message };
}

/** Register the V2 routes on a Fastify instance. */
export async function v2Routes(app: FastifyInstance, options: V2Options): Promise<void> {
  const { core } = options;
  const config = { protocol: "v2" };

  app.get("/v2/health/live", { config }, async () => ({ live: true }));

  app.get("/v2/health/ready", { config }, async (_request, reply) => {
    const reason = options.notReadyBecause();
    // 200 means ready; 503 (with the reason) means not yet, which probes and load balancers read as "wait".
    return reason === undefined ? { ready: true } : reply.code(503).send({ ready: false, reason });
  });

  app.get("/v2", { config }, async () => ({
    name: options.serverName,
    version: options.serverVersion,
    extensions: ["explain"],
  }));

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const { name, version } = request.params;
    const model = core.model(name, version);
    return model.name === "lifetime"
      ? lifetimeMetadata(model, core.defaultHorizon(model))
      : modelMetadata(model);
  };
  app.get("/v2/models/:name", { config }, metadata);
  app.get("/v2/models/:name/versions/:version", { config }, metadata);

  const modelReady = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { name, version } = request.params;
    let reason: string | undefined;
    try {
      core.model(name, version);
      if (!options.accepting()) reason = "the server is shutting down";
    } catch (error) {
      // Unknown names and versions are a 404; a known model still loading is "not ready" (503).
      if (error instanceof NotFoundError) throw error;
      reason = messageOf(error);
    }
    return reason === undefined
      ? { name, ready: true }
      : reply.code(503).send({ name, ready: false, reason });
  };
  app.get("/v2/models/:name/ready", { config }, modelReady);
  app.get("/v2/models/:name/versions/:version/ready", { config }, modelReady);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const { name, version } = request.params;
    if (name === "lifetime") {
      // The model first: while none is loaded the answer is 503 whatever the body, as on /predict.
      const model = core.model("lifetime", version);
      const decoded = decodeInferRequest(request.body);
      const { customers, horizon } = decodeLifetimeInfer(decoded, core.limits.maxRows);
      const result = core.predict(customers, { horizon, version: model.version, field: "rows" });
      return encodeLifetimeInferResponse(result.model, result.horizon, result.predictions, decoded);
    }
    const decoded = decodeInferRequest(request.body);
    checkOutputs(decoded.outputs, name);
    // Reasons per row: parameters.reasons; none at all when the request asks for no reasons output.
    const wantsReasons =
      decoded.outputs === undefined || decoded.outputs.some((o) => o === "reasons" || o === "reason_codes");
    const reasons = wantsReasons ? decoded.parameters?.reasons : 0;
    const { model, scored } = core.score(name, decoded.rows, version, reasons);
    return encodeInferResponse(model, scored, decoded);
  };
  app.post("/v2/models/:name/infer", { config }, infer);
  app.post("/v2/models/:name/versions/:version/infer", { config }, infer);

  const explain = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const { name, version } = request.params;
    const decoded = decodeInferRequest(request.body);
    checkOutputs(decoded.outputs, name, true);
    const { model, explanations, features } = core.explain(name, decoded.rows, version);
    return encodeExplainResponse(model, explanations, features, decoded);
  };
  app.post("/v2/models/:name/explain", { config }, explain);
  app.post("/v2/models/:name/versions/:version/explain", { config }, explain);
}
