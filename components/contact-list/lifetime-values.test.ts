import { describe, expect, it } from "vitest";
import { readLifetimeValues } from "./lifetime-values.js";

/** The text as a byte stream cut every `size` bytes (so records and UTF-8 characters straddle chunks). */
async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const CSV =
  "customer_id,frequency,segment,lifetime_value\n" +
  'c1,2,"Can\'t Lose Them",120.5\n' +
  '"ä,2",0,New,7\n' +
  "c3,1,Hibernating,\n" +
  "c4,5,Champions,0\n";

describe("readLifetimeValues", () => {
  it.each([1, 3, 7, 1024])("maps ids to lifetime_value, whatever the chunk size (%i bytes)", async (size) => {
    const values = await readLifetimeValues(chunks(CSV, size), "customers.csv");
    // c3 has no value (no spend model for it): it is left out, not zero.
    expect([...values]).toEqual([
      ["c1", 120.5],
      ["ä,2", 7],
      ["c4", 0],
    ]);
  });

  it("names the file when it is empty or is not a customers.csv", async () => {
    await expect(readLifetimeValues(chunks("", 8), "output/lifetime/s/customers.csv")).rejects.toThrow(
      "output/lifetime/s/customers.csv is empty: it has no header",
    );
    await expect(
      readLifetimeValues(chunks("customer_id,prob_alive\nc1,0.5\n", 8), "output/lifetime/s/customers.csv"),
    ).rejects.toThrow('output/lifetime/s/customers.csv: the header has no column "lifetime_value"');
  });

  it("a broken quote names the file and line", async () => {
    await expect(
      readLifetimeValues(chunks('customer_id,lifetime_value\nc1,1\n"c2,2\n', 4), "customers.csv"),
    ).rejects.toThrow(/customers\.csv line 3/);
  });
});
