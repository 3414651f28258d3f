import type { Component } from "./common/component/spec.js";
import { UsageError } from "./common/errors.js";

/**
 * Every component by name, as the step entry (`churn component <name>`) and
 * the runner find it. Loaders are lazy so `churn component ingest` never
 * loads the training code; each spec is declared with `defineComponent`, so
 * the erased `Component` needs no cast. Add one line per component.
 */
const LOADERS: Record<string, () => Promise<Component>> = {
  ingest: async () => (await import("./ingest/spec.js")).ingestComponent,
  report: async () => (await import("./report/spec.js")).reportComponent,
  publish: async () => (await import("./publish/spec.js")).publishComponent,
  feature: async () => (await import("./feature/spec.js")).featureComponent,
  train: async () => (await import("./train/spec.js")).trainComponent,
  evaluate: async () => (await import("./evaluate/spec.js")).evaluateComponent,
  promote: async () => (await import("./promote/spec.js")).promoteComponent,
  score: async () => (await import("./score/spec.js")).scoreComponent,
  "ingest-transactions": async () => (await import("./lifetime/spec.js")).ingestTransactionsComponent,
  rfm: async () => (await import("./lifetime/spec.js")).rfmComponent,
  "fit-lifetime": async () => (await import("./lifetime/spec.js")).fitLifetimeComponent,
  "score-lifetime": async () => (await import("./lifetime/spec.js")).scoreLifetimeComponent,
  "join-labels": async () => (await import("./monitor/spec.js")).joinLabelsComponent,
  "retrain-triggers": async () => (await import("./monitor/spec.js")).retrainTriggersComponent,
  "merge-scores": async () => (await import("./merge-scores/spec.js")).mergeScoresComponent,
  "contact-list": async () => (await import("./contact-list/spec.js")).contactListComponent,
};

/** Names of every registered component. */
export function componentNames(): string[] {
  return Object.keys(LOADERS).sort();
}

/** Load a component by name; a UsageError naming the known ones when unknown. */
export async function loadComponent(name: string): Promise<Component> {
  const load = LOADERS[name];
  if (!load) {
    throw new UsageError(`unknown component "${name}": known components are ${componentNames().join(", ")}`);
  }
  return load();
}
