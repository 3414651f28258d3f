import type { KubeConfig } from "@kubernetes/client-node";
import type { ChurnConfig } from "../components/common/config/index.js";
import type { LaunchRequest, LaunchResult, RunLauncher } from "./launcher.js";

/**
 * The cloud launcher: creates the run's in-cluster driver Job
 * (pipelines/runner/kubernetes-driver.ts), named from the run id, so a second
 * launch for one run gets 409 from the API server and is a success.
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
    const result = await createDriverJob(this.kc, {
      runId: request.runId,
      bucket: request.bucketUri,
      weekly: request.object,
      config: await this.configFor(request.bucketUri),
      env: this.env,
    });
    return {
      kind: result.created ? "kubernetes-job" : "kubernetes-job (already there)",
      handle: `${result.namespace}/${result.name}`,
    };
  }
}
