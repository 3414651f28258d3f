import { existsSync, readFileSync } from "node:fs";
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import type { ChurnConfig } from "../../components/common/config/index.js";
import { jobName, LABELS } from "./kubernetes.js";

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
  else kc.loadFromDefault();
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
  const name = jobName(request.runId, "driver");
  const labels = {
    [LABELS.runId]: request.runId,
    [LABELS.pipeline]: "weekly",
    [LABELS.step]: "driver",
    "app.kubernetes.io/name": "churn",
    "app.kubernetes.io/component": "driver",
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: k.namespace, labels },
    spec: {
      // The driver resumes a run from its lease and step records, so a retry is safe.
      backoffLimit: 3,
      activeDeadlineSeconds: request.activeDeadlineSeconds ?? 6 * 3600,
      ttlSecondsAfterFinished: 24 * 3600,
      podFailurePolicy: {
        rules: [
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
          { action: "FailJob", onExitCodes: { containerName: "churn", operator: "In", values: [2, 3] } },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: k.service_account,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            seccompProfile: { type: "RuntimeDefault" },
          },
          // The root filesystem is read-only: scratch space is an emptyDir.
          volumes: [{ name: "tmp", emptyDir: {} }],
          containers: [
            {
              name: "churn",
              image: k.image,
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
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
        },
      },
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
    if ((error as { code?: number }).code === 409) return { name, namespace, created: false };
    throw error;
  }
}
