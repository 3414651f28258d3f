import { UsageError } from "../errors.js";
import type { ComponentSpec } from "./spec.js";

/**
 * Component name -> lazy loader of its spec. Lazy so `churn component ingest`
 * never loads the training code. Add one line per component.
 */
const LOADERS: Record<string, () => Promise<ComponentSpec>> = {
  ingest: async () => (await import("../../ingest/spec.js")).ingestComponent as unknown as ComponentSpec,
  report: async () => (await import("../../report/spec.js")).reportComponent as unknown as ComponentSpec,
  publish: async () => (await import("../../publish/spec.js")).publishComponent as unknown as ComponentSpec,
  feature: async () => (await import("../../feature/spec.js")).featureComponent as unknown as ComponentSpec,
  train: async () => (await import("../../train/spec.js")).trainComponent as unknown as ComponentSpec,
  evaluate: async () =>
    (await import("../../evaluate/spec.js")).evaluateComponent as unknown as ComponentSpec,
  promote: async () => (await import("../../promote/spec.js")).promoteComponent as unknown as ComponentSpec,
  score: async () => (await import("../../score/spec.js")).scoreComponent as unknown as ComponentSpec,
  "ingest-transactions": async () =>
    (await import("../../lifetime/spec.js")).ingestTransactionsComponent as unknown as ComponentSpec,
  rfm: async () => (await import("../../lifetime/spec.js")).rfmComponent as unknown as ComponentSpec,
  "fit-lifetime": async () =>
    (await import("../../lifetime/spec.js")).fitLifetimeComponent as unknown as ComponentSpec,
  "score-lifetime": async () =>
    (await import("../../lifetime/spec.js")).scoreLifetimeComponent as unknown as ComponentSpec,
  "join-labels": async () =>
    (await import("../../monitor/spec.js")).joinLabelsComponent as unknown as ComponentSpec,
  "retrain-triggers": async () =>
    (await import("../../monitor/spec.js")).retrainTriggersComponent as unknown as ComponentSpec,
  "merge-scores": async () =>
    (await import("../../merge-scores/spec.js")).mergeScoresComponent as unknown as ComponentSpec,
};

/** Names of every registered component. */
export function componentNames(): string[] {
  return Object.keys(LOADERS).sort();
}

/** Register a component loader (for components living outside this list, and tests). */
export function registerComponent(name: string, load: () => Promise<ComponentSpec>): void {
  LOADERS[name] = load;
}

/** Load a component's spec by name; UsageError naming the known ones when unknown. */
export async function loadComponent(name: string): Promise<ComponentSpec> {
  const load = LOADERS[name];
  if (!load) {
    throw new UsageError(`unknown component "${name}": known components are ${componentNames().join(", ")}`);
  }
  return load();
}
