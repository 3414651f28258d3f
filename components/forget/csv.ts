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

const SAMPLE_CHARS = 65_536;

/**
 * Drops the rows of forgotten customers from CSV text fed in chunks (latin1:
 * one character per byte, so kept rows keep their exact bytes), writing the
 * kept text through `emit` as it goes: memory stays at one chunk whatever the
 * file size. With an id column, a row goes when that column holds a forgotten
 * id; without one (rejected.csv, whose `raw` column is a whole source row),
 * when any field of the row, or of a field read as a row, is a forgotten id.
 * The header always stays; line ends follow the header's.
 */
export class CsvRowFilter {
  rowsRemoved = 0;
  rowsKept = 0;
  matchedBy = "none";
  private pending = "";
  private started = false;
  private parser: CsvParser | null = null;
  private header: string[] | null = null;
  private idIndex = -1;
  private eol = "\n";
  private lastChar = "";

  constructor(
    private readonly ids: ForgetIds,
    private readonly rule: CsvIdRule,
    private readonly emit: (text: string) => void = () => {},
    /** Forgotten ids seen in the id column (or in a row without one), latin1 form. */
    private readonly found: Set<string> = new Set(),
  ) {}

  /** Feed the next chunk of latin1 text. */
  push(chunk: string): void {
    if (chunk === "") return;
    this.lastChar = chunk[chunk.length - 1]!;
    if (this.started) {
      this.parser!.push(chunk);
      return;
    }
    // The delimiter and line end are sniffed from the first 64k characters.
    this.pending += chunk;
    if (this.pending.length >= SAMPLE_CHARS) this.start();
  }

  /** Signal the end of the text. */
  end(): void {
    if (!this.started) this.start();
    this.parser!.end();
    if (this.header !== null && (this.lastChar === "\n" || this.lastChar === "\r")) this.emit(this.eol);
  }

  private start(): void {
    this.started = true;
    let text = this.pending;
    this.pending = "";
    if (text.startsWith("\xEF\xBB\xBF")) {
      this.emit("\xEF\xBB\xBF");
      text = text.slice(3);
    }
    const firstBreak = text.indexOf("\n");
    this.eol = firstBreak > 0 && text[firstBreak - 1] === "\r" ? "\r\n" : "\n";
    const delimiter = sniffDelimiter(text.slice(0, SAMPLE_CHARS));
    let parser: CsvParser | null = null;
    parser = new CsvParser(
      { delimiter, source: "csv" },
      (fields) => this.record(parser!.raw(), fields),
      () => this.record(parser!.raw(), null),
    );
    this.parser = parser;
    parser.push(text);
  }

  private record(raw: string, fields: string[] | null): void {
    if (this.header === null) {
      this.header = fields ? [...fields] : [];
      this.findIdColumn(this.header);
      this.emit(raw);
      return;
    }
    const ids = this.ids;
    let forget: boolean;
    if (this.idIndex >= 0 && fields && fields.length > this.idIndex) {
      forget = ids.has(fields[this.idIndex]!);
      if (forget) this.found.add(fields[this.idIndex]!.trim());
    } else {
      // A row the parser could not split, or a file without an id column (rejected.csv).
      const values = fields ?? [raw];
      forget = values.some((f) => ids.has(f) || anyFieldIsId(f, ids)) || ids.mentioned(raw);
      if (forget) for (const [a, b] of ids.mentions(raw)) this.found.add(raw.slice(a, b));
    }
    if (forget) this.rowsRemoved++;
    else {
      this.rowsKept++;
      this.emit(this.eol + raw);
    }
  }

  private findIdColumn(header: string[]): void {
    this.matchedBy = "mentions";
    for (const name of this.rule.idColumns) {
      this.idIndex = header.findIndex((h) => h.trim() === name);
      if (this.idIndex >= 0) {
        this.matchedBy = `column ${name}`;
        return;
      }
    }
    if (this.rule.firstColumnIsId && header.length > 0) {
      this.idIndex = 0;
      this.matchedBy = `first column ${header[0]}`;
    }
  }
}

/** Drop the rows of forgotten customers from a whole CSV text (see CsvRowFilter); null text when nothing changes. */
export function forgetCsv(text: string, ids: ForgetIds, rule: CsvIdRule): CsvForgetResult {
  const out: string[] = [];
  const filter = new CsvRowFilter(ids, rule, (t) => out.push(t));
  filter.push(text);
  filter.end();
  return {
    text: filter.rowsRemoved > 0 ? out.join("") : null,
    rowsRemoved: filter.rowsRemoved,
    rowsKept: filter.rowsKept,
    matchedBy: filter.matchedBy,
  };
}
