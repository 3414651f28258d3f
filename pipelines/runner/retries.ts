/**
 * How often a step's failed attempt is retried when its definition sets no
 * `retries`: the local runner, the Kubernetes Jobs' backoffLimit and the
 * pipelines compiled for Kubeflow Pipelines and Argo all use this number.
 * Only exit 1 (a transient failure) is retried; 2 (bad input) and 3 (no
 * model) never are.
 */
export const DEFAULT_RETRIES = 2;
