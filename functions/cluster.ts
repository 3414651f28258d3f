import { KubeConfig, type User } from "@kubernetes/client-node";
import {
  type AccessTokenSource,
  googleAccessTokenSource,
  RefreshingAccessToken,
  type RefreshOptions,
} from "./access-token.js";
import { type FunctionsEnv, gkeClusterOf } from "./config.js";

/** client-node's authenticator interface (not exported by name from the package index). */
type Authenticator = Parameters<KubeConfig["addAuthenticator"]>[0];

/** The kubeconfig auth-provider name the GKE config's user carries; only our authenticator answers to it. */
export const ACCESS_TOKEN_AUTH_PROVIDER = "churn-google-access-token";

/**
 * Puts the function's current access token on every request (API calls and
 * watches alike): client-node asks its authenticators for each request, so a
 * refreshed token is used as soon as it exists.
 */
class AccessTokenAuthenticator implements Authenticator {
  constructor(private readonly tokens: RefreshingAccessToken) {}

  isAuthProvider(user: User): boolean {
    return user?.authProvider?.name === ACCESS_TOKEN_AUTH_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: Parameters<Authenticator["applyAuthentication"]>[1]) {
    opts.headers = { ...opts.headers, Authorization: `Bearer ${await this.tokens.get()}` };
  }
}

export interface GkeCluster {
  /** `https://<endpoint>` of the control plane (the private endpoint for the module's cluster). */
  server: string;
  /** The cluster CA, base64 of PEM as GKE reports it (`masterAuth.clusterCaCertificate`). */
  caCertBase64: string;
}

/**
 * A Kubernetes client config for a GKE control plane as a Cloud Function sees
 * it: no kubeconfig and no in-cluster account, only the endpoint and CA that
 * Terraform puts in the function's settings, and Google access tokens of the
 * function's service account (GKE maps them to the user
 * `<account>@<project>.iam.gserviceaccount.com`, which the chart's RBAC binds).
 */
export function gkeKubeConfig(
  cluster: GkeCluster,
  source: AccessTokenSource,
  refresh: RefreshOptions = {},
): KubeConfig {
  const kc = new KubeConfig();
  kc.addAuthenticator(new AccessTokenAuthenticator(new RefreshingAccessToken(source, refresh)));
  kc.loadFromOptions({
    clusters: [{ name: "gke", server: cluster.server, caData: cluster.caCertBase64, skipTLSVerify: false }],
    users: [{ name: "function", authProvider: { name: ACCESS_TOKEN_AUTH_PROVIDER, config: {} } }],
    contexts: [{ name: "gke", cluster: "gke", user: "function" }],
    currentContext: "gke",
  });
  return kc;
}

/**
 * The functions' Kubernetes client config: GKE by endpoint, CA and access
 * token when CHURN_GKE_ENDPOINT is set (Cloud Functions); else the pod's
 * ServiceAccount in a cluster, or KUBECONFIG (local use, tests).
 */
export async function kubeConfigFromEnv(
  env: FunctionsEnv,
  options: { tokens?: AccessTokenSource; processEnv?: NodeJS.ProcessEnv } = {},
): Promise<KubeConfig> {
  const gke = gkeClusterOf(env);
  if (gke) return gkeKubeConfig(gke, options.tokens ?? googleAccessTokenSource());
  const processEnv = options.processEnv ?? process.env;
  const { loadKubeConfig } = await import("../pipelines/runner/kubernetes-driver.js");
  return loadKubeConfig({ inCluster: processEnv.KUBERNETES_SERVICE_HOST !== undefined, env: processEnv });
}
