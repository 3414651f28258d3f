import { gzipSync } from "node:zlib";
import { Rng } from "../../components/common/random.js";

/**
 * THE table of malformed (and unusual but valid) weekly files. Each row is fed
 * through `churn validate` and through the weekly run (test/malformed-files.test.ts);
 * other suites may read it too. To add a case, add a row: `bytes` builds the file
 * from a valid weekly file of the example bucket (so schema cases can edit its
 * columns), `expect` says what every path must do, and `validate` / `run`
 * override it where a path rightly differs. With a bucket, validate reads a
 * weekly file with the champion's recorded training schema, as the run does,
 * so the schema cases (SCHEMA_CASES) must agree on both paths.
 *
 * What an expectation checks:
 * - exit 2 (or any non-zero): one line of stderr names the file
 *   (`weekly/<name>`) and matches `message`; the run's record shows the failing
 *   step tried once (bad input is never retried) and `_FAILED` says the same.
 * - exit 0: the output names the file, and stdout (for the run: with the
 *   published rejected.csv) matches `message`.
 */

/** What one path (validate, or the weekly run) must do with a file. */
export interface Expectation {
  exit: 0 | 2;
  /** The problem, in the words of the message (see above for where it is looked for). */
  message: RegExp;
}

/** A valid weekly file of the example bucket, to build cases from. */
export interface ValidWeekly {
  header: string;
  /** Data lines without their line breaks. */
  rows: string[];
}

/** One row of the table. */
export interface MalformedFile {
  /** File name under `weekly/`; its stem must be valid and unique in the table. */
  name: string;
  /** What the case is about (the test's title). */
  about: string;
  bytes(weekly: ValidWeekly): Buffer;
  expect: Expectation;
  /** Overrides for `churn validate FILE --bucket B` (no recorded schema: it infers one). */
  validate?: Partial<Expectation>;
  /** Overrides for `churn pipeline run --weekly weekly/<name>` (reads with the training schema). */
  run?: Partial<Expectation>;
}

/** The expectation of one path: the row's, with that path's overrides. */
export function expectationFor(row: MalformedFile, path: "validate" | "run"): Expectation {
  return { ...row.expect, ...row[path] };
}

const text = (w: ValidWeekly, rows = w.rows) => `${[w.header, ...rows].join("\n")}\n`;
const csv = (w: ValidWeekly, rows = w.rows) => Buffer.from(text(w, rows));
/** Deterministic noise: the same bytes on every run. */
const noise = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Buffer.from(Array.from({ length: n }, () => rng.nextInt(256)));
};
const cat = (...parts: Array<Buffer | number[] | string>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p as Uint8Array))));
/** The same gzip with one byte changed (counted from the end when negative). */
const flip = (bytes: Buffer, at: number) => {
  const copy = Buffer.from(bytes);
  const i = at < 0 ? copy.length + at : at;
  copy[i] = copy[i]! ^ 0xff;
  return copy;
};
const GZIP_HEADER = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
/** Replace the value of one column in one data row (0-based), keeping the quoting style. */
const withValue = (w: ValidWeekly, row: number, column: string, value: string) => {
  const index = w.header.split(",").indexOf(column);
  const rows = w.rows.slice();
  const fields = rows[row]!.split(",");
  fields[index] = value;
  rows[row] = fields.join(",");
  return rows;
};

/** A file read in full: validate counts every row, the run succeeds. */
const accepted = (rows: number, format?: RegExp): Pick<MalformedFile, "expect" | "run"> => ({
  expect: {
    exit: 0,
    message: format ?? new RegExp(`: ${rows} rows, ${rows} accepted, 0 rejected`),
  },
  run: { message: /weekly run r-[0-9a-f]+ succeeded/ },
});

/** Drop columns from the header and every row. */
const dropColumns = (w: ValidWeekly, ...columns: string[]) => {
  const names = w.header.split(",");
  const keep = (line: string) =>
    line
      .split(",")
      .filter((_, i) => !columns.includes(names[i]!))
      .join(",");
  return csv({ header: keep(w.header), rows: w.rows.map(keep) });
};
/** Set one column's value in every `every`-th data row (0-based rows 0, every, 2*every, ...). */
const everyNth = (w: ValidWeekly, every: number, column: string, value: (row: number) => string) => {
  const index = w.header.split(",").indexOf(column);
  return w.rows.map((line, row) => {
    if (row % every !== 0) return line;
    const fields = line.split(",");
    fields[index] = value(row);
    return fields.join(",");
  });
};
/** A failure every path must report, in the same words. */
const refused = (message: RegExp): Pick<MalformedFile, "expect"> => ({ expect: { exit: 2, message } });
/** A file scored with some rows rejected: validate and the run count the same. */
const partly = (rows: number, rejected: number): Pick<MalformedFile, "expect" | "run"> => ({
  expect: {
    exit: 0,
    message: new RegExp(`: ${rows} rows, ${rows - rejected} accepted, ${rejected} rejected`),
  },
  run: { message: /weekly run r-[0-9a-f]+ succeeded/ },
});

/**
 * Files that break (or bend) the recorded training schema: `churn validate`
 * with a bucket checks a weekly file against the champion's schema, so it must
 * agree with the weekly run on every one of them (issue 18).
 */
const SCHEMA_CASES: MalformedFile[] = [
  {
    name: "schema-missing-two.csv",
    about: "schema: two columns of the training schema missing",
    bytes: (w) => dropColumns(w, "Total_Trans_Ct", "Customer_Age"),
    ...refused(
      /, line 1: the header lacks 2 columns of the recorded training schema: "Customer_Age", "Total_Trans_Ct"/,
    ),
  },
  {
    name: "schema-blank-header.csv",
    about: "schema: a blank header name where Customer_Age was",
    bytes: (w) => csv({ header: w.header.replace("Customer_Age", ""), rows: w.rows }),
    ...refused(/, line 1: .*"Customer_Age"/),
  },
  {
    name: "schema-half-text.csv",
    about: "schema: text in half the values of a numeric column",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 2, "Customer_Age", () => "unknown"),
      ),
    ...refused(
      /: 150 of 300 rows rejected \(50\.0%\), more than ingest\.max_reject_share 5\.0%; first: line 2, column "Customer_Age": not a number/,
    ),
  },
  {
    name: "schema-some-text.csv",
    about: "schema: text in 10 values of a numeric column (below max_reject_share)",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 30, "Customer_Age", () => "unknown"),
      ),
    ...partly(300, 10),
  },
  {
    name: "schema-extra-column.csv",
    about: "schema: a column the training never saw is ignored",
    bytes: (w) =>
      csv({
        header: `${w.header},Favourite_Colour`,
        rows: w.rows.map((r, i) => `${r},${i % 2 ? "red" : "blue"}`),
      }),
    ...accepted(300, /: 300 rows, 300 accepted, 0 rejected[\s\S]*|weekly run r-[0-9a-f]+ succeeded/),
  },
  {
    name: "schema-reordered.csv",
    about: "schema: the same columns in another order",
    bytes: (w) => {
      const reverse = (line: string) => line.split(",").reverse().join(",");
      return csv({ header: reverse(w.header), rows: w.rows.map(reverse) });
    },
    ...accepted(300),
  },
  {
    name: "schema-duplicate-ids.csv",
    about: "schema: five rows repeat the first row's id",
    bytes: (w) => {
      const id = w.rows[0]!.split(",")[0]!;
      return csv(
        w,
        w.rows.map((r, i) => (i >= 1 && i <= 5 ? `${id},${r.split(",").slice(1).join(",")}` : r)),
      );
    },
    ...partly(300, 5),
  },
  {
    name: "schema-empty-ids.csv",
    about: "schema: four rows without an id",
    bytes: (w) =>
      csv(
        w,
        w.rows.map((r, i) => (i % 75 === 0 ? `,${r.split(",").slice(1).join(",")}` : r)),
      ),
    ...partly(300, 4),
  },
  {
    name: "schema-unseen-category.csv",
    about: "schema: a category value never seen in training (scored)",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 15, "Education_Level", () => '"PhD Candidate"'),
      ),
    ...accepted(300),
  },
  {
    name: "schema-header-case.csv",
    about: "schema: a header name in another letter case",
    bytes: (w) => csv({ header: w.header.replace("Customer_Age", "customer_age"), rows: w.rows }),
    ...refused(/, line 1: .*"Customer_Age"/),
  },
  {
    name: "schema-label-present.csv",
    about: "schema: the label column is present in a file to score",
    bytes: (w) =>
      csv({
        header: `${w.header},Attrition_Flag`,
        rows: w.rows.map((r) => `${r},"Existing Customer"`),
      }),
    ...accepted(300, /: 300 rows, 300 accepted, 0 rejected|weekly run r-[0-9a-f]+ succeeded/),
  },
  {
    name: "schema-only-id.csv",
    about: "schema: nothing but the id column",
    bytes: (w) => csv({ header: "CLIENTNUM", rows: w.rows.map((r) => r.split(",")[0]!) }),
    ...refused(/, line 1: the header lacks \d+ columns of the recorded training schema/),
  },
  {
    name: "schema-negative-age.csv",
    about: "schema: numbers outside the training range are scored",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 10, "Customer_Age", () => "-5"),
      ),
    ...accepted(300),
  },
  {
    name: "schema-number-overflow.csv",
    about: "schema: a number too large for a double",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 100, "Customer_Age", () => "1e400"),
      ),
    ...partly(300, 3),
  },
  {
    name: "schema-all-empty-numeric.csv",
    about: "schema: every value of a numeric column empty",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 1, "Customer_Age", () => ""),
      ),
    ...accepted(300),
  },
  {
    name: "schema-padded-values.csv",
    about: "schema: numbers padded with spaces are not numbers (both paths reject the same rows)",
    bytes: (w) =>
      csv(
        w,
        everyNth(w, 20, "Customer_Age", (i) => ` ${40 + (i % 10)} `),
      ),
    ...partly(300, 15),
  },
];

export const MALFORMED_FILES: readonly MalformedFile[] = [
  // --- gzip, broken in every place a stream can break
  {
    name: "gzip-signature-noise.csv",
    about: "the tester's file: the gzip signature, then 20 kB of noise (exited 13 silently)",
    bytes: () => cat([0x1f, 0x8b, 0x5a], noise(20_000, 1)),
    expect: { exit: 2, message: /: not a valid gzip file \(unknown compression method 90, .*\) at byte 2/ },
  },
  {
    name: "gzip-header-noise.csv.gz",
    about: "a valid gzip header, then noise larger than zlib's buffer",
    bytes: () => cat(GZIP_HEADER, noise(20_000, 2)),
    expect: { exit: 2, message: /: the gzip data is corrupt \(.+\) somewhere after byte \d+ of 20010/ },
  },
  {
    name: "truncated.csv.gz",
    about: "gzip cut off at 60%",
    bytes: (w) => {
      const gz = gzipSync(csv(w));
      return gz.subarray(0, Math.floor(gz.length * 0.6));
    },
    expect: { exit: 2, message: /: the gzip data is truncated \(unexpected end of file\) at byte \d+/ },
  },
  {
    name: "truncated-header.csv.gz",
    about: "gzip cut off inside its 10-byte header",
    bytes: (w) => gzipSync(csv(w)).subarray(0, 5),
    expect: { exit: 2, message: /: the gzip data is truncated \(unexpected end of file\) at byte 5:/ },
  },
  {
    name: "gzip-magic-only.csv",
    about: "nothing but the two gzip signature bytes",
    bytes: () => Buffer.from([0x1f, 0x8b]),
    expect: { exit: 2, message: /: the gzip data is truncated \(unexpected end of file\) at byte 2:/ },
  },
  {
    name: "members-then-garbage.csv.gz",
    about: "two gzip members, then text that is no third member",
    bytes: (w) =>
      cat(
        gzipSync(text(w, w.rows.slice(0, 150))),
        gzipSync(`${w.rows.slice(150).join("\n")}\n`),
        "garbage\n",
      ),
    expect: {
      exit: 2,
      message:
        /: the gzip data is corrupt \(incorrect header check\): it is followed by bytes that are not another gzip member/,
    },
  },
  {
    name: "noise-after-member.csv.gz",
    about: "a complete gzip member followed by 1 kB of noise",
    bytes: (w) => cat(gzipSync(csv(w)), noise(1000, 3)),
    expect: { exit: 2, message: /: the gzip data is corrupt \(.+\)/ },
  },
  {
    name: "bad-crc.csv.gz",
    about: "gzip whose CRC-32 does not match its data",
    bytes: (w) => flip(gzipSync(csv(w)), -6),
    expect: {
      exit: 2,
      message: /: the gzip data is corrupt \(incorrect data check: checksum or length mismatch\)/,
    },
  },
  {
    name: "bad-length.csv.gz",
    about: "gzip whose stored length does not match its data",
    bytes: (w) => flip(gzipSync(csv(w)), -2),
    expect: {
      exit: 2,
      message: /: the gzip data is corrupt \(incorrect length check: checksum or length mismatch\)/,
    },
  },
  {
    name: "corrupt-deflate.csv.gz",
    about: "gzip with 40 bytes of its deflate data overwritten",
    bytes: (w) => {
      const gz = Buffer.from(gzipSync(csv(w)));
      gz.fill(0xff, 12, 52);
      return gz;
    },
    expect: { exit: 2, message: /: the gzip data is corrupt \(.+: damaged compressed data\)/ },
  },
  {
    name: "two-members.csv.gz",
    about: "two complete gzip members are one file (gzip's own rule): accepted",
    bytes: (w) => cat(gzipSync(text(w, w.rows.slice(0, 150))), gzipSync(`${w.rows.slice(150).join("\n")}\n`)),
    ...accepted(300),
  },
  {
    name: "zero-padded.csv.gz",
    about: "a gzip member padded with zero bytes (as tape and some uploaders do): accepted, as gzip(1) does",
    bytes: (w) => cat(gzipSync(csv(w)), Buffer.alloc(512)),
    ...accepted(300),
  },
  {
    name: "plain-text.csv.gz",
    about: "a .csv.gz name holding plain text: gzip is sniffed by its signature, not the name: accepted",
    bytes: (w) => csv(w),
    ...accepted(300),
  },
  // --- other formats people upload by mistake
  {
    name: "bzip2.csv",
    about: "a bzip2 file",
    bytes: () => cat("BZh91AY&SY", noise(2000, 4)),
    expect: { exit: 2, message: / is a bzip2 file, not CSV text/ },
  },
  {
    name: "zip.csv",
    about: "a zip archive (an .xlsx workbook renamed .csv)",
    bytes: () => cat([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00], noise(2000, 5)),
    expect: { exit: 2, message: / is a zip archive \(an \.xlsx workbook is one\), not CSV text/ },
  },
  {
    name: "xz.csv",
    about: "an xz file",
    bytes: () => cat([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], noise(2000, 6)),
    expect: { exit: 2, message: / is an xz file, not CSV text/ },
  },
  {
    name: "zstd.csv",
    about: "a zstd file",
    bytes: () => cat([0x28, 0xb5, 0x2f, 0xfd], noise(2000, 7)),
    expect: { exit: 2, message: / is a zstd file, not CSV text/ },
  },
  {
    name: "xls.csv",
    about: "an Excel 97-2003 workbook",
    bytes: () => cat([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], noise(2000, 8)),
    expect: { exit: 2, message: / is an Excel 97-2003 workbook \(\.xls\), not CSV text/ },
  },
  {
    name: "gzipped-zip.csv.gz",
    about: "a zip archive inside gzip",
    bytes: () => gzipSync(cat([0x50, 0x4b, 0x03, 0x04], noise(2000, 9))),
    expect: { exit: 2, message: / \(inside its gzip data\) is a zip archive/ },
  },
  {
    name: "binary.csv",
    about: "a PNG image",
    bytes: () => cat([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], noise(2000, 10)),
    expect: { exit: 2, message: / is not a text file \(it contains binary bytes: a NUL byte at byte 8\)/ },
  },
  // --- empty and nearly empty
  {
    name: "empty.csv",
    about: "an empty file",
    bytes: () => Buffer.alloc(0),
    expect: { exit: 2, message: / is empty: expected a header line and data rows/ },
  },
  {
    name: "blank-lines.csv",
    about: "blank lines only",
    bytes: () => Buffer.from("\n\n  \n\r\n"),
    expect: { exit: 2, message: / is empty: expected a header line and data rows/ },
  },
  {
    name: "bom-only.csv",
    about: "only a UTF-8 byte order mark",
    bytes: () => Buffer.from([0xef, 0xbb, 0xbf]),
    expect: { exit: 2, message: / is empty: expected a header line and data rows/ },
  },
  {
    name: "header-only.csv",
    about: "the header and no rows",
    bytes: (w) => Buffer.from(`${w.header}\n`),
    expect: { exit: 2, message: / has a header but no data rows/ },
  },
  // --- encodings
  {
    name: "mixed-encodings.csv",
    about: "UTF-8 text with one Windows-1252 byte further down (invalid UTF-8)",
    bytes: (w) => {
      const bytes = Buffer.from(text(w, withValue(w, 0, "Education_Level", '"Graduaté"')));
      // "Blue" → "Bl\xe9e" late in the file: é in Windows-1252, never valid alone in UTF-8.
      bytes[bytes.indexOf('"Blue"', Math.floor(bytes.length * 0.7)) + 3] = 0xe9;
      return bytes;
    },
    expect: { exit: 2, message: / mixes encodings: .*save it in one encoding/ },
  },
  {
    name: "windows-1252.csv",
    about: "invalid UTF-8 throughout is read as Windows-1252 (encoding auto): accepted",
    bytes: (w) => Buffer.from(text(w, withValue(w, 3, "Education_Level", '"Graduat\u00e9"')), "latin1"),
    ...accepted(300, /format: windows-1252, /),
  },
  {
    name: "utf8-cut-mid-character.csv",
    about: "UTF-8 text that ends in the middle of a multi-byte character",
    bytes: (w) => cat(text(w, withValue(w, 0, "Education_Level", '"Graduaté"')), [0xc3]),
    expect: { exit: 2, message: / ends in the middle of a utf-8 character \(truncated\?\)/ },
  },
  {
    name: "utf16le-no-bom.csv",
    about: "UTF-16LE without a byte order mark",
    bytes: (w) => Buffer.from(text(w), "utf16le"),
    expect: {
      exit: 2,
      message: / looks like UTF-16LE text without a byte order mark .*set ingest\.encoding: utf-16le/,
    },
  },
  {
    name: "utf16be-no-bom.csv",
    about: "UTF-16BE without a byte order mark",
    bytes: (w) => Buffer.from(text(w), "utf16le").swap16(),
    expect: { exit: 2, message: / looks like UTF-16BE text without a byte order mark/ },
  },
  {
    name: "utf16le-bom.csv",
    about: "UTF-16LE with its byte order mark: accepted",
    bytes: (w) => cat([0xff, 0xfe], Buffer.from(text(w), "utf16le")),
    ...accepted(300, /format: utf-16le with BOM, /),
  },
  {
    name: "nul-bytes.csv",
    about: "a text file with NUL bytes in its first kilobytes",
    bytes: (w) => {
      const bytes = csv(w);
      bytes.fill(0, 700, 704);
      return bytes;
    },
    expect: { exit: 2, message: / is not a text file \(it contains binary bytes: a NUL byte at byte 700\)/ },
  },
  // --- CSV structure
  {
    name: "unterminated-quote.csv",
    about: "a quote left open at the end of the file: that row is rejected, the rest scored",
    bytes: (w) => Buffer.from(`${text(w)}999999999,"unterminated`),
    expect: {
      exit: 0,
      message:
        /: 301 rows, 300 accepted, 1 rejected[\s\S]*line 302, column "Customer_Age": unterminated quote/,
    },
    // The run publishes the rejected row: rejected.csv carries its line and reason.
    run: { message: /\n302,Customer_Age,unterminated quote,/ },
  },
  {
    name: "duplicate-header.csv",
    about: "a header naming one column twice",
    bytes: (w) => {
      const names = w.header.split(",");
      names.push(names[1]!);
      return Buffer.from(text({ header: names.join(","), rows: w.rows.map((r) => `${r},1`) }));
    },
    expect: { exit: 2, message: /, line 1: the header names "Customer_Age" twice \(columns 2 and 21\)/ },
  },
  {
    name: "very-long-line.csv",
    about: "a 9 MiB line without a line break",
    bytes: (w) => cat(`${w.header}\n`, Buffer.alloc(9 << 20, "x")),
    expect: {
      exit: 2,
      message: /, line 2: the line is longer than 8192 KiB without a line break, which no CSV row is/,
    },
  },
  {
    name: "too-many-rejected.csv",
    about: "30 of 300 rows with a field missing: more than max_reject_share",
    bytes: (w) =>
      csv(
        w,
        w.rows.map((r, i) => (i % 10 === 0 ? r.slice(0, r.lastIndexOf(",")) : r)),
      ),
    expect: {
      exit: 2,
      message:
        /: 30 of 300 rows rejected \(10\.0%\), more than ingest\.max_reject_share 5\.0%; first: line 2, .*wrong column count/,
    },
  },
  {
    name: "missing-column.csv",
    about: "a column of the training schema is missing (validate checks against the champion's schema too)",
    bytes: (w) => {
      const drop = w.header.split(",").indexOf("Total_Trans_Ct");
      const without = (line: string) =>
        line
          .split(",")
          .filter((_, i) => i !== drop)
          .join(",");
      return csv({ header: without(w.header), rows: w.rows.map(without) });
    },
    expect: {
      exit: 2,
      message: /, line 1: the header lacks 1 column of the recorded training schema: "Total_Trans_Ct"/,
    },
  },
  {
    name: "no-id-column.csv",
    about: "the id column renamed",
    bytes: (w) => csv({ header: w.header.replace("CLIENTNUM", "CLIENT_NO"), rows: w.rows }),
    expect: {
      exit: 2,
      message: /, line 1: the header lacks 1 column of the recorded training schema: "CLIENTNUM"/,
    },
  },
  {
    name: "semicolons-crlf.csv",
    about: "semicolon-delimited with CRLF line breaks: sniffed and accepted",
    bytes: (w) => Buffer.from(text(w).replaceAll(",", ";").replaceAll("\n", "\r\n")),
    ...accepted(300),
  },
  {
    name: "lone-cr.csv",
    about: "old Mac line breaks (lone CR): accepted",
    bytes: (w) => Buffer.from(text(w).replaceAll("\n", "\r")),
    ...accepted(300),
  },
  ...SCHEMA_CASES,
];
