import type {
  V1EnvFromSource,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodTemplateSpec,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { CONTAINER, LABELS } from "./names.js";

// Types only from the client: building a pod is pure, and the client takes ~0.4 s to import.

/**
 * The image's USER: nobody. Pinning the group too (not only the user) keeps
 * files written to the emptyDir out of root's group; the Helm chart's
 * `churn.podSecurityContext` says the same (test/kubernetes-runner.chart.test.ts
 * renders it and compares).
 */
const NOBODY = 65534;

/** Pod-level security: non-root, seccomp RuntimeDefault (PodSecurity "restricted"). */
export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NOBODY,
    runAsGroup: NOBODY,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * Container-level security: read-only root, no privilege escalation, no
 * capabilities; runAsNonRoot repeated so a container-level runAsUser added
 * later cannot silently override the pod's.
 */
export function containerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** What a pod of a run does: a step of the pipeline, or the driver that runs the steps. */
export type PodRole = "step" | "driver";

/** Which run, pipeline and step an object belongs to. */
export interface RunIdentity {
  runId: string;
  pipeline: string;
  step: string;
  role: PodRole;
}

/** The labels of a run's Job and of its pods (the chart's selectors use the same keys). */
export function runLabels(identity: RunIdentity): Record<string, string> {
  return {
    [LABELS.runId]: identity.runId,
    [LABELS.pipeline]: identity.pipeline,
    [LABELS.step]: identity.step,
    "app.kubernetes.io/name": "churn",
    "app.kubernetes.io/component": identity.role,
  };
}

/** A volume beyond the writable /tmp, with where the container mounts it. */
export interface ExtraVolume {
  volume: V1Volume;
  mount: V1VolumeMount;
}

/** What differs between churn pods: who they are, what they run, and with which environment and volumes. */
export interface PodTemplateRequest {
  identity: RunIdentity;
  /** The project image (its entrypoint is `churn`). */
  image: string;
  /** Unset: the cluster's default (IfNotPresent, or Always for `:latest`). */
  imagePullPolicy?: string;
  /** ServiceAccount the pod runs as; null or undefined = the namespace's default. */
  serviceAccount?: string | null;
  /** Arguments of `churn` (the entrypoint). */
  args: string[];
  env?: V1EnvVar[];
  envFrom?: V1EnvFromSource[];
  resources?: V1ResourceRequirements;
  volumes?: ExtraVolume[];
}

/**
 * The one pod every churn Job runs (step Jobs and the driver Job): one
 * container named CONTAINER, never restarted in place (the Job controller
 * retries), non-root and read-only with scratch space on an emptyDir at /tmp.
 */
export function podTemplate(request: PodTemplateRequest): V1PodTemplateSpec {
  const extra = request.volumes ?? [];
  const env = request.env ?? [];
  const envFrom = request.envFrom ?? [];
  return {
    metadata: { labels: runLabels(request.identity) },
    spec: {
      restartPolicy: "Never",
      serviceAccountName: request.serviceAccount ?? undefined,
      securityContext: podSecurityContext(),
      // The root filesystem is read-only: scratch space is an emptyDir.
      volumes: [{ name: "tmp", emptyDir: {} }, ...extra.map((e) => e.volume)],
      containers: [
        {
          name: CONTAINER,
          image: request.image,
          imagePullPolicy: request.imagePullPolicy,
          // The image's entrypoint is `churn`: no command.
          args: request.args,
          env: env.length ? env : undefined,
          envFrom: envFrom.length ? envFrom : undefined,
          resources: request.resources,
          volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...extra.map((e) => e.mount)],
          securityContext: containerSecurityContext(),
        },
      ],
    },
  };
}
