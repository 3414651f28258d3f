/**
 * The one CSV quoting rule of every file the system writes (scores.csv,
 * rejected.csv, contact lists, console downloads): RFC 4180, a field is
 * quoted when it holds the delimiter, a double quote, CR or LF, and quotes
 * inside are doubled. The byte-level writer of scores.csv
 * (components/score/scores-csv.ts) applies the same rule to raw UTF-8 and is
 * tested against this function.
 *
 * And the one spreadsheet formula guard of every CSV people open (scores.csv,
 * later contact lists; `publish.formula_guard` in churn.yaml): see guardFormula.
 */

/** A field as it goes into a CSV line, quoted only when it needs it. */
export function csvField(value: string, delimiter = ","): string {
  return needsQuotes(value, delimiter) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** True when a field must be quoted: it holds the delimiter, a quote, CR or LF. */
export function needsQuotes(value: string, delimiter = ","): boolean {
  return value.includes(delimiter) || /["\r\n]/.test(value);
}

/** One CSV line (with its newline) from text fields. */
export function csvLine(fields: readonly string[], delimiter = ","): string {
  return `${fields.map((f) => csvField(f, delimiter)).join(delimiter)}\n`;
}

/**
 * The first characters a spreadsheet may read as the start of a formula
 * (OWASP "CSV injection"): `=`, `+`, `-`, `@`, tab and carriage return. All
 * are ASCII, so in UTF-8 the first byte of a field is its first code unit:
 * the byte writer of scores.csv tests a byte with mayNeedFormulaGuard and
 * only then decodes the field for guardFormula.
 */
const FORMULA_LEADS = new Set(["=", "+", "-", "@", "\t", "\r"].map((c) => c.charCodeAt(0)));

/**
 * A number as a spreadsheet reads one (`-3.5`, `+1`, `1e-3`, `-0,5` with a
 * decimal comma): left alone, because a number cannot be a formula and
 * marketing sorts and sums these columns.
 */
const NUMBER = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$/;

/** True when a text whose first code unit is `code` may need the guard (the cheap test of the byte writer). */
export function mayNeedFormulaGuard(code: number): boolean {
  return FORMULA_LEADS.has(code);
}

/**
 * A text value made safe to open in a spreadsheet: a leading `'` when it
 * starts like a formula and is not a number (OWASP's advice; the spreadsheet
 * then shows the text as it is). Apply it to text values before quoting
 * (csvField), never to ids or to rows kept raw (rejected.csv's `raw`).
 */
export function guardFormula(text: string): string {
  if (text.length === 0 || !mayNeedFormulaGuard(text.charCodeAt(0)) || NUMBER.test(text)) return text;
  return `'${text}`;
}
