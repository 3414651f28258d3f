/**
 * rejected.csv (DESIGN): one line per rejected row, `line, column, reason,
 * raw` (the first failing column; all reasons joined with `; `). Written by
 * ingest, the transactions reader and publish; read by the report and the console.
 */

/** The header line of every rejected.csv. */
export const REJECTED_HEADER = "line,column,reason,raw\n";

/** One rejected row as kept for summaries. */
export interface Reject {
  line: number;
  column: string;
  reason: string;
}

/** Reason kind for counting: the text before the first colon. */
export function reasonKind(reason: string): string {
  const colon = reason.indexOf(":");
  return colon < 0 ? reason : reason.slice(0, colon);
}
