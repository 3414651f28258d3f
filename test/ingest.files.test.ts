import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { columnValues, ingestBytes, runCli } from "./ingest-support/helpers.js";

/**
 * Table-driven: malformed and unusual files through the real CLI (`churn
 * validate`, in-process with captured output). Unusable files must exit 2 with
 * one sentence naming the problem and no stack trace; decodable ones must be
 * read correctly (values checked through ingest and the Arrow read-back).
 */
const dir = mkdtempSync(join(tmpdir(), "churn-ingest-files-"));
afterAll(() => {
  // Temp files are tiny; the OS cleans tmp. Nothing to stop.
});

const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
const utf16be = (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, "utf16le").swap16()]);
const cp1252 = (s: string) =>
  Buffer.from(new Uint8Array([...s].map((c) => (c === "€" ? 0x80 : c.charCodeAt(0)))));
const manyRows = (n: number, bad: number) =>
  `id,amount\n${Array.from({ length: n }, (_, i) => (i < bad ? `${i}` : `${i},${i}`)).join("\n")}\n`;

interface Bad {
  name: string;
  bytes: Buffer | string;
  flags?: string[];
  file?: string;
  message: RegExp;
}

const unusable: Bad[] = [
  { name: "empty file", bytes: "", message: /is empty/ },
  { name: "whitespace only", bytes: "\n\n  \n", message: /is empty/ },
  { name: "header only", bytes: "id,amount\n", message: /has a header but no data rows/ },
  { name: "header only, CRLF, no newline", bytes: "id,amount", message: /has a header but no data rows/ },
  {
    name: "binary (PNG)",
    bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]),
    message: /is not a text file/,
  },
  {
    name: "no id column",
    bytes: "customer,amount\n1,2\n",
    message: /line 1: no id column "id".*customer, amount/,
  },
  {
    name: "wrong delimiter leaves one column",
    bytes: "id#amount\n1#2\n",
    flags: ["--id-column", "id"],
    message: /no id column "id".*one column/,
  },
  {
    name: "unterminated quote swallows the file",
    bytes: 'id,name\n1,"abc\n2,def\n3,ghi\n',
    message: /1 of 3 rows rejected.*line 2, column "name": unbalanced quote/,
  },
  {
    name: "duplicate header names",
    bytes: "id,a,b,a\n1,2,3,4\n",
    message: /names "a" twice \(columns 2 and 4\)/,
  },
  {
    name: "truncated gzip",
    bytes: gzipSync(Buffer.from(manyRows(2000, 0))).subarray(0, 500),
    file: "t.csv.gz",
    message: /gzip data is truncated/,
  },
  {
    name: "corrupt gzip",
    bytes: Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(50, 0xff)]),
    file: "c.csv.gz",
    message: /gzip data is corrupt/,
  },
  {
    name: "mixed encodings",
    bytes: Buffer.concat([Buffer.from("id,name\n1,Café\n", "utf8"), Buffer.from([0x32, 0x2c, 0xe9, 0x0a])]),
    message: /mixes encodings/,
  },
  {
    name: "too many rejected rows",
    bytes: manyRows(100, 10),
    message:
      /10 of 100 rows rejected \(10\.0%\), more than ingest\.max_reject_share 5\.0%; first: line 2, column "amount": wrong column count/,
  },
  {
    name: "label never positive",
    bytes: "id,churn\n1,No\n2,No\n",
    flags: ["--id-column", "id", "--label", "churn=Yes", "--mode", "training"],
    message: /never holds the positive value "Yes"/,
  },
  {
    name: "no label column",
    bytes: "id,x\n1,No\n",
    flags: ["--id-column", "id", "--label", "churn=Yes", "--mode", "training"],
    message: /no label column "churn"/,
  },
  {
    name: "generated id clashes with a row_id column",
    bytes: "row_id,x\n1,2\n",
    flags: ["--generate-id"],
    message: /already has a column named "row_id"/,
  },
  { name: "unreadable header", bytes: 'id,"na"me\n1,2\n', message: /line 1: the header cannot be read/ },
  { name: "missing file", bytes: "", file: "__absent__", message: /does not exist/ },
  {
    name: "bad --label flag",
    bytes: "id,x\n1,2\n",
    flags: ["--id-column", "id", "--label", "churn"],
    message: /--label must look like COLUMN=POSITIVE/,
  },
];

interface Good {
  name: string;
  bytes: Buffer | string;
  file?: string;
  ids: string[];
  amount: number[];
  name_?: Array<string | null>;
  format?: Record<string, unknown>;
}

const body = (d: string, dec = ".", nl = "\n") =>
  `id${d}amount${d}name${nl}1${d}1${dec}5${d}Café${nl}2${d}-2${dec}25${d}Zoë €${nl}`;
const decodable: Good[] = [
  {
    name: "UTF-8 with BOM",
    bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body(","))]),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["Café", "Zoë €"],
    format: { bom: true, encoding: "utf-8" },
  },
  {
    name: "UTF-16LE with BOM",
    bytes: utf16le(body(",")),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["Café", "Zoë €"],
    format: { encoding: "utf-16le" },
  },
  {
    name: "UTF-16BE with BOM",
    bytes: utf16be(body(",")),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["Café", "Zoë €"],
    format: { encoding: "utf-16be" },
  },
  {
    name: "Windows-1252",
    bytes: cp1252(body(",")),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["Café", "Zoë €"],
    format: { encoding: "windows-1252" },
  },
  {
    name: "semicolons with decimal commas",
    bytes: body(";", ","),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    format: { delimiter: ";", decimal: "," },
  },
  { name: "tab", bytes: body("\t"), ids: ["1", "2"], amount: [1.5, -2.25], format: { delimiter: "\t" } },
  { name: "pipe", bytes: body("|"), ids: ["1", "2"], amount: [1.5, -2.25], format: { delimiter: "|" } },
  {
    name: "CRLF",
    bytes: body(",", ".", "\r\n"),
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["Café", "Zoë €"],
  },
  { name: "lone CR", bytes: body(",", ".", "\r"), ids: ["1", "2"], amount: [1.5, -2.25] },
  {
    name: "quoted newlines and delimiters",
    bytes: 'id,amount,name\n1,1.5,"line one\nline two"\n2,-2.25,"a, ""b"""\n',
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    name_: ["line one\nline two", 'a, "b"'],
  },
  {
    name: "gzip",
    bytes: gzipSync(Buffer.from(body(","))),
    file: "g.csv.gz",
    ids: ["1", "2"],
    amount: [1.5, -2.25],
    format: { gzip: true },
  },
  {
    name: "no final newline",
    bytes: "id,amount,name\n1,1.5,a\n2,-2.25,b",
    ids: ["1", "2"],
    amount: [1.5, -2.25],
  },
  {
    name: "blank lines between rows",
    bytes: "id,amount,name\n\n1,1.5,a\n\n\n2,-2.25,b\n\n",
    ids: ["1", "2"],
    amount: [1.5, -2.25],
  },
  {
    name: "missing tokens in a numeric column",
    bytes: "id,amount,name\n1,1.5,a\n2,NA,Unknown\n3,,b\n",
    ids: ["1", "2", "3"],
    amount: [1.5, Number.NaN, Number.NaN],
    name_: ["a", null, "b"],
  },
];

describe("malformed and unusual files through `churn validate`", () => {
  it("has at least 25 cases", () => {
    expect(unusable.length + decodable.length).toBeGreaterThanOrEqual(25);
  });

  it.each(unusable)("unusable: $name -> exit 2", async (c) => {
    const file = join(dir, c.file ?? `${c.name.replaceAll(/\W+/g, "-")}.csv`);
    if (c.file !== "__absent__") writeFileSync(file, c.bytes);
    const { code, stdout, stderr } = await runCli(["validate", file, ...(c.flags ?? ["--id-column", "id"])]);
    expect(code, stderr + stdout).toBe(2);
    const message = stderr.trim();
    expect(message).toMatch(c.message);
    // One sentence, no stack trace.
    expect(message).not.toMatch(/\n\s+at /);
    expect(message).not.toMatch(/unexpected failure/);
    if (c.file !== "__absent__" && !/--label must/.test(message))
      expect(message).toContain(dir.split("/").pop()!);
  });

  it.each(decodable)("decodable: $name", async (c) => {
    const file = join(dir, c.file ?? `${c.name.replaceAll(/\W+/g, "-")}.csv`);
    writeFileSync(file, c.bytes);
    const cli = await runCli(["validate", file, "--id-column", "id", "--json"]);
    expect(cli.code, cli.stderr).toBe(0);
    const report = JSON.parse(cli.stdout) as {
      rows_in: number;
      accepted: number;
      format: Record<string, unknown>;
    };
    expect(report.accepted).toBe(c.ids.length);
    expect(report.rows_in).toBe(c.ids.length);
    if (c.format) expect(report.format).toMatchObject(c.format);

    const { result, batches } = await ingestBytes(Buffer.from(c.bytes), { id_column: "id" });
    expect(result.rejected).toBe(0);
    expect(batches.flatMap((b) => b.ids.slice(0, b.numRows))).toEqual(c.ids);
    expect(result.schema.columns.find((col) => col.name === "amount")?.type).toBe("numeric");
    expect(columnValues(batches, "amount")).toEqual(c.amount);
    if (c.name_) expect(columnValues(batches, "name")).toEqual(c.name_);
  });
});
