import { z } from "zod";
import { formatIssues } from "../components/common/documents/parse.js";

/**
 * The functions' deployment settings, from the environment (Terraform sets
 * them). Parsed when the first event arrives, never at import time (STYLE).
 */
const functionsEnvFields = z.object({
  /**
   * The bucket URI to open for events. Unset: `gs://<event bucket>`. A
   * `gs://bucket/prefix` URI serves only that bucket; a `file:///path` URI
   * (local development, tests) serves whatever bucket name the event carries.
   */
  CHURN_BUCKET_URI: z.string().min(1).optional(),
  /**
   * How onWeeklyUpload starts a run: a local process, the runner's driver Job
   * (kubernetes), an Argo Workflow of the compiled weekly pipeline (argo), or
   * a Vertex AI Pipelines job of its KFP pipeline spec (kfp).
   */
  CHURN_LAUNCHER: z.enum(["local", "kubernetes", "argo", "kfp"]).default("local"),
  /** kfp launcher: where the jobs go, `projects/<project>/locations/<region>`. */
  CHURN_VERTEX_PARENT: z
    .string()
    .regex(
      /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z]+-[a-z]+[0-9]+$/,
      "want projects/<project>/locations/<region>",
    )
    .optional(),
  /** kfp launcher: a gs:// folder for Vertex's own files of each job (its pipeline root). */
  CHURN_VERTEX_PIPELINE_ROOT: z
    .string()
    .regex(/^gs:\/\/[^/\s]+(\/\S*)?$/, "want gs://bucket[/folder]")
    .optional(),
  /** kfp launcher: the API base (default: the parent's regional endpoint; a private endpoint or a test server). */
  CHURN_VERTEX_ENDPOINT: z.url().optional(),
  /** kfp launcher: the Google service account the job's steps run as (default: Vertex's). */
  CHURN_VERTEX_SERVICE_ACCOUNT: z.email().optional(),
  /** Local launcher: the compiled churn CLI (default dist/cli/bin.js beside the functions). */
  CHURN_CLI: z.string().min(1).optional(),
  /** Local launcher: append the runner's output here. */
  CHURN_RUNNER_LOG: z.string().min(1).optional(),
  /**
   * onModelPublished outside Kubernetes: the model server's base URL
   * (`http://host:8080`); the function calls its V2 repository `load` of churn.
   */
  CHURN_MODEL_SERVER_URL: z.url().optional(),
  /** The model server's bearer token for the repository routes (`churn serve --token`), if set. */
  CHURN_MODEL_SERVER_TOKEN: z.string().min(1).optional(),
  /** onModelPublished: `namespace/name` of the model server Deployment to roll. */
  CHURN_MODEL_SERVER_DEPLOYMENT: z
    .string()
    .regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, "want namespace/name")
    .optional(),
  /**
   * GKE control plane the functions talk to with their service account's
   * access token (Terraform output `function_gke_env`): `https://<ip>` or a bare
   * address. Unset: the pod's ServiceAccount in a cluster, else KUBECONFIG.
   */
  CHURN_GKE_ENDPOINT: z
    .string()
    .regex(
      /^(https:\/\/)?[^\s/:]+(:\d{1,5})?\/?$/,
      "want an https:// URL or a host, e.g. https://172.16.0.34",
    )
    .optional(),
  /** The cluster CA: base64 of PEM, as GKE reports it (`master_auth[0].cluster_ca_certificate`). */
  CHURN_GKE_CA_CERT: z
    .string()
    .refine(
      (v) => decodeClusterCa(v) !== null,
      "want base64 of a PEM certificate (GKE's cluster_ca_certificate)",
    )
    .optional(),
});

/**
 * The endpoint and its CA come together; one without the other says which is
 * missing. The kfp launcher needs its parent and pipeline root.
 */
export const functionsEnv = functionsEnvFields.superRefine((env, ctx) => {
  if (env.CHURN_LAUNCHER === "kfp") {
    for (const name of ["CHURN_VERTEX_PARENT", "CHURN_VERTEX_PIPELINE_ROOT"] as const) {
      if (!env[name])
        ctx.addIssue({ code: "custom", path: [name], message: "required when CHURN_LAUNCHER is kfp" });
    }
  }
  const pair = ["CHURN_GKE_ENDPOINT", "CHURN_GKE_CA_CERT"] as const;
  for (const [name, other] of [pair, [pair[1], pair[0]]] as const) {
    if (env[name] && !env[other]) {
      ctx.addIssue({
        code: "custom",
        path: [other],
        message: `required when ${name} is set (both come from the Terraform output function_gke_env)`,
      });
    }
  }
});
export type FunctionsEnv = z.output<typeof functionsEnv>;

/** A cluster CA given as base64 of PEM, or null when it is not one. */
export function decodeClusterCa(value: string): string | null {
  const pem = Buffer.from(value.trim(), "base64").toString("utf8");
  return /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+-----END CERTIFICATE-----\s*$/.test(pem) ? pem : null;
}

/** The GKE control plane named by the environment (server URL and CA as base64), or null. */
export function gkeClusterOf(env: FunctionsEnv): { server: string; caCertBase64: string } | null {
  if (!env.CHURN_GKE_ENDPOINT || !env.CHURN_GKE_CA_CERT) return null;
  const host = env.CHURN_GKE_ENDPOINT.replace(/^https:\/\//, "").replace(/\/$/, "");
  return { server: `https://${host}`, caCertBase64: env.CHURN_GKE_CA_CERT.trim() };
}

/** Where runs go in Vertex AI Pipelines (the kfp launcher's CHURN_VERTEX_* settings). */
export interface VertexTarget {
  /** `projects/<project>/locations/<region>`. */
  parent: string;
  /** API base URL, e.g. `https://europe-west1-aiplatform.googleapis.com`. */
  endpoint: string;
  /** A gs:// folder for the engine's own files (the job's pipeline root). */
  pipelineRoot: string;
  /** The Google service account the job's steps run as; unset: Vertex's default. */
  serviceAccount?: string;
}

/** The regional API base of a `projects/<p>/locations/<region>` parent. */
function vertexEndpointOf(parent: string): string {
  const region = parent.split("/")[3];
  return `https://${region}-aiplatform.googleapis.com`;
}

/** The Vertex target named by the environment, or null when the parent or the pipeline root is unset. */
export function vertexTargetOf(env: FunctionsEnv): VertexTarget | null {
  const parent = env.CHURN_VERTEX_PARENT;
  const pipelineRoot = env.CHURN_VERTEX_PIPELINE_ROOT;
  if (!parent || !pipelineRoot) return null;
  return {
    parent,
    endpoint: env.CHURN_VERTEX_ENDPOINT?.replace(/\/$/, "") ?? vertexEndpointOf(parent),
    pipelineRoot,
    serviceAccount: env.CHURN_VERTEX_SERVICE_ACCOUNT,
  };
}

/** Parse the environment; every problem named by variable. */
export function parseFunctionsEnv(env: NodeJS.ProcessEnv): FunctionsEnv {
  const result = functionsEnv.safeParse(env);
  if (!result.success) {
    throw new Error(`functions configuration: ${formatIssues(result.error)}`);
  }
  return result.data;
}

/** The bucket URI an event's bucket maps to, or null when this deployment does not serve it. */
export function bucketUriFor(bucket: string, configured: string | undefined): string | null {
  if (!configured) return `gs://${bucket}`;
  if (configured.startsWith("gs://")) {
    const name = configured.slice("gs://".length).split("/")[0];
    return name === bucket ? configured.replace(/\/+$/, "") : null;
  }
  return configured;
}
