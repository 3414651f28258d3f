import { createHash } from "node:crypto";

/** Labels every object of a run carries (the same keys in the chart's selectors). */
export const LABELS = {
  runId: "churn.io/run-id",
  pipeline: "churn.io/pipeline",
  step: "churn.io/step",
} as const;

/** The step container's name (podFailurePolicy rules and pods/log refer to it). */
export const CONTAINER = "churn";

/** A valid DNS-1123 label (≤ 63 chars) from parts; over-long names keep a hash suffix so they stay unique. */
export function jobName(...parts: string[]): string {
  const raw = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (raw.length <= 63) return raw;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${raw.slice(0, 54).replace(/-$/, "")}-${hash}`;
}
