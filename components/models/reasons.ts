import type { ColumnEncoder, RawValue } from "./features/transform.js";

/**
 * The one producer of reason text (DESIGN "scores.csv and contact-list.csv").
 * Every path that shows a reason (the score step in-process or in worker
 * threads, and the model server's V2, Seldon and batch answers) gets it from
 * `rowReasons` here, so scores.csv is byte-identical whichever path scored a
 * row. A reason is one sentence with one template:
 *   numbers     `<Label>: <value> (typical <median>)`   e.g. `Transactions in 12 months: 32 (typical 65)`
 *   categories  `<Label>: <value>`                      e.g. `Card category: Blue`
 * and only a contribution that raises this customer's risk (log-odds > 0)
 * becomes one, strongest first: a value that lowers the risk is never given
 * as a reason for it, so a row may have fewer than score.reasons reasons.
 * `reason_codes` keeps the machine form of the same reasons for CRM
 * integration: `Total_Trans_Ct:+0.84;Total_Revolving_Bal:+0.41`.
 */

/** churn.yaml `labels`: friendly names of columns, e.g. `{Total_Trans_Ct: "transactions in 12 months"}`. */
export type ColumnLabels = Readonly<Record<string, string>>;

/** The reasons of one row: sentences for people and their machine form. */
export interface RowReasons {
  texts: string[];
  /** `Column:+0.84;Other:+0.41` (same reasons, same order); "" when there are none. */
  codes: string;
}

/** A row without reasons (a tier outside score.reasons_for, or score.reasons 0). */
export const NO_REASONS: RowReasons = Object.freeze({ texts: [], codes: "" }) as RowReasons;

/** Separates the entries of `reason_codes`. */
export const REASON_CODE_SEPARATOR = ";";

/** The column of scores.csv and contact-list.csv holding the reasons' machine form. */
export const REASON_CODES_COLUMN = "reason_codes";

/** The reason columns of scores.csv and contact-list.csv: reason_1..k, then reason_codes. */
export function reasonColumns(reasons: number): string[] {
  const names: string[] = [];
  for (let r = 1; r <= reasons; r++) names.push(`reason_${r}`);
  names.push(REASON_CODES_COLUMN);
  return names;
}

/** True for the name of a reason sentence column (`reason_1`, `reason_2`, ...). */
export function isReasonColumn(name: string): boolean {
  return /^reason_[1-9]\d*$/.test(name);
}

/** The entries of a `reason_codes` value (the columns, in order, with their contributions). */
export function parseReasonCodes(text: string): Array<{ column: string; contribution: number }> {
  if (text === "") return [];
  // A leading `'` is the spreadsheet formula guard (a column name starting like a formula), not the name.
  if (text.startsWith("'")) text = text.slice(1);
  return text.split(REASON_CODE_SEPARATOR).map((entry) => {
    // The last `:` separates: a column name may hold one, a contribution never does.
    const at = entry.lastIndexOf(":");
    return { column: entry.slice(0, at), contribution: Number(entry.slice(at + 1)) };
  });
}

/** Significant digits of a number in a reason. */
const SIGNIFICANT_DIGITS = 4;

/**
 * A number as a reason shows it: at most 4 significant digits, never an
 * exponent, no trailing zeros (`32`, `65.5`, `1.235`, `34520`, `0.0001234`).
 * toPrecision is exactly specified by ECMAScript, so every engine and path
 * prints the same text (identity rule).
 */
export function formatReasonNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const text = value.toPrecision(SIGNIFICANT_DIGITS);
  if (Number(text) === 0) return "0";
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  // Without an exponent the text is exact; only trailing fraction zeros go.
  if (!match) return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  // toPrecision writes an exponent when it is below -6 or not below 4 digits: place the point by hand.
  const [, sign, lead, rest = "", exp] = match;
  const digits = `${lead}${rest}`;
  const point = 1 + Number(exp);
  const plain =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + (plain.includes(".") ? plain.replace(/\.?0+$/, "") : plain);
}

/** A contribution as `reason_codes` shows it: sign and two decimals of log-odds (`+0.84`). */
export function formatContribution(contribution: number): string {
  const text = contribution.toFixed(2);
  return contribution >= 0 ? `+${text}` : text;
}

/**
 * The label of a column in a reason: churn.yaml `labels` when given, else
 * the column name with underscores as spaces; the first letter capitalised.
 */
export function columnLabel(column: string, labels: ColumnLabels): string {
  const name = Object.hasOwn(labels, column) ? labels[column]! : column.replaceAll("_", " ");
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function isMissing(value: RawValue): boolean {
  return value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));
}

/** The text of a raw value in a reason (numbers through formatReasonNumber). */
function valueText(encoder: ColumnEncoder, value: RawValue): string {
  if (isMissing(value)) return "missing";
  if (typeof value === "string") return value;
  if (encoder.kind === "boolean") return value === 0 ? "no" : "yes";
  if (encoder.kind === "date") return new Date(value!).toISOString().slice(0, 10);
  return formatReasonNumber(value!);
}

/** The sentence of one reason: `<Label>: <value> (typical <median>)` for numbers, `<Label>: <value>` else. */
export function reasonSentence(encoder: ColumnEncoder, value: RawValue, labels: ColumnLabels): string {
  const text = `${columnLabel(encoder.column, labels)}: ${valueText(encoder, value)}`;
  // The median of the training rows (fitted with the feature transform): what "typical" means.
  if (encoder.kind === "numeric" && !isMissing(value))
    return `${text} (typical ${formatReasonNumber(encoder.stats.median)})`;
  return text;
}

/**
 * The reasons of one row from its per-source contributions (log-odds, in
 * `encoders` order): at most `k`, only contributions above 0, largest first
 * (ties in transform order, so the choice is stable).
 */
export function rowReasons(
  encoders: readonly ColumnEncoder[],
  bySource: ArrayLike<number>,
  value: (column: string) => RawValue,
  k: number,
  labels: ColumnLabels,
): RowReasons {
  if (k <= 0) return NO_REASONS;
  // Selection of the k largest positive ones without sorting every column (k is small).
  const chosen: number[] = [];
  for (let j = 0; j < encoders.length; j++) {
    const c = bySource[j]!;
    if (!(c > 0)) continue;
    let at = chosen.length;
    while (at > 0 && bySource[chosen[at - 1]!]! < c) at--;
    if (at >= k) continue;
    chosen.splice(at, 0, j);
    if (chosen.length > k) chosen.pop();
  }
  if (chosen.length === 0) return NO_REASONS;
  const texts: string[] = [];
  const codes: string[] = [];
  for (const j of chosen) {
    const encoder = encoders[j]!;
    texts.push(reasonSentence(encoder, value(encoder.column), labels));
    codes.push(`${encoder.column}:${formatContribution(bySource[j]!)}`);
  }
  return { texts, codes: codes.join(REASON_CODE_SEPARATOR) };
}
