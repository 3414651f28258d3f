import { loadConfig } from "../components/common/config/index.js";
import { createLogger } from "../components/common/log.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { bucketUriFor, parseFunctionsEnv, vertexTargetOf } from "./config.js";
import { LocalProcessLauncher, type RunLauncher } from "./launcher.js";
import type { ModelServerRoller } from "./model-server.js";
import type { ModelRegistryMirror } from "./on-model-published.js";
import { registerFunctions } from "./register.js";

/**
 * The deployed entry: `functions-framework --source dist/functions/main.js
 * --target onWeeklyUpload|onModelPublished --signature-type cloudevent`.
 * Clients are made from the environment on the first event.
 */

async function bucketOpener(): Promise<(bucket: string) => Promise<Storage | null>> {
  const env = parseFunctionsEnv(process.env);
  const cache = new Map<string, Promise<Storage>>();
  return async (bucket) => {
    const uri = bucketUriFor(bucket, env.CHURN_BUCKET_URI);
    if (!uri) return null;
    if (!cache.has(uri)) cache.set(uri, openStorage(uri));
    return cache.get(uri)!;
  };
}

async function launcherFromEnv(): Promise<RunLauncher> {
  const env = parseFunctionsEnv(process.env);
  if (env.CHURN_LAUNCHER === "argo") {
    const { kubeConfigFromEnv } = await import("./cluster.js");
    const { ArgoLauncher } = await import("./argo-launcher.js");
    return new ArgoLauncher(await kubeConfigFromEnv(env), async (uri) => loadConfig(await openStorage(uri)));
  }
  if (env.CHURN_LAUNCHER === "kfp") {
    const { VertexPipelinesLauncher } = await import("./vertex-launcher.js");
    const { googleAccessTokenSource, RefreshingAccessToken } = await import("./access-token.js");
    const target = vertexTargetOf(env);
    // parseFunctionsEnv refuses kfp without the parent and the pipeline root.
    if (!target) throw new Error("functions configuration: CHURN_LAUNCHER kfp needs its Vertex settings");
    const tokens = new RefreshingAccessToken(googleAccessTokenSource());
    return new VertexPipelinesLauncher(
      target,
      () => tokens.get(),
      async (uri) => loadConfig(await openStorage(uri)),
    );
  }
  if (env.CHURN_LAUNCHER === "kubernetes") {
    const { kubeConfigFromEnv } = await import("./cluster.js");
    const { KubernetesLauncher } = await import("./kubernetes-launcher.js");
    // GKE (Cloud Functions): endpoint, CA and the function's access token;
    // in a pod: its ServiceAccount; elsewhere: KUBECONFIG.
    const kc = await kubeConfigFromEnv(env);
    const passThrough: Record<string, string> = process.env.STORAGE_EMULATOR_HOST
      ? { STORAGE_EMULATOR_HOST: process.env.STORAGE_EMULATOR_HOST }
      : {};
    return new KubernetesLauncher(kc, async (uri) => loadConfig(await openStorage(uri)), passThrough);
  }
  return new LocalProcessLauncher({ cliPath: env.CHURN_CLI, logFile: env.CHURN_RUNNER_LOG });
}

async function rollerFromEnv(): Promise<ModelServerRoller | null> {
  const env = parseFunctionsEnv(process.env);
  const { DeploymentAnnotationRoller, ModelServerLoadRoller } = await import("./model-server.js");
  if (env.CHURN_MODEL_SERVER_DEPLOYMENT) {
    const { AppsV1Api } = await import("@kubernetes/client-node");
    const { kubeConfigFromEnv } = await import("./cluster.js");
    const kc = await kubeConfigFromEnv(env);
    const [namespace, name] = env.CHURN_MODEL_SERVER_DEPLOYMENT.split("/") as [string, string];
    return new DeploymentAnnotationRoller(kc.makeApiClient(AppsV1Api), namespace, name, kc);
  }
  if (env.CHURN_MODEL_SERVER_URL) {
    return new ModelServerLoadRoller(env.CHURN_MODEL_SERVER_URL, env.CHURN_MODEL_SERVER_TOKEN);
  }
  return null;
}

/** The MLflow mirror of a bucket whose churn.yaml sets mlflow.tracking_uri, else null. */
async function registryFor(storage: Storage): Promise<ModelRegistryMirror | null> {
  const config = await loadConfig(storage);
  if (!config.mlflow.tracking_uri) return null;
  const { MlflowClient, MlflowMirror } = await import("../components/common/mlflow/index.js");
  return new MlflowMirror(new MlflowClient(config.mlflow.tracking_uri), storage, config.mlflow.model_name);
}

const logger = createLogger({ json: true, fields: { service: "churn-functions" } });

registerFunctions({
  weekly: async () => ({ openBucket: await bucketOpener(), launcher: await launcherFromEnv(), logger }),
  model: async () => ({
    openBucket: await bucketOpener(),
    registryFor,
    roller: await rollerFromEnv(),
    logger,
  }),
});
