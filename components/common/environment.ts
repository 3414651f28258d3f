import { z } from "zod";
import { UsageError } from "./errors.js";

/**
 * Every environment variable the product reads, in one table: what it is
 * for, the rule its value must follow (checked when it is read, so a typo
 * fails with the variable's name instead of being ignored), and how `--help`
 * and the README list it. Flags win over variables; churn.yaml wins over
 * MLFLOW_TRACKING_URI. Variables read only by libraries (Google credentials,
 * the storage emulator, kubeconfig) are listed so people find them here too.
 */
interface Variable<T> {
  description: string;
  /** The rule in words, as `--help` shows it and errors quote it. */
  rule: string;
  schema: z.ZodType<T>;
}

const text = z.string().trim().min(1);
const url = z.url({ protocol: /^https?$/ });
const flag = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");

function variable<T>(description: string, rule: string, schema: z.ZodType<T>): Variable<T> {
  return { description, rule, schema };
}

export const ENVIRONMENT = {
  CHURN_BUCKET: variable("the bucket when --bucket is not given", "gs://bucket[/prefix] or a folder", text),
  CHURN_LEASE_TTL_MS: variable(
    "how long a run's lease lives without a heartbeat: a killed runner's run can be resumed this long after",
    "a whole number of milliseconds from 500 to 3600000 (default 30000)",
    z.coerce.number().int().min(500).max(3_600_000),
  ),
  CHURN_LOG_LEVEL: variable(
    "the lowest level of log lines written",
    "debug, info, warn or error (default info)",
    z.enum(["debug", "info", "warn", "error"]),
  ),
  CHURN_DEBUG: variable("print the stack trace of an unexpected error", "1 or 0", flag),
  CHURN_UI_TOKEN: variable(
    "bearer token for the console's change requests (churn ui --auth-token)",
    "at least 16 characters",
    z.string().min(16),
  ),
  CHURN_LOOKUP_TOKEN: variable(
    "bearer token the customer lookup (GET /v1/customers/{id} of churn serve) requires (churn serve --lookup-token)",
    "at least 16 characters",
    z.string().min(16),
  ),
  CHURN_SERVE_TOKEN: variable(
    "bearer token the model server's repository routes (load, unload, index) require (churn serve --token)",
    "at least 16 characters",
    z.string().min(16),
  ),
  CHURN_FORGET_KEY: variable(
    "secret key of the id hashes churn forget records instead of ids",
    "at least 16 characters",
    z.string().min(16),
  ),
  CHURN_PUSHGATEWAY_URL: variable(
    "Prometheus Pushgateway that receives each run's metrics",
    "an http(s) URL",
    url,
  ),
  CHURN_CODE_VERSION: variable(
    "the code version in cache keys (the image digest in the cluster; default: a hash of dist/)",
    "any text",
    text,
  ),
  MLFLOW_TRACKING_URI: variable(
    "MLflow tracking server that mirrors models and runs (churn.yaml mlflow.tracking_uri wins)",
    "an http(s) URL",
    url,
  ),
  GOOGLE_APPLICATION_CREDENTIALS: variable(
    "service-account key file for gs:// buckets (read by the Google client; default: application-default login)",
    "a file path",
    text,
  ),
  STORAGE_EMULATOR_HOST: variable(
    "talk to a Cloud Storage emulator instead of Google (host:port)",
    "host:port or an http URL",
    z.string(),
  ),
  KUBECONFIG: variable(
    "the cluster of --runner kubernetes (read by the Kubernetes client)",
    "a file path",
    text,
  ),
} satisfies Record<string, Variable<unknown>>;

export type EnvironmentName = keyof typeof ENVIRONMENT;
type ValueOf<N extends EnvironmentName> = (typeof ENVIRONMENT)[N] extends Variable<infer T> ? T : never;

/**
 * The typed value of a variable, or undefined when it is unset or empty. A
 * value that breaks the rule is a UsageError (exit 2) naming the variable.
 */
export function envValue<N extends EnvironmentName>(env: NodeJS.ProcessEnv, name: N): ValueOf<N> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const spec: Variable<unknown> = ENVIRONMENT[name];
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const shown = name.endsWith("_TOKEN") || name.endsWith("_KEY") ? `${raw.length} characters` : `"${raw}"`;
    throw new UsageError(`environment variable ${name} must be ${spec.rule}, got ${shown}`);
  }
  return parsed.data as ValueOf<N>;
}

/** The variables as `--help` and the README list them: name, what for, the rule. */
export function describeEnvironment(): string {
  const names = Object.keys(ENVIRONMENT) as EnvironmentName[];
  const width = Math.max(...names.map((n) => n.length));
  return names
    .map((name) => {
      const spec: Variable<unknown> = ENVIRONMENT[name];
      return `  ${name.padEnd(width)}  ${spec.description}; ${spec.rule}`;
    })
    .join("\n");
}
