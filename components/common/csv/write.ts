/**
 * The one CSV quoting rule of every file the system writes (scores.csv,
 * rejected.csv, contact lists, console downloads): RFC 4180, a field is
 * quoted when it holds the delimiter, a double quote, CR or LF, and quotes
 * inside are doubled. The byte-level writer of scores.csv
 * (components/score/scores-csv.ts) applies the same rule to raw UTF-8 and is
 * tested against this function.
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
