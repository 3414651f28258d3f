import type { ObjectInfo } from "../storage/types.js";
import { WEEKLY_PREFIX } from "./names.js";
import { isCsvName, objectStemProblem, stemOf } from "./stem.js";
import { writerOf } from "./writer.js";

/**
 * THE trigger rule: which uploaded object starts a run. The cloud function,
 * `churn watch` and the runner's newest-file selection all ask this one
 * function, so they cannot disagree (they did: `weekly/a/b.csv`).
 *
 * An object starts a run when it is directly under the trigger prefix
 * (`weekly/`, or `transactions/` for the lifetime pipeline), has a CSV name
 * (`.csv` / `.csv.gz`, any case), was not written by the system (no
 * `churn-writer` metadata), and its name gives a valid stem.
 */

/** Which part of the rule an object breaks, checked in this order (cheapest and most common first). */
export type TriggerRule = "outside" | "subfolder" | "not-csv" | "system-written" | "stem";

/** Why an object starts no run: the rule it breaks and one sentence for logs and errors. */
export interface TriggerRefusal {
  rule: TriggerRule;
  reason: string;
}

/** The object fields the rule looks at: its name and its custom metadata. */
export type TriggerCandidate = Pick<ObjectInfo, "name" | "metadata">;

/** The name-only part of the rule (prefix, folder depth, CSV name, stem); metadata is not looked at. */
export function triggerNameProblem(name: string, prefix = WEEKLY_PREFIX): TriggerRefusal | null {
  return shapeProblem(name, prefix) ?? stemRefusal(name);
}

/**
 * Why an object starts no run, or null when it starts one. Pure: decided
 * from the name and metadata alone, no storage calls (Eventarc delivers
 * every write in the bucket, mostly our own).
 */
export function triggerProblem(object: TriggerCandidate, prefix = WEEKLY_PREFIX): TriggerRefusal | null {
  const shape = shapeProblem(object.name, prefix);
  if (shape) return shape;
  const writer = writerOf(object.metadata);
  if (writer !== undefined)
    return { rule: "system-written", reason: `written by the system (churn-writer: ${writer})` };
  return stemRefusal(object.name);
}

/** True when an uploaded object starts a run of the pipeline whose trigger prefix is `prefix`. */
export function isTrigger(object: TriggerCandidate, prefix = WEEKLY_PREFIX): boolean {
  return triggerProblem(object, prefix) === null;
}

/** The stem of a triggering object (`weekly/2026-W48.csv.gz` → `2026-W48`), or null when it is none by name. */
export function triggerStem(name: string, prefix = WEEKLY_PREFIX): string | null {
  return triggerNameProblem(name, prefix) === null ? stemOf(name) : null;
}

/**
 * Of the objects under a trigger prefix, the ones a run could be for by the
 * rule, newest upload first (name breaks ties, so the choice is stable).
 * Objects refused only for their stem are kept, marked: a person who names
 * or newly uploads such a file is told why it cannot run rather than
 * silently getting an older week.
 */
export function triggerCandidates<T extends ObjectInfo>(
  objects: readonly T[],
  prefix = WEEKLY_PREFIX,
): Array<{ object: T; refusal: TriggerRefusal | null }> {
  return objects
    .map((object) => ({ object, refusal: triggerProblem(object, prefix) }))
    .filter(({ refusal }) => refusal === null || refusal.rule === "stem")
    .sort(
      (a, b) =>
        b.object.updated.getTime() - a.object.updated.getTime() || b.object.name.localeCompare(a.object.name),
    );
}

function shapeProblem(name: string, prefix: string): TriggerRefusal | null {
  if (!name.startsWith(prefix)) return { rule: "outside", reason: `outside ${prefix}` };
  if (name.slice(prefix.length).includes("/"))
    return { rule: "subfolder", reason: `in a subfolder of ${prefix}` };
  if (!isCsvName(name)) return { rule: "not-csv", reason: "not a .csv or .csv.gz file" };
  return null;
}

function stemRefusal(name: string): TriggerRefusal | null {
  const problem = objectStemProblem(name);
  return problem === null ? null : { rule: "stem", reason: problem };
}
