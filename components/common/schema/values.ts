/**
 * Strict cell parsers shared by schema inference and row conversion. Each
 * returns NaN (or undefined) for text that is not a value of its type, so a
 * caller can tell "missing" (handled before) from "wrong".
 */

/**
 * Parse a number strictly: decimal notation with optional sign, fraction and
 * exponent. `Number()` alone also accepts "0x1F", "Infinity", " " and "", so its
 * result is only trusted after a cheap check of the first and last characters.
 */
export function parseNumber(text: string, decimalComma = false): number {
  let s = text;
  const n = s.length;
  if (n === 0) return Number.NaN;
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(n - 1);
  // first: digit, sign or dot; last: digit or dot.
  if (!((first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46)) return Number.NaN;
  if (!((last >= 48 && last <= 57) || last === 46)) return Number.NaN;
  if (decimalComma) {
    if (s.includes(".")) {
      // "1.234,5": dots are thousands separators only in groups of three.
      if (!/^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$/.test(s)) return Number.NaN;
      s = s.replaceAll(".", "");
    }
    s = s.replace(",", ".");
  }
  // Hex, binary and octal prefixes ("0x", "0b", "0o").
  if (first === 48 && n > 2) {
    const second = s.charCodeAt(1);
    if (second > 57) return Number.NaN;
  }
  // "1e400" overflows to Infinity, which no model can use: it is no number of the data.
  const value = +s;
  return Number.isFinite(value) ? value : Number.NaN;
}

const TRUE_WORDS = new Set(["true", "yes", "y", "t"]);
const FALSE_WORDS = new Set(["false", "no", "n", "f"]);

/** 1 for a true word, 0 for a false word (case-insensitive), undefined otherwise. */
export function booleanWord(text: string): 1 | 0 | undefined {
  const lower = text.toLowerCase();
  if (TRUE_WORDS.has(lower)) return 1;
  if (FALSE_WORDS.has(lower)) return 0;
  return undefined;
}

interface DateFormat {
  name: string;
  pattern: RegExp;
  /** [year, month, day] capture group indexes; time groups follow when present. */
  order: [number, number, number];
}

/** Date formats recognised by inference, most specific first. Ambiguous D/M orders are left out. */
export const DATE_FORMATS: DateFormat[] = [
  {
    name: "YYYY-MM-DDTHH:MM:SS",
    pattern: /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/,
    order: [1, 2, 3],
  },
  { name: "YYYY-MM-DD", pattern: /^(\d{4})-(\d{2})-(\d{2})$/, order: [1, 2, 3] },
  { name: "YYYY/MM/DD", pattern: /^(\d{4})\/(\d{2})\/(\d{2})$/, order: [1, 2, 3] },
  { name: "DD.MM.YYYY", pattern: /^(\d{2})\.(\d{2})\.(\d{4})$/, order: [3, 2, 1] },
];

/** Parse a date in the named format to epoch milliseconds (UTC); NaN when it does not match or is invalid. */
export function parseDate(text: string, format: string): number {
  const f = DATE_FORMATS.find((candidate) => candidate.name === format);
  if (!f) return Number.NaN;
  const m = f.pattern.exec(text);
  if (!m) return Number.NaN;
  const year = Number(m[f.order[0]]);
  const month = Number(m[f.order[1]]);
  const day = Number(m[f.order[2]]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  if (f.name.includes("T")) {
    // Let the platform handle offsets; normalise the separator first.
    const ms = Date.parse(text.replace(" ", "T") + (m[7] ? "" : "Z"));
    return Number.isNaN(ms) ? Number.NaN : ms;
  }
  const ms = Date.UTC(year, month - 1, day);
  // Reject 2023-02-31 and friends (Date.UTC rolls them over).
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return Number.NaN;
  return ms;
}

/** The first date format every sample value matches, or undefined. */
export function detectDateFormat(values: string[]): string | undefined {
  if (values.length === 0) return undefined;
  for (const f of DATE_FORMATS) {
    if (values.every((v) => !Number.isNaN(parseDate(v, f.name)))) return f.name;
  }
  return undefined;
}
