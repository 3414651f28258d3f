import { readChampion } from "../bundle/index.js";
import { type ChurnConfig, loadConfig } from "../config/index.js";
import { envValue } from "../environment.js";
import { CONFIG_OBJECT } from "../layout/index.js";
import type { Storage } from "../storage/index.js";
import { MlflowClient } from "./client.js";
import { MlflowMirror } from "./mirror.js";

/**
 * The MLflow tracking server: churn.yaml's `mlflow.tracking_uri`, else
 * MLFLOW_TRACKING_URI (the variable MLflow's own clients read), else none.
 */
export function trackingUri(config: ChurnConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  return config.mlflow.tracking_uri ?? envValue(env, "MLFLOW_TRACKING_URI") ?? null;
}

/**
 * After the champion pointer moved (promote, rollback): move the MLflow
 * `champion` alias to the same version when the bucket's churn.yaml sets
 * `mlflow.tracking_uri` (DESIGN: pointer first, then the mirror). Returns
 * what was done, or null when MLflow is not configured.
 */
export async function mirrorChampion(storage: Storage): Promise<string | null> {
  if (!(await storage.stat(CONFIG_OBJECT))) return null;
  const config = await loadConfig(storage);
  const uri = trackingUri(config);
  if (!uri) return null;
  const champion = await readChampion(storage);
  if (!champion) return null;
  const mirror = new MlflowMirror(new MlflowClient(uri), storage, config.mlflow.model_name);
  return mirror.setChampion(champion.pointer.version);
}
