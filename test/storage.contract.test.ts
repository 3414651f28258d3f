import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConflictError,
  InputError,
  NotFoundError,
  TransientError,
  UsageError,
} from "../components/common/errors.js";
import { INTERNAL } from "../components/common/storage/file.js";
import { createGcsClient, GcsStorage } from "../components/common/storage/gcs.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";

/**
 * One contract, two drivers: every test below runs on file:// (a temp folder)
 * and on gs:// (fake-gcs-server started here, bucket versioning on, with a
 * bucket prefix so name mapping is exercised too).
 */
interface Harness {
  storage: Storage;
  /** Stored generations of one object, noncurrent ones included. */
  versions(name: string): Promise<number>;
  /** Staging leftovers the driver keeps outside the object namespace. */
  leftovers(): Promise<string[]>;
  stop(): Promise<void>;
}

const drivers: { driver: string; start: () => Promise<Harness> }[] = [
  {
    driver: "file",
    start: async () => {
      const dir = await mkdtemp(join(tmpdir(), "churn-storage-contract-"));
      const storage = await openStorage(`file://${dir}`);
      return {
        storage,
        versions: async (name) => ((await storage.stat(name)) ? 1 : 0),
        leftovers: async () => readdir(join(dir, INTERNAL, "tmp")).catch(() => []),
        stop: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    driver: "gs",
    start: async () => {
      const emulator: GcsEmulator = await startGcsEmulator();
      const prefix = "contract/prefix";
      // A small chunk size makes multi-MB streams span several resumable chunks.
      const storage = new GcsStorage(emulator.bucket, prefix, `gs://${emulator.bucket}/${prefix}`, {
        chunkSize: 256 * 1024,
      });
      const raw = createGcsClient().bucket(emulator.bucket);
      return {
        storage,
        versions: async (name) => {
          const key = `${prefix}/${name}`;
          const [files] = await raw.getFiles({ prefix: key, versions: true });
          return files.filter((f) => f.name === key).length;
        },
        leftovers: async () => [],
        stop: () => emulator.stop(),
      };
    },
  },
];

/** A stream of `chunks` random chunks, with its expected digest and size. */
function randomStream(
  chunks: number,
  chunkSize: number,
  options: { delayMs?: number; failAfter?: number } = {},
) {
  const hash = createHash("sha256");
  let size = 0;
  const parts: Buffer[] = [];
  for (let i = 0; i < chunks; i++) {
    const part = randomBytes(chunkSize);
    parts.push(part);
    hash.update(part);
    size += part.length;
  }
  async function* generate(): AsyncIterable<Uint8Array> {
    for (const [i, part] of parts.entries()) {
      if (options.failAfter !== undefined && i === options.failAfter)
        throw new Error("source broke mid-stream");
      if (options.delayMs) await sleep(options.delayMs);
      yield part;
    }
  }
  return { stream: generate(), sha256: hash.digest("hex"), size, bytes: () => Buffer.concat(parts) };
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.each(drivers)("storage contract: $driver", ({ driver, start }) => {
  let h: Harness;
  let s: Storage;
  let counter = 0;
  /** A fresh folder per test, so tests never see each other's objects. */
  const fresh = () => `t${++counter}-${randomBytes(3).toString("hex")}/`;

  beforeAll(async () => {
    h = await start();
    s = h.storage;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("round-trips text and bytes, and write() reports what stat() sees", async () => {
    const p = fresh();
    const text = "héllo, wörld\nline 2\n";
    const written = await s.write(`${p}a.txt`, text);
    expect(await s.readText(`${p}a.txt`)).toBe(text);
    const info = await s.stat(`${p}a.txt`);
    expect(info).not.toBeNull();
    expect(info?.name).toBe(`${p}a.txt`);
    expect(info?.size).toBe(Buffer.byteLength(text));
    expect(info?.generation).toBe(written.generation);
    expect(info?.updated).toBeInstanceOf(Date);
    expect(Math.abs((info?.updated.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    const bytes = randomBytes(4096);
    bytes[0] = 0;
    await s.write(`${p}b.bin`, bytes);
    expect((await s.readBytes(`${p}b.bin`)).equals(bytes)).toBe(true);

    await s.write(`${p}empty`, "");
    expect((await s.readBytes(`${p}empty`)).length).toBe(0);
    expect((await s.stat(`${p}empty`))?.size).toBe(0);
  });

  it("streams a multi-MB object in and out", async () => {
    const p = fresh();
    const source = randomStream(24, 256 * 1024); // 6 MiB
    const info = await s.write(`${p}big.bin`, source.stream);
    expect(info.size).toBe(source.size);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of s.createReadStream(`${p}big.bin`)) {
      hash.update(chunk);
      size += chunk.length;
    }
    expect(size).toBe(source.size);
    expect(hash.digest("hex")).toBe(source.sha256);
  });

  it("gzips by extension: stored bytes are gzip, reads are plain", async () => {
    const p = fresh();
    const text = "customer_id,churn\n".concat("1,Yes\n".repeat(10_000));
    const info = await s.write(`${p}x.csv.gz`, text);
    const stored = await s.readBytes(`${p}x.csv.gz`, { gunzip: false });
    expect([...stored.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(stored.length).toBe(info.size);
    expect(stored.length).toBeLessThan(text.length / 10);
    expect(gunzipSync(stored).toString("utf8")).toBe(text);
    expect(await s.readText(`${p}x.csv.gz`)).toBe(text);
    // A plain name is stored as given, and gzip can be forced either way.
    await s.write(`${p}y.csv`, text, { gzip: true });
    expect(await s.readText(`${p}y.csv`, { gunzip: true })).toBe(text);

    const source = randomStream(12, 256 * 1024);
    await s.write(`${p}big.bin.gz`, source.stream);
    expect(sha256(await s.readBytes(`${p}big.bin.gz`))).toBe(source.sha256);
    // An in-memory payload too big for one request is gzipped exactly once as well.
    const big = randomBytes(9 * 1024 * 1024);
    await s.write(`${p}big2.bin.gz`, big);
    expect(sha256(gunzipSync(await s.readBytes(`${p}big2.bin.gz`, { gunzip: false })))).toBe(sha256(big));
  });

  it("fails a truncated or corrupt gzip read with an InputError naming the object", async () => {
    const p = fresh();
    const whole = gzipSync(Buffer.from("a,b\n".repeat(50_000)));
    await s.write(`${p}cut.csv.gz`, whole.subarray(0, Math.floor(whole.length / 2)), { gzip: false });
    const error = await s.readText(`${p}cut.csv.gz`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`${s.uri}/${p}cut.csv.gz`);
    expect((error as Error).message).toMatch(/gzip/);

    await s.write(`${p}junk.csv.gz`, "this is not gzip at all", { gzip: false });
    await expect(s.readText(`${p}junk.csv.gz`)).rejects.toBeInstanceOf(InputError);
  });

  it("lists by prefix, sorted, with and without the delimiter", async () => {
    const p = fresh();
    const names = ["b.csv", "a.csv", "b/c.csv", "ab.csv", "b/d/e.csv", "z"];
    await Promise.all(names.map((n) => s.write(`${p}${n}`, n)));
    await s.write(`${fresh()}a.csv`, "elsewhere");

    const list = async (prefix: string, delimiter = false) =>
      (await s.list(`${p}${prefix}`, { delimiter })).map((o) => o.name.slice(p.length));
    expect(await list("")).toEqual(["a.csv", "ab.csv", "b.csv", "b/c.csv", "b/d/e.csv", "z"]);
    expect(await list("a")).toEqual(["a.csv", "ab.csv"]);
    expect(await list("b")).toEqual(["b.csv", "b/c.csv", "b/d/e.csv"]);
    expect(await list("b/")).toEqual(["b/c.csv", "b/d/e.csv"]);
    expect(await list("", true)).toEqual(["a.csv", "ab.csv", "b.csv", "z"]);
    expect(await list("b", true)).toEqual(["b.csv"]);
    expect(await list("b/", true)).toEqual(["b/c.csv"]);
    expect(await list("nothing/")).toEqual([]);

    const infos = await s.list(p);
    for (const info of infos) {
      expect(info.size).toBe(Buffer.byteLength(info.name.slice(p.length)));
      expect(info.generation).toBe((await s.stat(info.name))?.generation);
    }
  });

  it("changes the generation on every rewrite, even same-size rewrites in quick succession", async () => {
    const p = fresh();
    expect(await s.stat(`${p}g`)).toBeNull();
    const seen = new Set<string>();
    for (const content of ["aaaa", "bbbb", "cccc", "dddd", "aaaa"]) {
      const info = await s.write(`${p}g`, content);
      expect((await s.stat(`${p}g`))?.generation).toBe(info.generation);
      seen.add(info.generation);
    }
    expect(seen.size).toBe(5);
  });

  it("keeps custom metadata with the object generation that carries it", async () => {
    const p = fresh();
    const metadata = { "churn-writer": "ingest", run: "r-0123456789abcdef" };
    const written = await s.write(`${p}m.json`, "{}", { metadata, contentType: "application/json" });
    expect(written.metadata).toEqual(metadata);
    expect((await s.stat(`${p}m.json`))?.metadata).toEqual(metadata);
    expect((await s.list(p))[0]?.metadata).toEqual(metadata);
    await s.write(`${p}m.json`, "{ }");
    expect((await s.stat(`${p}m.json`))?.metadata).toEqual({});
  });

  it("createIfAbsent: exactly one of 10 concurrent callers wins, and its content and metadata stay", async () => {
    const p = fresh();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.createIfAbsent(`${p}lease`, `holder-${i}`, { metadata: { "churn-writer": `w${i}` } }),
      ),
    );
    const winners = results.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as number;
    expect(await s.readText(`${p}lease`)).toBe(`holder-${winner}`);
    const info = await s.stat(`${p}lease`);
    expect(info?.metadata).toEqual({ "churn-writer": `w${winner}` });
    expect(info?.generation).toBe(results[winner]?.generation);
    expect(await s.createIfAbsent(`${p}lease`, "late")).toBeNull();
    expect(await s.readText(`${p}lease`)).toBe(`holder-${winner}`);
  });

  it("conditional writes: ifGenerationMatch is compare-and-swap, losers get ConflictError", async () => {
    const p = fresh();
    const v1 = await s.write(`${p}champion`, "v1");
    const v2 = await s.write(`${p}champion`, "v2", { ifGenerationMatch: v1.generation });
    expect(v2.generation).not.toBe(v1.generation);
    await expect(s.write(`${p}champion`, "v3", { ifGenerationMatch: v1.generation })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(s.write(`${p}champion`, "v3", { ifGenerationMatch: 0 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(s.write(`${p}absent`, "x", { ifGenerationMatch: v2.generation })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await s.stat(`${p}absent`)).toBeNull();
    expect(await s.readText(`${p}champion`)).toBe("v2");

    // Many writers race from the same generation: exactly one swap succeeds.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        s.write(`${p}champion`, `w${i}`, { ifGenerationMatch: v2.generation }),
      ),
    );
    const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(ConflictError);
    expect(await s.readText(`${p}champion`)).toBe(`w${won[0]}`);
  });

  it("copies objects with their stored bytes and metadata, honouring ifGenerationMatch", async () => {
    const p = fresh();
    const text = "id,x\n1,2\n";
    await s.write(`${p}src.csv.gz`, text, { metadata: { "churn-writer": "score" } });
    const copied = await s.copy(`${p}src.csv.gz`, `${p}dst.csv.gz`);
    expect(await s.readText(`${p}dst.csv.gz`)).toBe(text);
    expect(
      (await s.readBytes(`${p}dst.csv.gz`, { gunzip: false })).equals(
        await s.readBytes(`${p}src.csv.gz`, { gunzip: false }),
      ),
    ).toBe(true);
    expect(copied.metadata).toEqual({ "churn-writer": "score" });
    expect((await s.stat(`${p}dst.csv.gz`))?.generation).toBe(copied.generation);

    const relabelled = await s.copy(`${p}src.csv.gz`, `${p}dst2.csv.gz`, {
      metadata: { "churn-writer": "publish" },
    });
    expect(relabelled.metadata).toEqual({ "churn-writer": "publish" });

    await expect(s.copy(`${p}src.csv.gz`, `${p}dst.csv.gz`, { ifGenerationMatch: 0 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const again = await s.copy(`${p}src.csv.gz`, `${p}dst.csv.gz`, { ifGenerationMatch: copied.generation });
    expect(again.generation).not.toBe(copied.generation);
    await expect(
      s.copy(`${p}src.csv.gz`, `${p}dst.csv.gz`, { ifGenerationMatch: copied.generation }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(s.copy(`${p}missing`, `${p}dst3`)).rejects.toBeInstanceOf(NotFoundError);
    expect(await s.stat(`${p}dst3`)).toBeNull();
  });

  it("deletes objects, conditionally, and with allVersions every stored generation", async () => {
    const p = fresh();
    await s.delete(`${p}never-existed`);
    const first = await s.write(`${p}d`, "1");
    const second = await s.write(`${p}d`, "2");
    await expect(s.delete(`${p}d`, { ifGenerationMatch: first.generation })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await s.readText(`${p}d`)).toBe("2");
    await s.delete(`${p}d`, { ifGenerationMatch: second.generation });
    expect(await s.stat(`${p}d`)).toBeNull();

    await s.write(`${p}v`, "1");
    await s.write(`${p}v`, "2");
    await s.delete(`${p}v`);
    expect(await s.stat(`${p}v`)).toBeNull();
    // A versioned gs:// bucket keeps noncurrent generations after a plain delete.
    if (driver === "gs") expect(await h.versions(`${p}v`)).toBeGreaterThan(0);
    await s.write(`${p}v`, "3");
    await s.delete(`${p}v`, { allVersions: true });
    expect(await s.stat(`${p}v`)).toBeNull();
    expect(await h.versions(`${p}v`)).toBe(0);
    expect(await s.list(p)).toEqual([]);
  });

  it("deletePrefix removes everything under the prefix and nothing else", async () => {
    const p = fresh();
    const other = fresh();
    await Promise.all(["a", "b/c", "b/d/e", "f.gz"].map((n) => s.write(`${p}${n}`, n)));
    await s.write(`${other}keep`, "keep");
    expect(await s.deletePrefix(p)).toBe(4);
    expect(await s.list(p)).toEqual([]);
    expect(await s.readText(`${other}keep`)).toBe("keep");
    expect(await s.deletePrefix(p)).toBe(0);
  });

  it("reports a missing object as NotFoundError naming its URI", async () => {
    const p = fresh();
    const error = await s.readText(`${p}nope.csv`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain(`${s.uri}/${p}nope.csv`);
    const streamed = await new Promise<unknown>((resolve) => {
      const stream = s.createReadStream(`${p}nope.csv.gz`);
      stream.on("error", resolve);
      stream.on("end", () => resolve("ended"));
      stream.resume();
    });
    expect(streamed).toBeInstanceOf(NotFoundError);
  });

  it("rejects invalid object names before touching storage", async () => {
    for (const name of ["../escape", "/abs", "a//b", "a/./b", ""]) {
      await expect(s.write(name, "x")).rejects.toBeInstanceOf(UsageError);
    }
  });

  it("publishes atomically: during a slow streaming write readers see only the old complete object", async () => {
    const p = fresh();
    const old = await s.write(`${p}out.bin`, "old complete content");
    const source = randomStream(12, 256 * 1024, { delayMs: 40 }); // 3 MiB over ~0.5 s, several chunks
    let done = false;
    const writing = s.write(`${p}out.bin`, source.stream).finally(() => {
      done = true;
    });
    // stat and read are separate calls, so each is checked on its own: every read is
    // the old object or the whole new one, every stat the old generation or the new size.
    let oldReads = 0;
    while (!done) {
      const info = await s.stat(`${p}out.bin`);
      if (info?.generation !== old.generation) expect(info?.size).toBe(source.size);
      const body = await s.readBytes(`${p}out.bin`);
      if (body.toString("utf8") === "old complete content") oldReads++;
      else expect(sha256(body)).toBe(source.sha256);
      await sleep(15);
    }
    await writing;
    expect(oldReads).toBeGreaterThanOrEqual(3);
    expect(sha256(await s.readBytes(`${p}out.bin`))).toBe(source.sha256);

    // A new object does not exist at all until its upload completes.
    const next = randomStream(8, 256 * 1024, { delayMs: 40 });
    let finished = false;
    const creating = s.write(`${p}new.bin`, next.stream).finally(() => {
      finished = true;
    });
    let absentSeen = 0;
    while (!finished) {
      const info = await s.stat(`${p}new.bin`);
      if (info) expect(info.size).toBe(next.size);
      else absentSeen++;
      await sleep(15);
    }
    await creating;
    expect(absentSeen).toBeGreaterThanOrEqual(3);
  });

  it("a source stream that fails mid-way leaves no partial object behind", async () => {
    const p = fresh();
    const old = await s.write(`${p}keep.bin`, "previous");
    const broken = randomStream(8, 256 * 1024, { failAfter: 5 });
    await expect(s.write(`${p}keep.bin`, broken.stream)).rejects.toThrow(/source broke/);
    expect((await s.stat(`${p}keep.bin`))?.generation).toBe(old.generation);
    expect(await s.readText(`${p}keep.bin`)).toBe("previous");

    const broken2 = randomStream(8, 256 * 1024, { failAfter: 5 });
    await expect(s.write(`${p}fresh.bin.gz`, broken2.stream)).rejects.toThrow(/source broke/);
    await sleep(200);
    expect(await s.stat(`${p}fresh.bin.gz`)).toBeNull();
    expect(await s.list(p)).toHaveLength(1);
    expect(await h.leftovers()).toEqual([]);
  });
});

describe("gs:// specifics", () => {
  let emulator: GcsEmulator;
  beforeAll(async () => {
    emulator = await startGcsEmulator({ bucket: "churn-specifics" });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it("openStorage(gs://bucket/prefix) talks to the emulator and prefixes object names", async () => {
    const storage = await openStorage(`gs://${emulator.bucket}/team/a`);
    expect(storage.uri).toBe(`gs://${emulator.bucket}/team/a`);
    await storage.write("weekly/2024-01.csv", "id\n1\n");
    const [files] = await createGcsClient().bucket(emulator.bucket).getFiles({ prefix: "team/" });
    expect(files.map((f) => f.name)).toEqual(["team/a/weekly/2024-01.csv"]);
    expect((await storage.list("weekly/")).map((o) => o.name)).toEqual(["weekly/2024-01.csv"]);
  });

  it("maps an unreachable endpoint to TransientError (exit 1) naming the URI", async () => {
    // A port nothing listens on: the emulator's own, after a throwaway one stops.
    const gone = await startGcsEmulator({ bucket: "gone" });
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: gone.host });
    await gone.stop();
    const storage = new GcsStorage("gone", "", "gs://gone", { client });
    const error = await storage.write("x.csv", "id\n").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).exitCode).toBe(1);
    expect((error as Error).message).toContain("gs://gone/x.csv");
  });

  it("names the gs:// URI in errors and maps a missing bucket to NotFoundError", async () => {
    const storage = await openStorage("gs://no-such-bucket-here");
    const error = await storage.readText("x.csv").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain("gs://no-such-bucket-here/x.csv");
  });
});
