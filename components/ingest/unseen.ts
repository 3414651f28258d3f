import type { UNSEEN_CATEGORY_POLICIES } from "../common/config/schema.js";
import type { UnseenCategory } from "../common/profile/profile.js";
import { MAX_CATEGORIES } from "../common/schema/infer.js";
import type { ColumnSchema } from "../common/schema/types.js";
import type { StepWarning } from "../common/warnings.js";

/**
 * Category values of a weekly file that training never saw
 * (ingest.unseen_categories). The model scores them like a rare category, so
 * marketing should know their scores rest on less: they are counted per
 * feature column against the categories the training schema recorded, and
 * reported in summary.json, the report's data-quality section and as one
 * warning per column (`warn`); `reject` sends those rows to rejected.csv.
 * A column whose recorded categories hit the cap (MAX_CATEGORIES) is not
 * checked: its list is not the whole training set.
 */
export type UnseenPolicy = (typeof UNSEEN_CATEGORY_POLICIES)[number];

/** Values shown per column in the warning and the report. */
const EXAMPLES = 3;
/** Distinct unseen values counted per column (memory stays bounded for a column of free text). */
const MAX_COUNTED = 1000;

/** The warning code of unseen categories (components/common/warnings.ts). */
export const UNSEEN_CATEGORIES_CODE = "unseen-categories";

interface Tracked {
  known: Set<string>;
  rows: number;
  counts: Map<string, number>;
}

/** Counts unseen values of the training schema's category features while rows are converted. */
export class UnseenCategories {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    columns: readonly ColumnSchema[],
    readonly policy: UnseenPolicy,
  ) {
    for (const c of columns) {
      if (c.role !== "feature" || c.type !== "categorical" || !c.categories) continue;
      if (c.categories.length >= MAX_CATEGORIES) continue;
      this.tracked.set(c.name, { known: new Set(c.categories), rows: 0, counts: new Map() });
    }
  }

  /** The known values of a column, or null when it is not checked (the converter's per-row test). */
  knownOf(column: string): Set<string> | null {
    return this.tracked.get(column)?.known ?? null;
  }

  /** Count one row's value of `column` that is not among its known values. */
  count(column: string, value: string): void {
    const t = this.tracked.get(column)!;
    t.rows++;
    const n = t.counts.get(value);
    if (n !== undefined) t.counts.set(value, n + 1);
    else if (t.counts.size < MAX_COUNTED) t.counts.set(value, 1);
  }

  /** Per column with any unseen value, in schema order. */
  result(): UnseenCategory[] {
    const action = this.policy === "reject" ? "rejected" : "scored";
    return [...this.tracked.entries()]
      .filter(([, t]) => t.rows > 0)
      .map(([column, t]) => ({
        column,
        rows: t.rows,
        values: [...t.counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, EXAMPLES)
          .map(([v]) => v),
        action,
      }));
  }
}

/** The sentence of one column's unseen values, e.g. `Education_Level: 20 rows with values never seen in training ("PhD Candidate")`. */
export function unseenMessage(u: UnseenCategory): string {
  const values = u.values.map((v) => JSON.stringify(v)).join(", ");
  const what = u.action === "rejected" ? "; those rows are in rejected.csv" : "";
  return `${u.column}: ${u.rows} row${u.rows === 1 ? "" : "s"} with values never seen in training (${values})${what}`;
}

/** One warning per column (policy `warn` and `reject`; `score` only counts). */
export function unseenWarnings(unseen: readonly UnseenCategory[], policy: UnseenPolicy): StepWarning[] {
  if (policy === "score") return [];
  return unseen.map((u) => ({ code: UNSEEN_CATEGORIES_CODE, column: u.column, message: unseenMessage(u) }));
}
