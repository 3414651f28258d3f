import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../common/config/load.js";
import { InputError } from "../common/errors.js";
import { dayParser, readTransactions, whitespaceToTabs } from "./transactions.js";

function config(transactions: Record<string, unknown>, ingest: Record<string, unknown> = {}) {
  return parseConfig({ id_column: "customer_id", transactions, ingest });
}

async function* bytes(...chunks: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield typeof c === "string" ? Buffer.from(c) : c;
}

async function read(text: string | Uint8Array | string[], transactions: Record<string, unknown> = {}) {
  const rejected: string[] = [];
  const chunks = Array.isArray(text) ? text : [text];
  const result = await readTransactions(bytes(...chunks), "transactions/t.csv", config(transactions), {
    rejected: (t) => rejected.push(t),
  });
  const customers = result.accumulator.finish(config(transactions).transactions.time_unit);
  return { result, rejected: rejected.join(""), customers };
}

const WHITESPACE = {
  format: { delimiter: "whitespace", header: false, columns: ["customer_id", "date", "cds", "amount"] },
};

describe("transactions input", () => {
  it("reads whitespace-separated logs without a header, runs of spaces and CRLF included", async () => {
    const log = " 00001 19970101  1   11.77\r\n 00001  19970108\t2   20.00\r\n 00002 19970112  1   12.00\r\n";
    const { result, customers } = await read(log, { ...WHITESPACE, time_unit: "day" });
    expect(result.rejected).toBe(0);
    expect(result.columns).toEqual(["customer_id", "date", "cds", "amount"]);
    expect(customers).toEqual([
      expect.objectContaining({ id: "00001", frequency: 1, recency: 7, T: 11, monetary: 20 }),
      expect.objectContaining({ id: "00002", frequency: 0, recency: 0, T: 0 }),
    ]);
  });

  it("gives the same result whatever the chunk boundaries (a run of spaces split across chunks)", async () => {
    const log = " 1 19970101  1   11.77\n 1 19970108  2   20.00\n 2 19970112  1   12.00\n";
    const whole = await read(log, WHITESPACE);
    for (const cut of [1, 2, 12, 13, 14, 25, 40]) {
      const split = await read([log.slice(0, cut), log.slice(cut)], WHITESPACE);
      expect(split.customers, `cut at ${cut}`).toEqual(whole.customers);
    }
    const out: string[] = [];
    for await (const t of whitespaceToTabs(
      (async function* () {
        yield "  a  b ";
        yield "  c\n d\te \n";
      })(),
    ))
      out.push(t);
    expect(out.join("")).toBe("a\tb\tc\nd\te\n");
  });

  it("uses the header line's names, or format.columns in its place, and reads gzip", async () => {
    const csv = "when,who,spend\n2024-01-02,a,5\n2024-01-09,a,7.5\n";
    const byHeader = await read(gzipSync(Buffer.from(csv)), {
      customer_column: "who",
      time_column: "when",
      value_column: "spend",
      time_unit: "day",
    });
    expect(byHeader.customers[0]).toMatchObject({ id: "a", frequency: 1, recency: 7, monetary: 7.5 });
    const renamed = await read(csv, { format: { columns: ["date", "customer_id", "amount"] } });
    expect(renamed.result.accepted).toBe(2);
    await expect(read(csv, {})).rejects.toThrow(
      /the header line has no column "customer_id" \(columns: when, who, spend\)/,
    );
  });

  it("quarantines bad rows with line, column, reason and raw text", async () => {
    const csv = [
      "customer_id,date,amount",
      "a,2024-01-02,5",
      ",2024-01-03,5",
      "b,2024-02-30,5",
      "c,2024-01-04,abc",
      "d,2024-01-05",
      'e,2024-01-06,"7',
      "f,2024-01-07,",
      "a,2024-01-09,6",
    ].join("\n");
    const { result, rejected, customers } = await read(csv, { time_unit: "day" });
    expect(result.rowsIn).toBe(8);
    expect(result.rejected).toBe(6);
    expect(rejected.split("\n").slice(0, 7)).toEqual([
      "line,column,reason,raw",
      '3,customer_id,missing customer id,",2024-01-03,5"',
      '4,date,"not a date in format auto: ""2024-02-30""","b,2024-02-30,5"',
      '5,amount,"not a number: ""abc""","c,2024-01-04,abc"',
      '6,amount,"wrong number of fields: 2, expected 3","d,2024-01-05"',
      '7,amount,unbalanced quote,"e,2024-01-06,""7"',
      '8,amount,missing value,"f,2024-01-07,"',
    ]);
    expect(customers).toEqual([expect.objectContaining({ id: "a", frequency: 1, recency: 7 })]);
    expect(result.rejectShareExceeded).toBe(true);
  });

  it("counts purchases after observation_end apart and measures T to it", async () => {
    const csv = "customer_id,date,amount\na,2024-01-01,1\na,2024-01-15,1\nb,2024-01-10,1\n";
    const { result, customers } = await read(csv, { observation_end: "2024-01-10", time_unit: "day" });
    expect(result.afterEnd).toBe(1);
    expect(customers.map((c) => [c.id, c.frequency, c.T])).toEqual([
      ["a", 0, 9],
      ["b", 0, 0],
    ]);
  });

  it("refuses unusable files and settings with one sentence", async () => {
    await expect(read("")).rejects.toThrow(/has no transaction rows/);
    await expect(read("customer_id,date,amount\nx,never,1\n")).rejects.toThrow(
      /none of its 1 rows could be read; first: line 2, column "date"/,
    );
    await expect(read(Buffer.from([0, 1, 2, 3, 0, 0]))).rejects.toThrow(/not a text file/);
    await expect(
      read("customer_id,date,amount\na,2024-01-01,1\n", { observation_end: "soon" }),
    ).rejects.toThrow(InputError);
    expect(() => dayParser("MM/DD/YYYY")).toThrow(/time_format "MM\/DD\/YYYY" is not one of/);
    expect(dayParser("DD.MM.YYYY")("02.01.2024")).toBe(dayParser("auto")("2024-01-02"));
  });
});
