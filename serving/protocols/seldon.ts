import type { FastifyInstance, FastifyRequest } from "fastify";
import { decodeSeldonRequest, encodeSeldonExplanation, encodeSeldonResponse } from "../codecs/seldon.js";
import { SeldonFormMessage } from "../content-types.js";
import type { InferenceCore } from "../core.js";

/**
 * Seldon Core v1 adapter: `POST /api/v1.0/predictions` and
 * `POST /api/v1.0/explain`, serving the `churn` model (a Seldon deployment
 * serves one model). Errors take Seldon's `{"status": {...}}` shape through
 * `encodeSeldonError` in the codec, the one mapping for v1.
 */
export interface SeldonOptions {
  core: InferenceCore;
}

const MODEL = "churn";

/** The message of a body, JSON or the `json=` field of Seldon's form-encoded microservice request. */
function messageOf(body: unknown): unknown {
  return body instanceof SeldonFormMessage ? body.message : body;
}

/** Seldon v1 predict of one request body (also what `/predict` answers for a Seldon form body). */
export function seldonPredict(core: InferenceCore, body: unknown) {
  const model = core.model(MODEL);
  const decoded = decodeSeldonRequest(messageOf(body), core.featureNames(model));
  const { model: used, scored } = core.score(MODEL, decoded.rows, model.version, decoded.reasons);
  return encodeSeldonResponse(used, scored, decoded.puid);
}

/** Register the Seldon v1 routes on a Fastify instance. */
export async function seldonRoutes(app: FastifyInstance, options: SeldonOptions): Promise<void> {
  const { core } = options;
  const config = { protocol: "seldon" };

  app.post("/api/v1.0/predictions", { config: { ...config, form: true } }, async (request: FastifyRequest) =>
    seldonPredict(core, request.body),
  );

  app.post("/api/v1.0/explain", { config }, async (request: FastifyRequest) => {
    const model = core.model(MODEL);
    const decoded = decodeSeldonRequest(request.body, core.featureNames(model));
    const { model: used, explanations, features } = core.explain(MODEL, decoded.rows, model.version);
    return encodeSeldonExplanation(used, explanations, features, decoded.puid);
  });
}
