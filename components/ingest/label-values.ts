/**
 * The label column's values: the negative class guessed from the sample, and
 * the sentence for a label column that never holds the configured positive.
 */

/** Distinct non-positive label values counted for the wrong-positive message: a label has two. */
export const MAX_LABEL_VALUES = 20;

/** A value as messages quote it: at most 40 characters. */
export function short(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

/**
 * The sentence for a label column that never holds the configured positive
 * value: every value seen with its count, and the near match when there is one
 * (another letter case, extra spaces, one or two typos).
 */
export function wrongPositiveMessage(
  source: string,
  label: { column: string; positive: string },
  seen: ReadonlyMap<string, number>,
): string {
  const values = [...seen.entries()].sort((a, b) => b[1] - a[1]);
  const listed = values.map(([v, n]) => `"${short(v)}" (${n.toLocaleString("en-US")} rows)`).join(", ");
  const near = values.map(([v]) => v).find((v) => isNearMatch(v, label.positive));
  const hint = near
    ? `: did you mean label.positive: "${near}"?`
    : "; set label.positive in churn.yaml to one of them";
  return `${source}: the label column "${label.column}" never holds the positive value "${label.positive}"; values seen: ${listed}${hint}`;
}

/** Another letter case or spacing, or at most two edits apart: what a person mistyping a value does. */
function isNearMatch(value: string, wanted: string): boolean {
  const a = value.trim().toLowerCase();
  const b = wanted.trim().toLowerCase();
  return a === b || editDistance(a, b) <= Math.min(2, Math.floor(b.length / 4));
}

/** Levenshtein distance (two rows; labels are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}

/** The most frequent non-positive label value in the sample: the negative class. */
export function negativeFromSample(
  rows: string[][],
  index: number,
  positive: string,
  missing: string[],
): string | null {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const v = row[index];
    if (v === undefined || v === positive || v.trim() === "" || missing.includes(v)) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}
