import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  decodePredictRequest,
  decodeSingleRequest,
  encodeInvalidSingle,
  encodePredictResponse,
  encodeSingleResponse,
  InvalidSingleRequest,
  isBatchBody,
} from "../codecs/lifetime.js";
import { SeldonFormMessage } from "../content-types.js";
import type { InferenceCore } from "../core.js";
import { seldonPredict } from "./seldon.js";

/**
 * `POST /predict`: the seed's lifetime contract over the core's `lifetime`
 * model, in two forms told apart by the body. The seed's single customer
 * `{"frequency":30,"recency":100,"T":215}` answers in the seed's shape
 * `{"code":200,"status":"success","data":{"prob_alive":"0.99..",...}}`, and an
 * invalid one 422 with the seed's `{"INVALID REQUEST": body}` echo (not the
 * seed's 503: that status means "server down" to load balancers; 503 here
 * means only "no lifetime model loaded yet"). The batch form
 * `{"customers":[...]}` answers one prediction per customer and its errors
 * take the `{"error": "..."}` shape: 400 malformed, 422 out of the model's
 * domain. The lifetime model's V2 routes
 * are the generic ones of protocols/v2.ts.
 */
export interface PredictOptions {
  core: InferenceCore;
}

/** Register `POST /predict`. */
export async function predictRoutes(app: FastifyInstance, options: PredictOptions): Promise<void> {
  const { core } = options;
  app.post("/predict", { config: { form: true } }, async (request: FastifyRequest, reply: FastifyReply) => {
    // Seldon's microservice client posts its message as a form field to /predict: routed by the body.
    if (request.body instanceof SeldonFormMessage) return seldonPredict(core, request.body);
    // The model first: while none is loaded the answer is 503 whatever the body.
    const model = core.model("lifetime");
    if (isBatchBody(request.body)) {
      const { customers, horizon } = decodePredictRequest(request.body, core.limits.maxRows);
      const result = core.predict(customers, { horizon, version: model.version, field: "customers" });
      return encodePredictResponse(result.model, result.horizon, customers, result.predictions);
    }
    try {
      const { customers, horizon } = decodeSingleRequest(request.body);
      const result = core.predict(customers, { horizon, version: model.version, field: "body" });
      return encodeSingleResponse(result.model, result.horizon, result.predictions[0]!);
    } catch (error) {
      if (error instanceof InvalidSingleRequest) return reply.code(422).send(encodeInvalidSingle(error));
      throw error;
    }
  });
}
