import { BatchV1Api, type KubeConfig } from "@kubernetes/client-node";
import { TransientError, UsageError } from "../../../components/common/errors.js";
import { apiMessage, statusOf } from "./api-errors.js";

/**
 * Check the cluster before the first step, as kubectl would: a kubeconfig
 * with no cluster, a plain-HTTP server the client refuses, a cluster that
 * does not answer, or credentials it refuses. Without this the run started,
 * left an attempt behind and failed at its first Job with the client's own
 * words ("HTTP protocol is not allowed when skipTLSVerify is not set").
 * A wrong setup is exit 2; a cluster that does not answer is exit 1 (a retry may help).
 */
const CLIENT_FALLBACK_SERVER = "http://localhost:8080";

export async function checkCluster(kubeConfig: KubeConfig, namespace: string): Promise<void> {
  const cluster = kubeConfig.getCurrentCluster();
  const context = kubeConfig.getCurrentContext();
  // With no kubeconfig at all the client falls back to http://localhost:8080, which is no cluster anyone set up.
  if (!cluster?.server || cluster.server === CLIENT_FALLBACK_SERVER) {
    throw new UsageError(
      `no Kubernetes cluster to run on: no kubeconfig names one${context && context !== "loaded-context" ? ` (context "${context}")` : ""} (set KUBECONFIG or ~/.kube/config, check \`kubectl config current-context\`, or pass --in-cluster inside a pod)`,
    );
  }
  if (cluster.server.startsWith("http://") && !cluster.skipTLSVerify) {
    throw new UsageError(
      `the kubeconfig's cluster "${cluster.name}" is plain HTTP (${cluster.server}): the Kubernetes client refuses it unless the cluster sets insecure-skip-tls-verify: true; use the cluster's https:// address`,
    );
  }
  try {
    await kubeConfig.makeApiClient(BatchV1Api).listNamespacedJob({ namespace, limit: 1 });
  } catch (error) {
    const status = statusOf(error);
    if (status === 401 || status === 403)
      throw new UsageError(
        `the cluster at ${cluster.server} refused to list Jobs in namespace "${namespace}" (HTTP ${status}): ${apiMessage(error)} (the runner needs the chart's churn-runner Role there: create, get, watch and delete Jobs)`,
      );
    if (status === 404)
      throw new UsageError(
        `namespace "${namespace}" does not exist on the cluster at ${cluster.server} (create it, or set kubernetes.namespace / --namespace)`,
      );
    throw new TransientError(
      `the connection to the server ${cluster.server} failed - is the cluster running, and is the kubeconfig's address right? (${apiMessage(error)})`,
    );
  }
}
