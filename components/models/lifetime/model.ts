import { InputError } from "../../common/errors.js";
import { type BgNbdParams, bgnbdExpectedPurchases, bgnbdProbAlive } from "./bgnbd.js";
import type { CustomerHistory } from "./history.js";
import { type LifetimeModel, parseLifetimeModel } from "./params.js";

/**
 * The lifetime model as its consumers use it (the model server's `lifetime`
 * model, beside `InferenceModel` for churn): a stored BG/NBD document turned
 * into an object that predicts. Nothing here knows of HTTP or of where the
 * document was stored; `serving/lifetime-source.ts` finds and reads it.
 */

/** Unit of frequency's window, recency, T and the horizon. */
export type LifetimeTimeUnit = LifetimeModel["time_unit"];

export interface LifetimePrediction {
  /** P(alive | frequency, recency, T). */
  probAlive: number;
  /** Expected purchases in the next `horizon` time units. */
  expectedPurchases: number;
}

export interface LifetimeInferenceModel {
  name: "lifetime";
  /** model_version: the file name without `.json` (fit-lifetime names it by content hash). */
  version: string;
  params: BgNbdParams;
  timeUnit: LifetimeTimeUnit;
  /**
   * One prediction per history, in order. Values the formulas cannot give
   * (non-finite) are returned as they are: the caller knows how to name the
   * customer at fault.
   */
  predict(histories: readonly CustomerHistory[], horizon: number): LifetimePrediction[];
}

/** A BG/NBD model object from its fitted parameters. */
export function bgnbdInferenceModel(
  params: BgNbdParams,
  timeUnit: LifetimeTimeUnit,
  version: string,
): LifetimeInferenceModel {
  // A copy, so the served model cannot change under a request if the caller's object does.
  const p: BgNbdParams = { ...params };
  return {
    name: "lifetime",
    version,
    params: p,
    timeUnit,
    predict: (histories, horizon) =>
      histories.map((h) => ({
        probAlive: bgnbdProbAlive(p, h),
        expectedPurchases: bgnbdExpectedPurchases(p, horizon, h),
      })),
  };
}

/**
 * Parse a stored lifetime document (`object` names it in errors and gives the
 * version) into a model that predicts. Only BG/NBD: Pareto/NBD has no
 * conditional expected purchases here yet, so it is refused by name rather
 * than served with the wrong formulas.
 */
export function loadLifetimeModel(text: string, object: string): LifetimeInferenceModel {
  const doc = parseLifetimeModel(text, object);
  if (doc.model !== "bgnbd") {
    throw new InputError(`${object}: model "${doc.model}" is not served by /predict (only bgnbd)`);
  }
  const file = object.slice(object.lastIndexOf("/") + 1);
  return bgnbdInferenceModel(doc.params, doc.time_unit, file.replace(/\.json$/, ""));
}
