import type { StoredBundle } from "../common/bundle/index.js";
import type { ComponentContext } from "../common/component/spec.js";
import { loadConfig } from "../common/config/index.js";
import { CONFIG_OBJECT } from "../common/layout/index.js";
import { MlflowClient, MlflowMirror, trackingUri } from "../common/mlflow/index.js";

/**
 * Mirror a promote step into MLflow when `mlflow.tracking_uri` is set: the
 * training run (params, metrics, evaluation report, bundle) and its model
 * version, then the `champion` alias after the bucket pointer moved (DESIGN:
 * pointer first, then the mirror). Without a tracking URI it does nothing.
 * Failures throw, so the step retries; every call is idempotent.
 */
export async function mirrorPromotion<P>(
  ctx: ComponentContext<P>,
  stored: StoredBundle,
  evaluation: Record<string, unknown>,
  champion: string | null,
): Promise<string[]> {
  // Component tests run promote on bare buckets; a pipeline always has churn.yaml.
  if (!(await ctx.storage.stat(CONFIG_OBJECT))) return [];
  const config = await loadConfig(ctx.storage);
  const uri = trackingUri(config);
  if (!uri) return [];
  const mirror = new MlflowMirror(new MlflowClient(uri), ctx.storage, config.mlflow.model_name);
  const done = [await mirror.registerBundle(ctx.storage, stored, { pipelineRun: ctx.run, evaluation })];
  if (champion) done.push(await mirror.setChampion(champion));
  for (const line of done) ctx.logger.info(`promote: ${line}`);
  return done;
}
