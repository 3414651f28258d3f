import { CsvParser } from "../common/csv/parse.js";
import { DELIMITER_CANDIDATES, sniffDelimiter } from "../common/csv/sniff.js";
import type { ForgetIds } from "./ids.js";

/** How a CSV object names its customers. */
export interface CsvIdRule {
  /** Header names that hold the customer id, in order of preference (id_column, transactions.customer_column). */
  idColumns: string[];
  /** Use the first column when no header name matches (labels/<stem>.csv: id, label). */
  firstColumnIsId: boolean;
}

export interface CsvForgetResult {
  /** The rewritten text (latin1, as given), or null when nothing changed. */
  text: string | null;
  rowsRemoved: number;
  rowsKept: number;
  /** How rows were matched: by an id column (named), or by mentions anywhere in the row. */
  matchedBy: string;
}

/** Split one raw record into fields with any candidate delimiter: a rejected row's raw text has its source's delimiter. */
function anyFieldIsId(raw: string, ids: ForgetIds): boolean {
  for (const delimiter of DELIMITER_CANDIDATES) {
    let hit = false;
    const parser = new CsvParser(
      { delimiter, source: "raw" },
      (fields) => {
        if (fields.some((f) => ids.has(f))) hit = true;
      },
      () => {},
    );
    parser.push(raw);
    parser.end();
    if (hit) return true;
  }
  return false;
}

/**
 * Drop the rows of forgotten customers from CSV text (latin1: one character
 * per byte, so kept rows keep their exact bytes). With an id column, a row
 * goes when that column holds a forgotten id; without one (rejected.csv,
 * whose `raw` column is a whole source row), when any field of the row, or
 * of a field read as a row, is a forgotten id. The header always stays.
 */
export function forgetCsv(text: string, ids: ForgetIds, rule: CsvIdRule): CsvForgetResult {
  const bom = text.startsWith("\xEF\xBB\xBF") ? "\xEF\xBB\xBF" : "";
  const body = text.slice(bom.length);
  const firstBreak = body.indexOf("\n");
  const eol = firstBreak > 0 && body[firstBreak - 1] === "\r" ? "\r\n" : "\n";
  const delimiter = sniffDelimiter(body.slice(0, 65_536));
  let header: string[] | null = null;
  let headerRaw = "";
  let idIndex = -1;
  let matchedBy = "mentions";
  const kept: string[] = [];
  let removed = 0;
  const onHeader = (fields: string[]) => {
    header = [...fields];
    for (const name of rule.idColumns) {
      idIndex = header.findIndex((h) => h.trim() === name);
      if (idIndex >= 0) {
        matchedBy = `column ${name}`;
        return;
      }
    }
    if (rule.firstColumnIsId && header.length > 0) {
      idIndex = 0;
      matchedBy = `first column ${header[0]}`;
    }
  };
  const onRow = (raw: string, fields: string[] | null) => {
    let forget: boolean;
    if (idIndex >= 0 && fields && fields.length > idIndex) forget = ids.has(fields[idIndex]!);
    else {
      // A row the parser could not split, or a file without an id column (rejected.csv).
      const values = fields ?? [raw];
      forget = values.some((f) => ids.has(f) || anyFieldIsId(f, ids)) || ids.mentioned(raw);
    }
    if (forget) removed++;
    else kept.push(raw);
  };
  let parser: CsvParser | null = null;
  parser = new CsvParser(
    { delimiter, source: "csv" },
    (fields) => {
      if (header === null) {
        headerRaw = parser!.raw();
        onHeader(fields);
      } else onRow(parser!.raw(), fields);
    },
    () => {
      if (header === null) {
        headerRaw = parser!.raw();
        header = [];
      } else onRow(parser!.raw(), null);
    },
  );
  parser.push(body);
  parser.end();
  if (header === null) return { text: null, rowsRemoved: 0, rowsKept: 0, matchedBy: "none" };
  if (removed === 0) return { text: null, rowsRemoved: 0, rowsKept: kept.length, matchedBy };
  const trailing = /\r?\n$/.test(body) ? eol : "";
  const rows = kept.length > 0 ? eol + kept.join(eol) : "";
  return { text: bom + headerRaw + rows + trailing, rowsRemoved: removed, rowsKept: kept.length, matchedBy };
}
