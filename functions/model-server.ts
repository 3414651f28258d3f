import type { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { kubeFailure } from "./kube-errors.js";

/**
 * Tells the model server that `models/champion` changed. The server follows
 * the pointer (DESIGN), so rolling is only a nudge: both implementations are
 * idempotent for one version.
 */
export interface ModelServerRoller {
  /** Make the server pick up `version`; returns a short description of what was done. */
  roll(version: string): Promise<string>;
}

/** The pod-template annotation whose change makes Kubernetes roll the Deployment. */
export const CHAMPION_ANNOTATION = "churn.dev/champion";

/**
 * Rolls a Deployment by writing the champion version into its pod template
 * annotation (the `kubectl rollout restart` mechanism). Patching the same
 * version twice leaves the template unchanged, so a redelivered event starts
 * no second rollout.
 */
export class DeploymentAnnotationRoller implements ModelServerRoller {
  constructor(
    private readonly apps: Pick<AppsV1Api, "patchNamespacedDeployment">,
    private readonly namespace: string,
    private readonly deployment: string,
    /** The client's config, to name the cluster when the API server refuses (optional for tests). */
    private readonly kc?: KubeConfig,
  ) {}

  /**
   * Strategic-merge-patch the pod template annotation: one `patch` of one
   * named Deployment, all the chart's functions Role grants the model function.
   */
  async roll(version: string): Promise<string> {
    const { PatchStrategy, setHeaderOptions } = await import("@kubernetes/client-node");
    try {
      await this.apps.patchNamespacedDeployment(
        {
          name: this.deployment,
          namespace: this.namespace,
          body: { spec: { template: { metadata: { annotations: { [CHAMPION_ANNOTATION]: version } } } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      );
    } catch (error) {
      if (!this.kc) throw error;
      throw kubeFailure(
        error,
        this.kc,
        `patch Deployment ${this.namespace}/${this.deployment}`,
        "functions.model.user",
      );
    }
    return `patched deployment ${this.namespace}/${this.deployment} (${CHAMPION_ANNOTATION}=${version})`;
  }
}

/**
 * Rolls a model server outside Kubernetes through the V2 model repository
 * extension: `POST <base URL>/v2/repository/models/churn/load` (the server
 * loads models/champion now, without waiting for its next poll), with the
 * server's bearer token when one is set (`churn serve --token`).
 */
export class ModelServerLoadRoller implements ModelServerRoller {
  private readonly url: string;
  constructor(
    baseUrl: string,
    private readonly token?: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.url = `${baseUrl.replace(/\/+$/, "")}/v2/repository/models/churn/load`;
  }

  /** POST the load; a non-2xx answer is an error (the event is redelivered). */
  async roll(version: string): Promise<string> {
    const response = await this.fetchImpl(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: "{}",
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) {
      throw new Error(
        `load ${this.url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
    return `POST ${this.url} → ${response.status} (champion ${version})`;
  }
}
