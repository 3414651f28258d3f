import type { FastifyInstance, FastifyRequest } from "fastify";
import { decodePredictRequest, encodePredictResponse } from "../codecs/lifetime.js";
import type { InferenceCore } from "../core.js";

/**
 * `POST /predict`: the seed's lifetime contract over the core's `lifetime`
 * model. Customers' (frequency, recency, T) in, P(alive) and expected
 * purchases over a horizon out. Thin: decode, `core.predict`, encode. Errors
 * take the `{"error": "..."}` shape (the server's default mapping, as V2):
 * 400 for a malformed message, 422 for values that break the model's
 * contract, 503 only while no model is loaded. The lifetime model's V2 routes
 * are the generic ones of protocols/v2.ts.
 */
export interface PredictOptions {
  core: InferenceCore;
}

/** Register `POST /predict`. */
export async function predictRoutes(app: FastifyInstance, options: PredictOptions): Promise<void> {
  const { core } = options;
  app.post("/predict", async (request: FastifyRequest) => {
    // The model first: while none is loaded the answer is 503 whatever the body.
    const model = core.model("lifetime");
    const { customers, horizon } = decodePredictRequest(request.body, core.limits.maxRows);
    const result = core.predict(customers, { horizon, version: model.version, field: "customers" });
    return encodePredictResponse(result.model, result.horizon, customers, result.predictions);
  });
}
