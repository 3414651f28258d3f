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
