/**
 * Delimiter sniffing: the candidate that splits the first lines of the sample
 * into the same number (> 1) of fields most consistently wins; ties go to the
 * one giving more fields. Quotes are respected so `"a,b"` counts as one field.
 */
export const DELIMITER_CANDIDATES = [",", ";", "\t", "|"] as const;

/** Count fields per line for one delimiter over the sample's first lines (quote-aware). */
function fieldCounts(sample: string, delimiter: string, maxLines: number): number[] {
  const counts: number[] = [];
  let fields = 1;
  let inQuotes = false;
  const d = delimiter.charCodeAt(0);
  for (let i = 0; i < sample.length && counts.length < maxLines; i++) {
    const c = sample.charCodeAt(i);
    if (c === 34) inQuotes = !inQuotes;
    else if (!inQuotes && c === d) fields++;
    else if (!inQuotes && (c === 10 || c === 13)) {
      if (c === 13 && sample.charCodeAt(i + 1) === 10) i++;
      counts.push(fields);
      fields = 1;
    }
  }
  // A last line without a break counts only when the sample is the whole file.
  return counts.length > 0 ? counts : [fields];
}

/** Pick the delimiter of a CSV sample (the first few KB of text); "," when nothing fits. */
export function sniffDelimiter(sample: string, candidates: readonly string[] = DELIMITER_CANDIDATES): string {
  let best = ",";
  let bestScore = -1;
  for (const delimiter of candidates) {
    const counts = fieldCounts(sample, delimiter, 50);
    const header = counts[0]!;
    if (header < 2) continue;
    const consistent = counts.filter((c) => c === header).length / counts.length;
    // Consistency first, then more fields.
    const score = consistent * 1000 + Math.min(header, 999);
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

const COMMA_DECIMAL = /^[-+]?\d+,\d+$/;
const DOT_DECIMAL = /^[-+]?\d*\.\d+$/;

/**
 * Decide the decimal mark from sample rows: "," only when the file is not
 * comma-delimited and comma decimals outnumber dot decimals.
 */
export function sniffDecimal(rows: string[][], delimiter: string): "." | "," {
  if (delimiter === ",") return ".";
  let comma = 0;
  let dot = 0;
  for (const row of rows) {
    for (const value of row) {
      if (COMMA_DECIMAL.test(value)) comma++;
      else if (DOT_DECIMAL.test(value)) dot++;
    }
  }
  return comma > dot ? "," : ".";
}
