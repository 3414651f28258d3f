import { PassThrough, Readable, Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { collect, drained, readerOf } from "./streams.js";

// What every driver's object stream promises on failure: one clear error, and no wait that never ends.

const gunzipped = (bytes: Buffer, chunk = 1 << 20) =>
  collect(
    readerOf(
      Readable.from(
        Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) =>
          bytes.subarray(i * chunk, (i + 1) * chunk),
        ),
      ),
      {
        gunzip: true,
        uri: "file:///b/x.csv.gz",
        sourceError: (error) => error as Error,
      },
    ),
  );

describe("readerOf", () => {
  it("gunzips, and words gzip failures as the CSV readers do, naming the object", async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `${i},${i * 7}\n`).join("");
    const gz = gzipSync(Buffer.from(text));
    expect((await gunzipped(gz, 1000)).toString()).toBe(text);
    await expect(gunzipped(Buffer.from("a,b\n1,2\n"))).rejects.toThrow(
      /^file:\/\/\/b\/x\.csv\.gz: not a valid gzip file \(incorrect header check\) at byte 0: the name says gzip but the data is not/,
    );
    await expect(gunzipped(gz.subarray(0, 300), 100)).rejects.toThrow(
      /^file:\/\/\/b\/x\.csv\.gz: the gzip data is truncated \(unexpected end of file\) at byte 300:/,
    );
    await expect(gunzipped(Buffer.from([0x1f, 0x8b, 9, 0, 0]))).rejects.toThrow(
      /not a valid gzip file \(unknown compression method 9, expected 8 \(deflate\)\) at byte 2/,
    );
    await expect(gunzipped(Buffer.from([0x1f, 0x8b, 9, 0, 0]))).rejects.toBeInstanceOf(InputError);
  });
});

describe("drained", () => {
  it("resolves on drain, and rejects (instead of waiting forever) when the stream fails or closes", async () => {
    const slow = new PassThrough({ highWaterMark: 4 });
    expect(slow.write("12345")).toBe(false);
    const waiting = drained(slow);
    slow.resume();
    await expect(waiting).resolves.toBeUndefined();

    const failing = new Writable({
      highWaterMark: 1,
      write: (_chunk, _encoding, callback) => setTimeout(callback, 50),
    });
    failing.on("error", () => {});
    failing.write("xx");
    const never = drained(failing);
    failing.destroy(new Error("disk full"));
    await expect(never).rejects.toThrow("disk full");
    await expect(drained(failing)).rejects.toThrow("disk full");

    const closed = new PassThrough({ highWaterMark: 1 });
    closed.write("xx");
    const pending = drained(closed);
    closed.destroy();
    await expect(pending).rejects.toThrow(/closed before all data was written/);
  });
});
