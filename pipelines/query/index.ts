/**
 * The one query library for runs, models and weeks: what `churn runs`,
 * `churn models` and the web console read, so they give the same answers.
 */
export * from "./documents.js";
export * from "./models.js";
export * from "./runs.js";
export * from "./weeks.js";
