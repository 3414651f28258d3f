import { InputError } from "../errors.js";

/**
 * A streaming CSV parser: a hand-written state machine over decoded string
 * chunks. Why our own rather than PapaParse or uDSV (both measured in
 * bench/ingest.ts): the data contract needs things those libraries do not give
 * cheaply in streaming mode: the 1-based source line of every record (quoted
 * newlines included), the raw text of a bad record for rejected.csv, and
 * per-record recovery from a broken quote (reject that row, resume at the next
 * line) instead of one quote swallowing the rest of the file. It is also at
 * least as fast: lines without quotes take a native `split` fast path, and
 * quoted fields are found with `indexOf`.
 *
 * Rules: RFC 4180 plus CRLF, lone CR, LF line ends; fields may be quoted with
 * `"` and quotes inside doubled; completely empty lines are skipped (they are
 * not rows). Memory: one chunk plus the current incomplete record.
 */
export interface ParserOptions {
  delimiter: string;
  /** Source name for error messages. */
  source: string;
  /**
   * A quoted field that spans lines and grows past this many characters without
   * closing is an unterminated quote: the file is unusable (InputError). Below
   * this, a quote still open at the end of the input is rewound: only the line
   * that opened it is rejected. This bound is what keeps memory flat.
   */
  maxQuotedChars?: number;
  /**
   * A physical line longer than this many characters is no CSV row (a binary
   * or one-line file, or line breaks the parser does not know): the file is
   * unusable (InputError). Without it such a file would be held in memory whole.
   */
  maxLineChars?: number;
}

/** Default of both bounds: 8 Mi characters, far beyond any real row, far below memory trouble. */
const DEFAULT_BOUND_CHARS = 8 * 1024 * 1024;

/** Receives each well-formed record; `fields` is only valid during the call. */
export type RecordHandler = (fields: string[], line: number) => void;
/** Receives each record the parser itself cannot read (quote errors); field is 0-based. */
export type BadRecordHandler = (line: number, field: number, reason: string) => void;

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * The fields of the line buf[start, end) when each of its quotes is either the
 * first or the last character of a field (`"Graduate"`, `""`), and no field
 * holds one anywhere else; null otherwise. Such a line is one record whose
 * quoted fields hold no delimiter, line break or doubled quote, so splitting
 * at delimiters and dropping the wrapping quotes is exactly what the full
 * parse gives. Files that quote every text field (BankChurners does) then
 * skip the character-by-character path, which was the largest part of ingest.
 */
function simplyQuoted(buf: string, start: number, end: number, d: string): string[] | null {
  const dc = d.charCodeAt(0);
  const fields: string[] = [];
  let i = start;
  let quote = buf.indexOf('"', start);
  for (;;) {
    if (i < end && buf.charCodeAt(i) === QUOTE) {
      const close = buf.indexOf('"', i + 1);
      // The closing quote must end the field: a delimiter or the line's end follows.
      if (close < 0 || close >= end || (close + 1 < end && buf.charCodeAt(close + 1) !== dc)) return null;
      fields.push(buf.slice(i + 1, close));
      quote = close + 1 < end ? buf.indexOf('"', close + 1) : -1;
      if (close + 1 >= end) return fields;
      i = close + 2;
      continue;
    }
    let j = buf.indexOf(d, i);
    if (j < 0 || j > end) j = end;
    // A quote inside an unquoted field: not a simple line.
    if (quote >= 0 && quote < j) return null;
    fields.push(buf.slice(i, j));
    if (j >= end) return fields;
    i = j + 1;
  }
}

export class CsvParser {
  private buf = "";
  private line = 1;
  private readonly d: string;
  private readonly dc: number;
  private readonly maxQuoted: number;
  private readonly maxLine: number;
  /** Start and end (exclusive, before the line break) of the current record in `buf`. */
  private recStart = 0;
  private recEnd = 0;
  /** Records handed out so far, good and bad. */
  records = 0;

  constructor(
    private readonly options: ParserOptions,
    private readonly onRecord: RecordHandler,
    private readonly onBad: BadRecordHandler,
  ) {
    if (options.delimiter.length !== 1) throw new Error("delimiter must be one character");
    this.d = options.delimiter;
    this.dc = options.delimiter.charCodeAt(0);
    this.maxQuoted = options.maxQuotedChars ?? DEFAULT_BOUND_CHARS;
    this.maxLine = options.maxLineChars ?? DEFAULT_BOUND_CHARS;
  }

  /** The raw text of the record being handed out (for rejected.csv); valid only inside a handler. */
  raw(): string {
    return this.buf.slice(this.recStart, this.recEnd);
  }

  /** Feed the next decoded chunk. */
  push(chunk: string): void {
    this.buf = this.buf.length === 0 ? chunk : this.buf + chunk;
    const consumed = this.run(false);
    this.buf = consumed === this.buf.length ? "" : this.buf.slice(consumed);
  }

  /** Signal the end of input; flushes the last record (which may lack a line break). */
  end(): void {
    this.run(true);
    this.buf = "";
  }

  /** Parse complete records in `buf`; returns how many characters were consumed. */
  private run(final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const d = this.d;
    let pos = 0;
    let nextQuote = -2;
    let nextCr = -2;
    while (pos < n) {
      // Skip empty lines.
      const c0 = buf.charCodeAt(pos);
      if (c0 === LF) {
        pos++;
        this.line++;
        continue;
      }
      if (c0 === CR) {
        if (pos + 1 >= n && !final) break;
        pos += buf.charCodeAt(pos + 1) === LF ? 2 : 1;
        this.line++;
        continue;
      }
      const nl = buf.indexOf("\n", pos);
      // Positions of the next quote and CR are remembered (-1: none left), so
      // each search covers the buffer once rather than once per record.
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buf.indexOf('"', pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = buf.indexOf("\r", pos);
      // A lone CR ends a line too: a CR-only file is many short lines, not one long one.
      if (Math.min(nl < 0 ? n : nl, nextCr < 0 ? n : nextCr) - pos > this.maxLine) this.tooLong();
      if (nl >= 0) {
        let end = nl;
        if (end > pos && buf.charCodeAt(end - 1) === CR) end--;
        if (nextCr < 0 || nextCr >= end) {
          // Fast path: a line without quotes is one record split at delimiters;
          // so is a line whose quotes only wrap whole fields (see simplyQuoted).
          const fields =
            nextQuote < 0 || nextQuote > nl ? buf.slice(pos, end).split(d) : simplyQuoted(buf, pos, end, d);
          if (fields !== null) {
            this.recStart = pos;
            this.recEnd = end;
            this.records++;
            this.onRecord(fields, this.line);
            this.line++;
            pos = nl + 1;
            continue;
          }
        }
      }
      const next = this.slowRecord(pos, final);
      if (next < 0) break;
      pos = next;
    }
    return pos;
  }

  /**
   * Parse one record that contains quotes (or ends the input) starting at `pos`.
   * Returns the position after it, or -1 when more input is needed.
   */
  private slowRecord(start: number, final: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const dc = this.dc;
    const fields: string[] = [];
    const startLine = this.line;
    let i = start;
    let lines = 0; // line breaks consumed inside quoted fields
    for (;;) {
      if (i < n && buf.charCodeAt(i) === QUOTE) {
        const open = i;
        let j = i + 1;
        let doubled = false;
        let close = -1;
        for (;;) {
          const q = buf.indexOf('"', j);
          if (q < 0) break;
          if (q + 1 < n && buf.charCodeAt(q + 1) === QUOTE) {
            doubled = true;
            j = q + 2;
            continue;
          }
          if (q + 1 >= n && !final) break; // could be the first half of a doubled quote
          close = q;
          break;
        }
        const firstBreak = firstLineBreak(buf, open + 1, close < 0 ? n : close);
        if (close < 0) {
          if (!final) {
            if (firstBreak >= 0 && n - open > this.maxQuoted)
              this.unterminated(startLine, open, fields.length);
            return -1;
          }
          if (firstBreak >= 0) {
            // The quote runs to the end of the file: the opening quote was the broken
            // one. Reject the record's first line and read the rest normally.
            const next =
              firstBreak +
              (buf.charCodeAt(firstBreak) === CR && buf.charCodeAt(firstBreak + 1) === LF ? 2 : 1);
            return this.reject(start, firstBreak, startLine, fields.length, "unbalanced quote", next, 0);
          }
          // A quote left open on the very last line: that row alone is bad.
          return this.reject(start, n, startLine, fields.length, "unterminated quote", n);
        }
        let value = buf.slice(open + 1, close);
        if (doubled) value = value.replaceAll('""', '"');
        if (firstBreak >= 0) lines += countLineBreaks(value);
        fields.push(value);
        const after = close + 1;
        if (after >= n) {
          if (!final) return -1;
          return this.emit(fields, start, after, after, startLine, lines);
        }
        const c = buf.charCodeAt(after);
        if (c === dc) {
          i = after + 1;
          continue;
        }
        if (c === LF || c === CR) {
          if (c === CR && after + 1 >= n && !final) return -1;
          const next = after + (c === CR && buf.charCodeAt(after + 1) === LF ? 2 : 1);
          return this.emit(fields, start, after, next, startLine, lines);
        }
        // Text right after a closing quote: the quote was not really closing. If the
        // field spanned lines, the opening quote was the broken one and swallowed the
        // following line(s): reject only the record's first line and resume after it.
        if (firstBreak >= 0) {
          const next =
            firstBreak + (buf.charCodeAt(firstBreak) === CR && buf.charCodeAt(firstBreak + 1) === LF ? 2 : 1);
          return this.reject(start, firstBreak, startLine, fields.length - 1, "unbalanced quote", next, 0);
        }
        const eol = lineEnd(buf, after);
        if (eol.end < 0 && !final) return -1;
        return this.reject(
          start,
          eol.end < 0 ? n : eol.end,
          startLine,
          fields.length - 1,
          "text after a closing quote",
          eol.end < 0 ? n : eol.next,
        );
      }
      // Unquoted field: up to the next delimiter or line break.
      let j = i;
      while (j < n) {
        const c = buf.charCodeAt(j);
        if (c === dc || c === LF || c === CR) break;
        if (c === QUOTE) {
          const eol = lineEnd(buf, j);
          if (eol.end < 0 && !final) return -1;
          return this.reject(
            start,
            eol.end < 0 ? n : eol.end,
            startLine,
            fields.length,
            "stray quote inside an unquoted field",
            eol.end < 0 ? n : eol.next,
          );
        }
        j++;
      }
      if (j >= n && !final) return -1;
      fields.push(buf.slice(i, j));
      if (j >= n) return this.emit(fields, start, n, n, startLine, lines);
      const c = buf.charCodeAt(j);
      if (c === dc) {
        i = j + 1;
        continue;
      }
      if (c === CR && j + 1 >= n && !final) return -1;
      const next = j + (c === CR && buf.charCodeAt(j + 1) === LF ? 2 : 1);
      return this.emit(fields, start, j, next, startLine, lines);
    }
  }

  private emit(
    fields: string[],
    start: number,
    end: number,
    next: number,
    line: number,
    lines: number,
  ): number {
    this.recStart = start;
    this.recEnd = end;
    this.records++;
    this.onRecord(fields, line);
    this.line = line + lines + (next > end ? 1 : 0);
    return next;
  }

  private reject(
    start: number,
    end: number,
    line: number,
    field: number,
    reason: string,
    next: number,
    extraLines = -1,
  ): number {
    this.recStart = start;
    this.recEnd = end;
    this.records++;
    this.onBad(line, Math.max(0, field), reason);
    // Lines consumed: every break between start and next.
    this.line = line + (extraLines >= 0 ? 1 : countLineBreaks(this.buf.slice(start, next)));
    return next;
  }

  private tooLong(): never {
    throw new InputError(
      `${this.options.source}, line ${this.line}: the line is longer than ${Math.round(this.maxLine / 1024)} KiB without a line break, which no CSV row is: expected CSV text with CR or LF line breaks`,
      { details: { line: this.line } },
    );
  }

  private unterminated(line: number, open: number, field: number): never {
    const before = this.buf.lastIndexOf("\n", open);
    const column = open - (before + 1) + 1;
    throw new InputError(
      `${this.options.source}: the quote opened at line ${line}, character ${column} (field ${field + 1}) is not closed within ${Math.round(this.maxQuoted / 1024)} KiB, so it swallows the rest of the file`,
      { details: { line, field: field + 1 } },
    );
  }
}

/** Index of the first CR or LF in [from, to), or -1; a bounded scan (quoted fields are short). */
function firstLineBreak(buf: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = buf.charCodeAt(i);
    if (c === LF || c === CR) return i;
  }
  return -1;
}

/** End of the physical line at or after `from` and the start of the next; -1s when not in the buffer yet. */
function lineEnd(buf: string, from: number): { end: number; next: number } {
  const end = firstLineBreak(buf, from, buf.length);
  if (end < 0) return { end: -1, next: -1 };
  if (buf.charCodeAt(end) === CR && end + 1 >= buf.length) return { end: -1, next: -1 };
  return { end, next: end + (buf.charCodeAt(end) === CR && buf.charCodeAt(end + 1) === LF ? 2 : 1) };
}

/** Number of line breaks (CRLF, LF or lone CR each count once) in a string. */
export function countLineBreaks(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) count++;
    else if (c === CR) {
      count++;
      if (text.charCodeAt(i + 1) === LF) i++;
    }
  }
  return count;
}
