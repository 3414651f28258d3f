import { type ChampionPointer, promote } from "../../components/common/bundle/index.js";
import { UsageError } from "../../components/common/errors.js";
import { mirrorChampion } from "../../components/common/mlflow/sync.js";
import type { Storage } from "../../components/common/storage/index.js";
import { checkModelVersion, modelDecision } from "./models.js";

// Its own module, not re-exported by index.ts: the console's browser types
// import the query index, and the MLflow client is no browser code.

/** The champion pointer after a promote, with the MLflow mirror's line when one is configured. */
export type PromotedPointer = ChampionPointer & { mlflow?: string };

/**
 * The one promote rule of every surface (`churn models promote`, the
 * console's promote route): a model the quality gate refused (its stored
 * evaluation.json says keep-champion or refuse) becomes the champion only
 * when forced. Then the pointer moves and the MLflow mirror follows.
 * `forceHint` names how the caller forces ("Pass --force", "Send \"force\": true").
 */
export async function promoteModel(
  storage: Storage,
  version: string,
  options: { reason: string; force?: boolean; forceHint: string },
): Promise<PromotedPointer> {
  checkModelVersion(version);
  const decision = await modelDecision(storage, version);
  if (decision && decision.action !== "promote" && options.force !== true)
    throw new UsageError(
      `model ${version} was not promoted by the quality gate: ${decision.reason} ${options.forceHint} to make it the champion anyway.`,
    );
  const pointer = await promote(storage, version, options.reason);
  const mlflow = await mirrorChampion(storage);
  return mlflow ? { ...pointer, mlflow } : pointer;
}
