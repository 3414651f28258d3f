import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { ChurnConfig } from "../components/common/config/index.js";
import { argoDocument, compileGraph, compileSettingsOf } from "../pipelines/compile/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { statusOf } from "../pipelines/runner/kubernetes/api-errors.js";
import { LABELS } from "../pipelines/runner/kubernetes/names.js";
import { kubeFailure } from "./kube-errors.js";
import type { LaunchRequest, LaunchResult, RunLauncher } from "./launcher.js";

const WORKFLOWS = { group: "argoproj.io", version: "v1alpha1", plural: "workflows" } as const;

/**
 * `CHURN_LAUNCHER=argo`: creates the run as an Argo Workflow (the weekly
 * pipeline compiled by pipelines/compile, the same document `churn pipeline
 * compile weekly --target argo` prints) named after the run id, so a second
 * launch for one run gets 409 from the API server and is a success once a
 * `get` shows the Workflow there is this run's: duplicate events give one
 * run, as with the driver Job of the kubernetes launcher.
 */
export class ArgoLauncher implements RunLauncher {
  constructor(
    private readonly kc: KubeConfig,
    /** The bucket's churn.yaml kubernetes section (namespace, image, service account). */
    private readonly configFor: (bucketUri: string) => Promise<Pick<ChurnConfig, "kubernetes">>,
  ) {}

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const { kubernetes } = await this.configFor(request.bucketUri);
    const namespace = kubernetes.namespace;
    const body = argoDocument(compileGraph(weeklyPipeline), compileSettingsOf(kubernetes), "workflow", {
      runId: request.runId,
      bucket: request.bucketUri,
      trigger: request.object,
    });
    const api = this.kc.makeApiClient(CustomObjectsApi);
    const handle = `${namespace}/${request.runId}`;
    try {
      await api.createNamespacedCustomObject({ ...WORKFLOWS, namespace, body });
      return { kind: "argo-workflow", handle };
    } catch (error) {
      if (statusOf(error) !== 409)
        throw kubeFailure(
          error,
          this.kc,
          `create the Argo Workflow of run ${request.runId} in namespace ${namespace}`,
          "functions.weekly.user",
        );
    }
    await this.confirmSameRun(api, namespace, request.runId);
    return { kind: "argo-workflow (already there)", handle };
  }

  /** A Workflow of the run's name labelled for another run would be a silent lost run: refuse it. */
  private async confirmSameRun(api: CustomObjectsApi, namespace: string, runId: string): Promise<void> {
    let labels: Record<string, string> | undefined;
    try {
      const existing = (await api.getNamespacedCustomObject({ ...WORKFLOWS, namespace, name: runId })) as {
        metadata?: { labels?: Record<string, string> };
      };
      labels = existing.metadata?.labels;
    } catch (error) {
      throw kubeFailure(error, this.kc, `get Workflow ${namespace}/${runId}`, "functions.weekly.user");
    }
    const owner = labels?.[LABELS.runId];
    if (owner !== runId)
      throw new Error(
        `Workflow ${namespace}/${runId} already exists but is labelled ${LABELS.runId}=${owner ?? "(none)"}, not run ${runId}`,
      );
  }
}
