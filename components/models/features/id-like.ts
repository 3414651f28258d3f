/**
 * The one id-like rule: a feature column is left out as "like an id" only
 * when it is unique (or nearly: distinct on `share` of rows) AND one of
 *   - its name looks like an id (`customer_id`, `CustomerID`, `EmployeeNumber`,
 *     `RowNumber`, `CLIENTNUM`, `uuid`, ...),
 *   - it is text (a string unique per row names the row, it measures nothing),
 *   - it increases with the row order (a row counter or a sequence number).
 * A continuous measure is never id-like: incomes and rates are often distinct
 * on 95% of rows (HR attrition's MonthlyIncome: 95.1% distinct whole numbers
 * in random order) and carry real signal, so uniqueness alone proves nothing;
 * non-integer numbers are never ids.
 */

/** Words that, as the last word of a column name, say the column names or numbers rows. */
const ID_WORDS = new Set([
  "id",
  "ids",
  "uuid",
  "guid",
  "key",
  "number",
  "num",
  "no",
  "nr",
  "index",
  "idx",
  "counter",
  "seq",
  "sequence",
]);
/** A one-word name that ends like an id (`CLIENTNUM`, `customerid`, `rownumber`): all one letter case. */
const GLUED_ID_NAME = /^(?:[a-z0-9]+|[A-Z0-9]+)$/;
const GLUED_ID_SUFFIX = /(?:id|num|number|uuid|guid|key)$/i;

/** A column's name split into lowercase words (`customerID` -> customer, id; `Row_Number` -> row, number). */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/** True when the column's name says it identifies or numbers rows. */
export function nameLooksLikeId(name: string): boolean {
  const words = nameWords(name);
  const last = words[words.length - 1];
  if (last === undefined) return false;
  if (ID_WORDS.has(last)) return true;
  return GLUED_ID_NAME.test(name) && GLUED_ID_SUFFIX.test(name) && name.length > 4;
}

/** Share of consecutive present values (row order) that increase: ~0.5 for a shuffled measure, ~1 for a counter. */
export function increasingShare(values: Float64Array): number {
  let pairs = 0;
  let up = 0;
  let previous = Number.NaN;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (Number.isFinite(previous)) {
      pairs++;
      if (v > previous) up++;
    }
    previous = v;
  }
  return pairs === 0 ? 0 : up / pairs;
}

/** A counter increases on (almost) every row; a shuffled measure on about half. */
const INCREASING_SHARE = 0.95;

/** Why a unique column is id-like, or null when it is kept. */
export type IdLikeReason = "name" | "text" | "row-order";

export interface IdLikeInput {
  name: string;
  /** Distinct non-missing values / rows. */
  distinctShare: number;
  /** The share at which a column counts as (nearly) unique. */
  uniqueShare: number;
  /** Numbers in row order (null for text). */
  numbers: Float64Array | null;
  /** Every present number is whole (numbers only). */
  integerValued: boolean;
}

/** The id-like decision for one column (see the module comment). */
export function idLikeReason(input: IdLikeInput): IdLikeReason | null {
  if (input.distinctShare < input.uniqueShare) return null;
  if (input.numbers === null) return "text";
  if (!input.integerValued) return null;
  if (nameLooksLikeId(input.name)) return "name";
  if (increasingShare(input.numbers) >= INCREASING_SHARE) return "row-order";
  return null;
}

/** The words a warning uses for each reason. */
export const ID_LIKE_REASON_TEXT: Record<IdLikeReason, string> = {
  name: "its name says it is an id",
  text: "a text value unique to almost every row names the row",
  "row-order": "it increases with the row order, like a row counter",
};
