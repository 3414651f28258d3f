import { BatchV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ChurnConfig } from "../components/common/config/index.js";
import { LABELS } from "../pipelines/runner/kubernetes/names.js";
import { kubeFailure } from "./kube-errors.js";
import type { LaunchRequest, LaunchResult, RunLauncher } from "./launcher.js";

/**
 * The cloud launcher: creates the run's in-cluster driver Job
 * (pipelines/runner/kubernetes-driver.ts), named from the run id, so a second
 * launch for one run gets 409 from the API server and is a success once a
 * `get` shows the Job there is this run's. Those two verbs are all the
 * chart's functions Role grants the weekly function. The client config is
 * either the GKE one (endpoint, CA, the function's access token:
 * functions/cluster.ts) or a kubeconfig.
 */
export class KubernetesLauncher implements RunLauncher {
  constructor(
    private readonly kc: KubeConfig,
    /** The bucket's churn.yaml kubernetes section (namespace, image, service account). */
    private readonly configFor: (bucketUri: string) => Promise<Pick<ChurnConfig, "kubernetes">>,
    /** Plain environment for the driver (e.g. STORAGE_EMULATOR_HOST in tests); never secrets. */
    private readonly env: Record<string, string> = {},
  ) {}

  /** Create the driver Job and return `namespace/name`. */
  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const { createDriverJob } = await import("../pipelines/runner/kubernetes-driver.js");
    const config = await this.configFor(request.bucketUri);
    const namespace = config.kubernetes.namespace;
    let result: Awaited<ReturnType<typeof createDriverJob>>;
    try {
      result = await createDriverJob(this.kc, {
        runId: request.runId,
        bucket: request.bucketUri,
        weekly: request.object,
        config,
        env: this.env,
      });
    } catch (error) {
      throw kubeFailure(
        error,
        this.kc,
        `create the driver Job of run ${request.runId} in namespace ${namespace}`,
        "functions.weekly.user",
      );
    }
    const handle = `${result.namespace}/${result.name}`;
    if (result.created) return { kind: "kubernetes-job", handle };
    await this.confirmSameRun(result.namespace, result.name, request.runId);
    return { kind: "kubernetes-job (already there)", handle };
  }

  /** A Job of the driver's name that belongs to another run would be a silent lost run: refuse it. */
  private async confirmSameRun(namespace: string, name: string, runId: string): Promise<void> {
    let labels: Record<string, string> | undefined;
    try {
      const job = await this.kc.makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace });
      labels = job.metadata?.labels;
    } catch (error) {
      throw kubeFailure(error, this.kc, `get Job ${namespace}/${name}`, "functions.weekly.user");
    }
    const owner = labels?.[LABELS.runId];
    if (owner !== runId) {
      throw new Error(
        `Job ${namespace}/${name} already exists but is labelled ${LABELS.runId}=${owner ?? "(none)"}, not run ${runId}`,
      );
    }
  }
}
