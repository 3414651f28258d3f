import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildCustomerIndex, CustomerIndex, type IndexExtras, idHash } from "./customer-index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "customer-index-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const HEADER = "customer_id,churn_probability,risk_tier,reason_1,reason_codes,model_version,region\n";

/** Yields the text in pieces of `size` bytes, so records cross chunk boundaries. */
async function* pieces(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function build(text: string, chunk = 7, extras?: Map<string, IndexExtras>) {
  const scores = join(dir, "scores.csv");
  await writeFile(scores, text);
  const path = join(dir, "lookup.index");
  const built = await buildCustomerIndex({
    scores: pieces(text, chunk),
    scoresName: "scores.csv",
    source: "output/w1/scores.csv",
    week: "w1",
    path,
    extras,
    contactList: extras !== undefined,
  });
  return { built, index: await CustomerIndex.open(path, scores) };
}

describe("the customer index", () => {
  it("finds every customer's line, ids quoted or not, across chunk boundaries and CRLF lines", async () => {
    const text =
      HEADER +
      "c1,0.91,high,Tenure: 2 (typical 30),Tenure:+0.8,v1,north\r\n" +
      '"a,b",0.5,medium,"Plan: ""gold""",Plan:+0.1,v1,south\n' +
      '"multi",0.1,low,"line one\nline two",,v1,\n' +
      "\n" +
      "é-ü,0.2,low,,,v1,east";
    for (const chunk of [1, 3, 7, 4096]) {
      const { built, index } = await build(text, chunk);
      expect(built.header.count).toBe(4);
      expect(built.header.columns[0]).toBe("customer_id");
      expect((await index.find("c1"))?.fields).toMatchObject({ churn_probability: "0.91", region: "north" });
      expect((await index.find("a,b"))?.fields.reason_1).toBe('Plan: "gold"');
      expect((await index.find("multi"))?.fields.reason_1).toBe("line one\nline two");
      expect((await index.find("é-ü"))?.fields).toMatchObject({ risk_tier: "low", region: "east" });
      expect(await index.find("c2")).toBeNull();
      expect(await index.find("")).toBeNull();
      await index.close();
    }
  });

  it("answers 20,000 customers with rank, group and P(alive) joined, and no one else", async () => {
    let text = HEADER;
    for (let i = 0; i < 20_000; i++) text += `id${i},0.${i % 10},low,,,v2,r${i}\n`;
    const extras = new Map<string, IndexExtras>();
    for (let n = 0; n < 20_000; n++) {
      if (n % 3 === 0) extras.set(`id${n}`, { rank: n + 1, group: n % 2 === 0 ? "contact" : "control" });
      if (n % 3 === 1) extras.set(`id${n}`, { probAlive: n / 20_000 });
    }
    // An id no row has joins nothing.
    extras.set("id-none", { rank: 99_999 });
    const { built, index } = await build(text, 65_536, extras);
    expect(built.header.bucket_bits).toBeGreaterThan(10);
    for (const n of [0, 1, 2, 3, 9_999, 19_999]) {
      const found = await index.find(`id${n}`);
      expect(found?.fields.region).toBe(`r${n}`);
      expect(found?.rank).toBe(n % 3 === 0 ? n + 1 : null);
      expect(found?.group).toBe(n % 3 === 0 ? (n % 2 === 0 ? "contact" : "control") : null);
      expect(found?.probAlive).toBe(n % 3 === 1 ? n / 20_000 : null);
    }
    expect(await index.find("id20000")).toBeNull();
    await index.close();
  });

  it("writes the same bytes for the same scores.csv, whatever the chunking", async () => {
    let text = HEADER;
    for (let i = 0; i < 5_000; i++) text += `id${i},0.5,low,,,v1,\n`;
    const a = await build(text, 1_000);
    await a.index.close();
    const b = await build(text, 65_536);
    await b.index.close();
    expect(a.built.sha256).toBe(b.built.sha256);
    expect(a.built.size).toBe(b.built.size);
  });

  it("hashes ids as their UTF-8 bytes (the same id always lands in the same place)", () => {
    expect(idHash("c1")).toEqual(idHash("c1"));
    expect(idHash("c1")).not.toEqual(idHash("c2"));
    expect(idHash("é")).not.toEqual(idHash("e"));
  });

  it("refuses a scores.csv that is not the indexed one, a damaged index, and an empty file", async () => {
    const { index } = await build(`${HEADER}c1,0.9,high,,,v1,\n`);
    await index.close();
    await writeFile(join(dir, "scores.csv"), `${HEADER}c1,0.9,high,,,v1,x\n`);
    await expect(CustomerIndex.open(join(dir, "lookup.index"), join(dir, "scores.csv"))).rejects.toThrow(
      /indexes a scores.csv of \d+ bytes, the one beside it has \d+/,
    );
    await writeFile(join(dir, "lookup.index"), "not an index at all");
    await expect(CustomerIndex.open(join(dir, "lookup.index"), join(dir, "scores.csv"))).rejects.toThrow(
      /is not a customer index/,
    );
    await expect(build("")).rejects.toThrow(/is empty: it has no header/);
  });
});
