import { canonicalJson, sha256Hex } from "../components/common/hash.js";

/** What started a run: one object (weekly or transactions file) or, for retrain, a set of objects. */
export interface TriggerObject {
  name: string;
  generation: string;
}

/**
 * DESIGN: run id = `r-` + the first 16 hex digits of sha256(pipeline name,
 * bucket, triggering object name, generation). For retrain the trigger is the
 * sorted set of input/ and labels/ objects. A valid Kubernetes name (≤ 63,
 * lowercase hex). `attempt` > 1 (from --force) adds a suffix.
 */
export function runIdFor(
  pipeline: string,
  bucketUri: string,
  trigger: TriggerObject | TriggerObject[],
  attempt = 1,
): string {
  const identity = Array.isArray(trigger)
    ? [
        pipeline,
        bucketUri,
        [...trigger].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, t.generation]),
      ]
    : [pipeline, bucketUri, trigger.name, trigger.generation];
  const base = `r-${sha256Hex(canonicalJson(identity)).slice(0, 16)}`;
  return attempt > 1 ? `${base}-a${attempt}` : base;
}

/** True when the text is a run id this system could have made. */
export function isRunId(text: string): boolean {
  return /^r-[0-9a-f]{16}(-a[0-9]+)?$/.test(text);
}
