import { CoreV1Api, type KubeConfig, type V1OwnerReference } from "@kubernetes/client-node";
import { isStatus } from "./api-errors.js";
import { runOwnerConfigMap } from "./manifest.js";

/**
 * Creates the run's owner ConfigMap (runOwnerConfigMap) or finds the one a
 * previous driver of the same run made, and returns the reference every step
 * Job carries.
 */
export async function ensureRunOwner(
  core: CoreV1Api,
  namespace: string,
  runId: string,
  pipeline: string,
): Promise<V1OwnerReference> {
  let uid: string | undefined;
  try {
    uid = (await core.createNamespacedConfigMap({ namespace, body: runOwnerConfigMap(runId, pipeline) }))
      .metadata?.uid;
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
    uid = (await core.readNamespacedConfigMap({ name: runId, namespace })).metadata?.uid;
  }
  if (!uid) throw new Error(`ConfigMap ${namespace}/${runId} has no uid`);
  return { apiVersion: "v1", kind: "ConfigMap", name: runId, uid, blockOwnerDeletion: false };
}

/** Deletes a run's owner object; the garbage collector then removes its Jobs and their pods. */
export async function deleteRun(kubeConfig: KubeConfig, namespace: string, runId: string): Promise<boolean> {
  try {
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .deleteNamespacedConfigMap({ name: runId, namespace, propagationPolicy: "Background" });
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}
