import { gzipSync } from "node:zlib";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { InputError, NotFoundError } from "../errors.js";
import { Rng } from "../random.js";
import { foreignFormatError, gunzip } from "./compression.js";
import { decode, looksUtf16, openText, utf8CompleteLength } from "./decode.js";
import { CsvParser, countLineBreaks } from "./parse.js";
import { sniffDecimal, sniffDelimiter } from "./sniff.js";

function parse(text: string | string[], delimiter = ",") {
  const rows: Array<{ fields: string[]; line: number; raw: string }> = [];
  const bad: Array<{ line: number; field: number; reason: string; raw: string }> = [];
  const parser: CsvParser = new CsvParser(
    { delimiter, source: "t.csv", maxQuotedChars: 1000 },
    (fields, line) => rows.push({ fields: fields.slice(), line, raw: parser.raw() }),
    (line, field, reason) => bad.push({ line, field, reason, raw: parser.raw() }),
  );
  for (const chunk of Array.isArray(text) ? text : [text]) parser.push(chunk);
  parser.end();
  return { rows, bad };
}

async function collectText(bytes: Uint8Array[], encoding?: "auto") {
  let out = "";
  const info = { encoding: "utf-8" as const, bom: false, gzip: false };
  async function* src() {
    for (const b of bytes) yield b;
  }
  for await (const t of openText(src(), { source: "t.csv", encoding }, info as never)) out += t;
  return { out, info: info as { encoding: string; bom: boolean; gzip: boolean } };
}

describe("CsvParser against PapaParse on random valid files", () => {
  it("reads every record, its fields and its line the same, in any chunking", () => {
    const rng = new Rng(17);
    const pieces = [
      "plain",
      "",
      '"Graduate"',
      '""',
      '"a, b"',
      '"say ""hi"""',
      '"two\nlines"',
      '"Zürich"',
      "12.5",
      '"$40K - $60K"',
      "x y",
    ];
    for (let file = 0; file < 40; file++) {
      const newline = rng.nextFloat() < 0.5 ? "\n" : "\r\n";
      const columns = 1 + rng.nextInt(6);
      const records: string[] = [];
      const lines: number[] = [];
      let line = 1;
      for (let r = 0; r < 60; r++) {
        // A record of one empty field would be an empty line, which the parser skips.
        const fields = Array.from({ length: columns }, () => pieces[rng.nextInt(pieces.length)]!);
        if (fields.join("") === "") fields[0] = "plain";
        records.push(fields.join(","));
        lines.push(line);
        line += 1 + fields.join("").split("\n").length - 1;
      }
      const trailing = rng.nextFloat() < 0.5;
      const text = records.join(newline) + (trailing ? newline : "");
      const expected = Papa.parse<string[]>(text, { newline }).data;
      // PapaParse reads a final line break as one more, empty record.
      if (trailing) expect(expected.pop()).toEqual([""]);
      // Chunks of random sizes, so records and quoted fields straddle pushes.
      const chunks: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + rng.nextInt(200);
        chunks.push(text.slice(at, at + size));
        at += size;
      }
      const { rows, bad } = parse(chunks);
      expect(bad).toEqual([]);
      expect(rows.map((r) => r.fields)).toEqual(expected);
      expect(rows.map((r) => r.line)).toEqual(lines);
    }
  });
});

describe("CsvParser", () => {
  const cases: Array<[string, string | string[], string[][], number[]]> = [
    [
      "plain LF",
      "a,b\n1,2\n",
      [
        ["a", "b"],
        ["1", "2"],
      ],
      [1, 2],
    ],
    [
      "CRLF",
      "a,b\r\n1,2\r\n",
      [
        ["a", "b"],
        ["1", "2"],
      ],
      [1, 2],
    ],
    [
      "lone CR",
      "a,b\r1,2\r",
      [
        ["a", "b"],
        ["1", "2"],
      ],
      [1, 2],
    ],
    [
      "no final newline",
      "a,b\n1,2",
      [
        ["a", "b"],
        ["1", "2"],
      ],
      [1, 2],
    ],
    [
      "quoted delimiter",
      'a,b\n"x,y",2\n',
      [
        ["a", "b"],
        ["x,y", "2"],
      ],
      [1, 2],
    ],
    ["doubled quotes", 'a\n"say ""hi"""\n', [["a"], ['say "hi"']], [1, 2]],
    [
      "quoted newline keeps line numbers",
      'a,b\n"l1\nl2",2\n3,4\n',
      [
        ["a", "b"],
        ["l1\nl2", "2"],
        ["3", "4"],
      ],
      [1, 2, 4],
    ],
    ["blank lines skipped", "a\n\n1\n\n", [["a"], ["1"]], [1, 3]],
    [
      "empty fields",
      "a,b,c\n,,\n",
      [
        ["a", "b", "c"],
        ["", "", ""],
      ],
      [1, 2],
    ],
    [
      "split across chunks",
      ["a,b\n1", ',"x\r', '\n"', ",2\r", "\n3,4"],
      [
        ["a", "b"],
        ["1", "x\r\n", "2"],
        ["3", "4"],
      ],
      [1, 2, 4],
    ],
    ["quote split across chunks", ['a\n"x"', '"y"\n'], [["a"], ['x"y']], [1, 2]],
  ];
  it.each(cases)("%s", (_name, text, fields, lines) => {
    const { rows, bad } = parse(text);
    expect(bad).toEqual([]);
    expect(rows.map((r) => r.fields)).toEqual(fields);
    expect(rows.map((r) => r.line)).toEqual(lines);
  });

  it("uses the given delimiter", () => {
    expect(parse("a;b\n1;2,5\n", ";").rows[1]!.fields).toEqual(["1", "2,5"]);
    expect(parse("a\tb\n1\t2\n", "\t").rows[1]!.fields).toEqual(["1", "2"]);
  });

  it("rejects one row with a broken opening quote and resumes on the next line", () => {
    const { rows, bad } = parse('id,name,x\n1,"ab,3\n2,"cd",4\n3,"ef",5\n');
    expect(bad).toEqual([{ line: 2, field: 1, reason: "unbalanced quote", raw: '1,"ab,3' }]);
    expect(rows.map((r) => r.fields[0])).toEqual(["id", "2", "3"]);
    expect(rows.map((r) => r.line)).toEqual([1, 3, 4]);
  });

  it("rejects text after a closing quote and a stray quote", () => {
    const { rows, bad } = parse('a,b\n"x"y,1\n2,ab"c\n3,4\n');
    expect(bad.map((b) => [b.line, b.reason])).toEqual([
      [2, "text after a closing quote"],
      [3, "stray quote inside an unquoted field"],
    ]);
    expect(rows.map((r) => r.fields)).toEqual([
      ["a", "b"],
      ["3", "4"],
    ]);
  });

  it("rewinds a quote left open to the end: only its line is rejected", () => {
    const { rows, bad } = parse('a,b\n1,"x\n2,y\n3,z\n');
    expect(bad.map((b) => [b.line, b.reason, b.raw])).toEqual([[2, "unbalanced quote", '1,"x']]);
    expect(rows.map((r) => r.fields)).toEqual([
      ["a", "b"],
      ["2", "y"],
      ["3", "z"],
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 3, 4]);
  });

  it("fails the file when an open quote swallows more than the bound", () => {
    const chunks = ['a,b\n1,"x\n', ...Array.from({ length: 30 }, (_, i) => `${i},${"y".repeat(60)}\n`)];
    expect(() => parse(chunks)).toThrow(/quote opened at line 2.*not closed within 1 KiB.*swallows the rest/);
    expect(() => parse(chunks)).toThrow(InputError);
  });

  it("rejects an unterminated quote on the last line only", () => {
    const { rows, bad } = parse('a,b\n1,2\n3,"x');
    expect(rows).toHaveLength(2);
    expect(bad[0]!.reason).toBe("unterminated quote");
  });

  it("fails the file on a line longer than the bound, but not on a CR-only file of many short lines", () => {
    const long = (text: string[]) => {
      const parser = new CsvParser(
        { delimiter: ",", source: "t.csv", maxLineChars: 1000 },
        () => {},
        () => {},
      );
      for (const chunk of text) parser.push(chunk);
      parser.end();
      return parser.records;
    };
    // Fed in small chunks, as a stream would: the bound holds before any line break arrives.
    const chunks = ["a,b\n1,2\n", ...Array.from({ length: 20 }, () => "x".repeat(100))];
    expect(() => long(chunks)).toThrow(/t\.csv, line 3: the line is longer than 1 KiB without a line break/);
    expect(() => long(chunks)).toThrow(InputError);
    expect(long(Array.from({ length: 50 }, (_, i) => `${i},${"y".repeat(60)}\r`))).toBe(50);
  });

  it("counts line breaks of every style", () => {
    expect(countLineBreaks("a\r\nb\nc\rd")).toBe(3);
  });
});

describe("decode", () => {
  it("strips a UTF-8 BOM and reports it", async () => {
    const { out, info } = await collectText([Buffer.from("\ufeffa,b\n", "utf8")]);
    expect(out).toBe("a,b\n");
    expect(info).toMatchObject({ encoding: "utf-8", bom: true });
  });
  it("decodes UTF-16LE and BE with BOM", async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("é,b\n", "utf16le")]);
    expect((await collectText([le])).out).toBe("é,b\n");
    const be = Buffer.from(le.subarray(2)).swap16();
    const r = await collectText([Buffer.concat([Buffer.from([0xfe, 0xff]), be])]);
    expect(r.out).toBe("é,b\n");
    expect(r.info.encoding).toBe("utf-16be");
  });
  it("falls back to Windows-1252 when bytes are not UTF-8, even late in the file", async () => {
    const r = await collectText([Buffer.from("name\n"), Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x80, 0x0a])]);
    expect(r.out).toBe("name\nCafé€\n");
    expect(r.info.encoding).toBe("windows-1252");
  });
  it("keeps UTF-8 characters split across chunks", async () => {
    const bytes = Buffer.from("a\nçé\n", "utf8");
    const r = await collectText([bytes.subarray(0, 3), bytes.subarray(3)]);
    expect(r.out).toBe("a\nçé\n");
    expect(r.info.encoding).toBe("utf-8");
    expect(utf8CompleteLength(bytes.subarray(0, 3))).toBe(2);
  });
  it("gunzips by magic number and fails clearly on truncated gzip", async () => {
    const gz = gzipSync(Buffer.from("a,b\n1,2\n"));
    expect((await collectText([gz])).out).toBe("a,b\n1,2\n");
    await expect(collectText([gz.subarray(0, gz.length - 6)])).rejects.toThrow(
      /t\.csv: the gzip data is truncated/,
    );
  });
  it("refuses binary data, naming the first NUL byte", async () => {
    await expect(collectText([Buffer.from([1, 2, 0, 4, 5, 0, 0, 7])])).rejects.toThrow(
      /t\.csv is not a text file \(it contains binary bytes: a NUL byte at byte 2\)/,
    );
  });
  it("names UTF-16 without a byte order mark instead of calling it binary", async () => {
    const le = Buffer.from("id,name\n1,Ann\n2,Bob\n", "utf16le");
    expect(looksUtf16(le)).toBe("utf-16le");
    expect(looksUtf16(Buffer.from(le).swap16())).toBe("utf-16be");
    expect(looksUtf16(Buffer.from("id,name\n1,Ann\n"))).toBeNull();
    await expect(collectText([le])).rejects.toThrow(
      /t\.csv looks like UTF-16LE text without a byte order mark .*ingest\.encoding: utf-16le/,
    );
  });
  it("refuses other compressed and container formats by name, also inside gzip", async () => {
    const formats: Array<[number[], RegExp]> = [
      [[0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26], /is a bzip2 file/],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04], /is an xz file/],
      [[0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10, 0x81, 0x00], /is a zstd file/],
      [[0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00], /is a zip archive \(an \.xlsx workbook is one\)/],
    ];
    for (const [magic, message] of formats) {
      await expect(collectText([Buffer.from(magic)])).rejects.toThrow(message);
      await expect(collectText([gzipSync(Buffer.from(magic))])).rejects.toThrow(
        new RegExp(`t\\.csv \\(inside its gzip data\\) ${message.source}`),
      );
    }
    // Text that merely starts with "BZh" is text.
    expect(foreignFormatError("t.csv", Buffer.from("BZh,x\n1,2\n"))).toBeNull();
    expect((await collectText([Buffer.from("BZh,x\n1,2\n")])).out).toBe("BZh,x\n1,2\n");
  });
  it("settles on corrupt gzip larger than zlib's buffer (it used to hang: exit 13)", async () => {
    const rng = new Rng(7);
    const noise = Buffer.from(Array.from({ length: 20_000 }, () => rng.nextInt(256)));
    // A valid header start, then noise: zlib fails mid-stream after refusing more input.
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    await expect(collectText([Buffer.concat([header, noise])])).rejects.toThrow(
      /^t\.csv: the gzip data is corrupt \(.+\) somewhere after byte \d+ of 20010; upload the original file again$/,
    );
    // The tester's file: the gzip signature, then noise; refused at the method byte.
    const signature = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x5a]), noise]);
    await expect(collectText([signature])).rejects.toThrow(
      /^t\.csv: not a valid gzip file \(unknown compression method 90, expected 8 \(deflate\)\) at byte 2/,
    );
  });
  it("names truncation at the end of the file and garbage after a complete member", async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `${i},${i * 7}`).join("\n");
    const gz = gzipSync(Buffer.from(text));
    const cut = gz.subarray(0, 20_000);
    await expect(collectText([cut])).rejects.toThrow(
      /t\.csv: the gzip data is truncated \(unexpected end of file\) at byte 20000/,
    );
    await expect(collectText([Buffer.concat([gz, Buffer.from("trailing junk\n")])])).rejects.toThrow(
      /t\.csv: the gzip data is corrupt \(incorrect header check\): it is followed by bytes that are not another gzip member/,
    );
    // Two whole members are one file (gzip's own rule), in any chunking.
    const two = Buffer.concat([gzipSync(Buffer.from("a,b\n")), gzipSync(Buffer.from("1,2\n"))]);
    expect((await collectText([two.subarray(0, 7), two.subarray(7)])).out).toBe("a,b\n1,2\n");
  });
  it("lets a failure of the source itself through unchanged, and closes the source on an early stop", async () => {
    const gz = gzipSync(Buffer.from("a,b\n".repeat(50_000)));
    async function* failing() {
      yield gz.subarray(0, 100);
      throw new NotFoundError("s3 went away");
    }
    const read = async () => {
      for await (const _ of gunzip(failing(), "t.csv")) {
      }
    };
    await expect(read()).rejects.toThrow(/^s3 went away$/);
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < gz.length; i += 1000) yield gz.subarray(i, i + 1000);
      } finally {
        closed = true;
      }
    }
    for await (const _ of openText(source(), { source: "t.csv" })) break;
    expect(closed).toBe(true);
  });
  it("decode alone passes text through", async () => {
    let out = "";
    for await (const t of decode(
      (async function* () {
        yield Buffer.from("x");
      })(),
      { source: "s" },
    ))
      out += t;
    expect(out).toBe("x");
  });
});

describe("sniff", () => {
  it.each([
    ["a,b,c\n1,2,3\n", ","],
    ["a;b;c\n1,5;2;3\n", ";"],
    ["a\tb\n1\t2\n", "\t"],
    ["a|b|c\n1|2|3\n", "|"],
    ['"x;y",b\n"1;2",3\n', ","],
  ])("%j -> %j", (sample, expected) => {
    expect(sniffDelimiter(sample)).toBe(expected);
  });
  it("detects decimal commas only off comma-delimited files", () => {
    expect(sniffDecimal([["1,5", "2,25", "x"]], ";")).toBe(",");
    expect(sniffDecimal([["1.5", "2"]], ";")).toBe(".");
    expect(sniffDecimal([["1,5"]], ",")).toBe(".");
  });
});
