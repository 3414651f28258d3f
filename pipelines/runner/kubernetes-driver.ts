import { existsSync, readFileSync } from "node:fs";
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import type { ChurnConfig } from "../../components/common/config/index.js";
import { envValue } from "../../components/common/environment.js";
import { messageOf, UsageError } from "../../components/common/errors.js";
import { isStatus } from "./kubernetes/api-errors.js";
import { failurePolicy } from "./kubernetes/manifest.js";
import { jobName } from "./kubernetes/names.js";
import { podTemplate, runLabels } from "./kubernetes/pod-template.js";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * Kubernetes client config: in a pod, its ServiceAccount (`inCluster`);
 * otherwise the usual kubeconfig (KUBECONFIG or ~/.kube/config).
 * `podRoot` prefixes the in-cluster paths (the test node agent writes the
 * token under CHURN_TEST_POD_ROOT; unset in a real pod).
 */
export function loadKubeConfig(options: { inCluster: boolean; env?: NodeJS.ProcessEnv }): KubeConfig {
  const kc = new KubeConfig();
  if (options.inCluster) kc.loadFromCluster(options.env?.CHURN_TEST_POD_ROOT);
  else {
    try {
      kc.loadFromDefault();
    } catch (error) {
      // A KUBECONFIG naming a missing or broken file: the operator's to fix, not a retry's.
      throw new UsageError(
        `cannot read the kubeconfig (${envValue(options.env ?? process.env, "KUBECONFIG") ?? "~/.kube/config"}): ${messageOf(error)}`,
      );
    }
  }
  return kc;
}

/** The namespace a pod runs in (from its ServiceAccount mount), or null outside a cluster. */
export function inClusterNamespace(env: NodeJS.ProcessEnv = process.env): string | null {
  const file = `${env.CHURN_TEST_POD_ROOT ?? ""}${SERVICE_ACCOUNT_DIR}/namespace`;
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

export interface DriverJobRequest {
  runId: string;
  bucket: string;
  /** The weekly object that triggered the run, e.g. weekly/2024-W18.csv. */
  weekly: string;
  /** The bucket's churn.yaml (kubernetes.namespace, image, service_account). */
  config: Pick<ChurnConfig, "kubernetes">;
  /** Plain environment for the driver (e.g. STORAGE_EMULATOR_HOST); never secrets. */
  env?: Record<string, string>;
  /** Seconds the whole run may take. */
  activeDeadlineSeconds?: number;
}

/** The driver Job: `churn pipeline run weekly --runner kubernetes --in-cluster`, named from the run id. */
export function driverJob(request: DriverJobRequest): V1Job {
  const k = request.config.kubernetes;
  const identity = { runId: request.runId, pipeline: "weekly", step: "driver", role: "driver" as const };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: jobName(request.runId, "driver"), namespace: k.namespace, labels: runLabels(identity) },
    spec: {
      // The driver resumes a run from its lease and step records, so a retry is safe.
      backoffLimit: 3,
      activeDeadlineSeconds: request.activeDeadlineSeconds ?? 6 * 3600,
      ttlSecondsAfterFinished: 24 * 3600,
      podFailurePolicy: failurePolicy(),
      template: podTemplate({
        identity,
        image: k.image,
        serviceAccount: k.service_account,
        args: [
          "pipeline",
          "run",
          "weekly",
          "--bucket",
          request.bucket,
          "--weekly",
          request.weekly,
          "--runner",
          "kubernetes",
          "--in-cluster",
          "--namespace",
          k.namespace,
        ],
        env: Object.entries(request.env ?? {}).map(([name, value]) => ({ name, value })),
        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      }),
    },
  };
}

/**
 * Creates the driver Job for a run (what the cloud function does on an upload).
 * The name comes from the run id, so a duplicate event gets 409, which is success.
 */
export async function createDriverJob(
  kc: KubeConfig,
  request: DriverJobRequest,
): Promise<{ name: string; namespace: string; created: boolean }> {
  const body = driverJob(request);
  const name = body.metadata?.name ?? "";
  const namespace = request.config.kubernetes.namespace;
  try {
    await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body });
    return { name, namespace, created: true };
  } catch (error) {
    if (isStatus(error, 409)) return { name, namespace, created: false };
    throw error;
  }
}
