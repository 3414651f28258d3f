import type { ChurnConfig } from "../../components/common/config/index.js";
import { packageVersion } from "../../components/common/version.js";
import { containerSecurityContext, podSecurityContext } from "../runner/kubernetes/pod-template.js";

/** What a compiled pipeline needs besides the pipeline definition (churn.yaml's `kubernetes` section). */
export interface CompileSettings {
  /** The project image every task runs (its entrypoint is `churn`). */
  image: string;
  namespace: string;
  /** The ServiceAccount the pods run as (Argo: the Workflow's; KFP: the run's, set at submit). */
  serviceAccount: string;
  /** This build's version, recorded in the compiled document. */
  version: string;
  /** The CronWorkflow's schedule (cron syntax, the cluster's time zone unless `timezone`). */
  schedule: string;
  timezone?: string;
}

/** The pod security of our Jobs, the same for every engine (one rule: the runner's pod template). */
export const podSecurity = () => {
  const pod = podSecurityContext();
  return { ...pod, runAsUser: pod.runAsUser!, runAsGroup: pod.runAsGroup! };
};
export const containerSecurity = containerSecurityContext;

/** The weekly files arrive on Monday mornings in the seeds; the cluster's time zone unless `timezone`. */
export const DEFAULT_SCHEDULE = "0 6 * * 1";

/** Settings from churn.yaml's `kubernetes` section, each overridable (the CLI's flags). */
export function compileSettingsOf(
  kubernetes: ChurnConfig["kubernetes"],
  overrides: Partial<CompileSettings> = {},
): CompileSettings {
  return {
    image: overrides.image ?? kubernetes.image,
    namespace: overrides.namespace ?? kubernetes.namespace,
    serviceAccount: overrides.serviceAccount ?? kubernetes.service_account,
    version: overrides.version ?? packageVersion(),
    schedule: overrides.schedule ?? DEFAULT_SCHEDULE,
    timezone: overrides.timezone,
  };
}
