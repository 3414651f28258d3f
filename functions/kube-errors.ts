import type { KubeConfig } from "@kubernetes/client-node";
import { apiMessage, statusOf } from "../pipelines/runner/kubernetes/api-errors.js";

/**
 * One sentence for a failed Kubernetes call from a function, naming the
 * cluster, what was attempted and, for the two answers a deployment mistake
 * causes, what to fix: 401 (GKE did not accept the token: the account lacks
 * the project role that lets it authenticate) and 403 (authenticated but not
 * allowed: the chart's functions RBAC does not bind this identity). Both are
 * still thrown as transient, so the event is redelivered once it is fixed.
 */
export function kubeFailure(
  error: unknown,
  kc: KubeConfig,
  doing: string,
  rbacValue: "functions.weekly.user" | "functions.model.user",
): Error {
  const server = kc.getCurrentCluster()?.server ?? "(no cluster)";
  const status = statusOf(error);
  const said = apiMessage(error);
  let hint = "";
  if (status === 401) {
    hint =
      "; the API server did not accept the function's credentials: on GKE its service account needs the " +
      "project role that carries container.clusters.get (Terraform grants it; see terraform/README.md)";
  } else if (status === 403) {
    hint = `; bind the function's identity in the chart's functions RBAC (helm value ${rbacValue}, from the Terraform output helm_values)`;
  }
  const code = status === undefined ? "" : ` (HTTP ${status})`;
  return new Error(`Kubernetes API at ${server} refused to ${doing}${code}: ${said}${hint}`, {
    cause: error,
  });
}
