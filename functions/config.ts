import { z } from "zod";

/**
 * The functions' deployment settings, from the environment (Terraform sets
 * them). Parsed when the first event arrives, never at import time (STYLE).
 */
export const functionsEnv = z.object({
  /**
   * The bucket URI to open for events. Unset: `gs://<event bucket>`. A
   * `gs://bucket/prefix` URI serves only that bucket; a `file:///path` URI
   * (local development, tests) serves whatever bucket name the event carries.
   */
  CHURN_BUCKET_URI: z.string().min(1).optional(),
  /** How onWeeklyUpload starts a run. */
  CHURN_LAUNCHER: z.enum(["local", "kubernetes"]).default("local"),
  /** Local launcher: the compiled churn CLI (default dist/cli/bin.js beside the functions). */
  CHURN_CLI: z.string().min(1).optional(),
  /** Local launcher: append the runner's output here. */
  CHURN_RUNNER_LOG: z.string().min(1).optional(),
  /** onModelPublished: POST here when the champion changes. */
  CHURN_MODEL_SERVER_RELOAD_URL: z.url().optional(),
  /** onModelPublished: `namespace/name` of the model server Deployment to roll. */
  CHURN_MODEL_SERVER_DEPLOYMENT: z
    .string()
    .regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, "want namespace/name")
    .optional(),
});
export type FunctionsEnv = z.output<typeof functionsEnv>;

/** Parse the environment; every problem named by variable. */
export function parseFunctionsEnv(env: NodeJS.ProcessEnv): FunctionsEnv {
  const result = functionsEnv.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`functions configuration: ${problems}`);
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
