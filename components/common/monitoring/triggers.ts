import type { RealisedWeek } from "./realised.js";

/**
 * Retraining triggers (churn.yaml `retrain`): which conditions hold after this
 * week, recorded in summary.json and the report step's run-record summary so
 * a reader sees why the next retrain happens (or why it should).
 */
export interface RetrainSettings {
  on_history_change: boolean;
  on_labels: boolean;
  max_psi: number | null;
  min_realised_roc_auc: number | null;
  max_model_age_weeks: number | null;
}

export interface TriggerState {
  trigger:
    | "history_changed"
    | "labels_arrived"
    | "psi_above_max"
    | "realised_roc_auc_below_min"
    | "model_too_old";
  /** null: not enabled in churn.yaml, or not knowable from this step. */
  fired: boolean | null;
  detail: string;
}

export interface TriggerInputs {
  settings: RetrainSettings;
  /** True when this run trained a new candidate (it differs from the champion it was compared with). */
  trainedThisRun: boolean | null;
  maxFeaturePsi: number | null;
  drifted: string[];
  arrived: RealisedWeek[];
  /** When the current champion became champion, or null without one. */
  championSince: Date | null;
  now: Date;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Evaluates every retraining trigger; `fired` lists the ones that hold. */
export function evaluateTriggers(input: TriggerInputs): { states: TriggerState[]; fired: string[] } {
  const s = input.settings;
  const states: TriggerState[] = [];
  states.push(historyChangedState(s, input.trainedThisRun));
  states.push({
    trigger: "labels_arrived",
    fired: s.on_labels ? input.arrived.length > 0 : null,
    detail: !s.on_labels
      ? "disabled (retrain.on_labels: false)"
      : input.arrived.length > 0
        ? `labels for ${input.arrived.map((w) => w.week).join(", ")}`
        : "no new labels",
  });
  states.push({
    trigger: "psi_above_max",
    fired: s.max_psi === null || input.maxFeaturePsi === null ? null : input.maxFeaturePsi > s.max_psi,
    detail:
      s.max_psi === null
        ? "disabled (retrain.max_psi: null)"
        : input.maxFeaturePsi === null
          ? "drift not measured"
          : `largest feature PSI ${input.maxFeaturePsi} vs max ${s.max_psi}${input.drifted.length ? ` (${input.drifted.join(", ")})` : ""}`,
  });
  const low = input.arrived.filter(
    (w) => s.min_realised_roc_auc !== null && w.roc_auc !== null && w.roc_auc < s.min_realised_roc_auc,
  );
  states.push({
    trigger: "realised_roc_auc_below_min",
    fired: s.min_realised_roc_auc === null ? null : low.length > 0,
    detail:
      s.min_realised_roc_auc === null
        ? "disabled (retrain.min_realised_roc_auc: null)"
        : input.arrived.length === 0
          ? "no new realised metrics"
          : input.arrived.map((w) => `${w.week}: ROC-AUC ${w.roc_auc ?? "n/a"}`).join(", ") +
            ` vs min ${s.min_realised_roc_auc}`,
  });
  const ageWeeks = input.championSince
    ? (input.now.getTime() - input.championSince.getTime()) / WEEK_MS
    : null;
  states.push({
    trigger: "model_too_old",
    fired: s.max_model_age_weeks === null || ageWeeks === null ? null : ageWeeks > s.max_model_age_weeks,
    detail:
      s.max_model_age_weeks === null
        ? "disabled (retrain.max_model_age_weeks: null)"
        : ageWeeks === null
          ? "no champion yet"
          : `champion for ${ageWeeks.toFixed(1)} weeks vs max ${s.max_model_age_weeks}`,
  });
  return { states, fired: states.filter((t) => t.fired === true).map((t) => t.trigger) };
}

/** The history_changed check: known only once evaluate has compared the trained candidate with the champion. */
export function historyChangedState(s: RetrainSettings, trainedThisRun: boolean | null): TriggerState {
  return {
    trigger: "history_changed",
    fired: s.on_history_change ? trainedThisRun : null,
    detail: !s.on_history_change
      ? "disabled (retrain.on_history_change: false)"
      : trainedThisRun === null
        ? "unknown (no evaluate decision)"
        : trainedThisRun
          ? "training data or code changed: a new candidate was trained and evaluated this run"
          : "training data unchanged: the trained model is the champion",
  };
}

/**
 * Triggers that force a retrain even when the training data is unchanged
 * (the cache would otherwise reuse the last model). History and label
 * changes need no forcing: they change the training data, so the content-hash
 * cache misses by itself.
 */
export const FORCING_TRIGGERS: readonly TriggerState["trigger"][] = [
  "psi_above_max",
  "realised_roc_auc_below_min",
  "model_too_old",
];

/** The fired triggers that ask the runner to bypass the train/evaluate cache. */
export function cacheBypassReasons(fired: readonly string[]): string[] {
  return fired.filter((t) => (FORCING_TRIGGERS as readonly string[]).includes(t));
}

/** Replace the history_changed check of pre-training states with the post-evaluate one; recompute `fired`. */
export function withHistoryChanged(
  states: TriggerState[],
  settings: RetrainSettings,
  trainedThisRun: boolean | null,
): { states: TriggerState[]; fired: string[] } {
  const updated = states.map((t) =>
    t.trigger === "history_changed" ? historyChangedState(settings, trainedThisRun) : t,
  );
  return { states: updated, fired: updated.filter((t) => t.fired === true).map((t) => t.trigger) };
}
