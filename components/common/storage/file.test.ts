import { mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, UsageError } from "../errors.js";
import { FileStorage, generationOf, INTERNAL } from "./file.js";

// The full contract (both drivers) is test/storage.contract.test.ts; these are
// the file driver's own promises: generations from mtime+size, sidecars,
// folders, and what a folder bucket cannot hold.
let root: string;
let s: FileStorage;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "churn-file-driver-"));
  s = new FileStorage(root, `file://${root}`);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("file:// driver", () => {
  it("derives the generation from the file's mtime (ns) and size", async () => {
    const info = await s.write("a.csv", "hello");
    const st = await stat(join(root, "a.csv"), { bigint: true });
    expect(info.generation).toBe(`${st.mtimeNs}${"5".padStart(12, "0")}`);
    expect(generationOf({ mtimeNs: 7n, size: 12n })).toBe("7000000000012");
  });

  it("sees a file replaced by hand as a new generation without our metadata", async () => {
    const written = await s.write("weekly/w1.csv", "id\n1\n", { metadata: { "churn-writer": "init" } });
    await writeFile(join(root, "weekly/w1.csv"), "id\n2\n");
    await utimes(join(root, "weekly/w1.csv"), new Date(), new Date(Date.now() + 5_000));
    const info = await s.stat("weekly/w1.csv");
    expect(info?.generation).not.toBe(written.generation);
    expect(info?.metadata).toEqual({});
  });

  it("stamps a rewrite after the previous mtime even when that lies in the future", async () => {
    await s.write("x", "aaaa");
    // As if the previous write landed later in the same coarse clock tick (or clocks differ).
    const future = new Date(Date.now() + 60_000);
    await utimes(join(root, "x"), future, future);
    const before = await stat(join(root, "x"), { bigint: true });
    const after = await s.write("x", "bbbb");
    const st = await stat(join(root, "x"), { bigint: true });
    expect(st.mtimeNs).toBeGreaterThan(before.mtimeNs);
    expect(after.generation).not.toBe(generationOf(before));
  });

  it("treats an existing file as taken for createIfAbsent, even one put there by hand", async () => {
    await writeFile(join(root, "lease"), "someone else");
    expect(await s.createIfAbsent("lease", "me")).toBeNull();
    expect(await readFile(join(root, "lease"), "utf8")).toBe("someone else");
  });

  it("hides its internal folder from listings and refuses names inside it", async () => {
    await s.write("a", "1", { metadata: { k: "v" } });
    expect((await readdir(join(root, INTERNAL))).sort()).toContain("meta");
    expect((await s.list("")).map((o) => o.name)).toEqual(["a"]);
    expect((await s.list(".churn")).map((o) => o.name)).toEqual([]);
    await expect(s.write(`${INTERNAL}/meta/x`, "1")).rejects.toBeInstanceOf(UsageError);
  });

  it("follows links to files inside the bucket, never to folders", async () => {
    await s.write("input/own.csv", "id\n1\n");
    await s.write("input/sub/deep.csv", "id\n2\n");
    await symlink(join(root, "input/own.csv"), join(root, "input/linked.csv"));
    await symlink("sub", join(root, "input/folder"));
    expect((await s.list("input/")).map((o) => o.name)).toEqual([
      "input/linked.csv",
      "input/own.csv",
      "input/sub/deep.csv",
    ]);
    expect(await s.readText("input/linked.csv")).toBe("id\n1\n");
    expect(await s.readText("input/folder/deep.csv")).toBe("id\n2\n");
  });

  describe("links out of the bucket folder", () => {
    let outside: string;
    beforeEach(async () => {
      outside = await mkdtemp(join(tmpdir(), "churn-file-outside-"));
      await writeFile(join(outside, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
      await s.write("weekly/own.csv", "id\n1\n");
    });
    afterEach(async () => {
      await rm(outside, { recursive: true, force: true });
    });

    /** Every way to get at a name, as the error each one gives (or "ok"). */
    async function attempts(name: string) {
      const outcome = async (p: Promise<unknown>) =>
        p.then(
          () => "ok",
          (error: Error) => error,
        );
      return {
        stat: await outcome(s.stat(name)),
        read: await outcome(s.readText(name)),
        stream: await outcome(
          (async () => {
            for await (const _ of s.createReadStream(name, { gunzip: false })) {
            }
          })(),
        ),
        copy: await outcome(s.copy(name, "weekly/copied.csv")),
      };
    }

    it("refuses a link to a file outside, naming the link, and leaves it out of listings", async () => {
      await symlink(join(outside, "passwd"), join(root, "weekly/passwd.csv"));
      const tried = await attempts("weekly/passwd.csv");
      for (const [how, error] of Object.entries(tried)) {
        expect(error, how).toBeInstanceOf(UsageError);
        const message = (error as Error).message;
        expect(message, how).toMatch(
          new RegExp(
            `^cannot (read|copy) file://${root}/weekly/passwd\\.csv: it is a symbolic link to ${outside}/passwd, outside the bucket folder`,
          ),
        );
        expect(message, how).not.toContain("root:");
      }
      expect((await s.list("weekly/")).map((o) => o.name)).toEqual(["weekly/own.csv"]);
      expect((await s.list("")).map((o) => o.name)).toEqual(["weekly/own.csv"]);
      expect(await s.stat("weekly/copied.csv")).toBeNull();
    });

    it("refuses a link to a folder outside for reads, writes and deletes, and lists nothing through it", async () => {
      await symlink(outside, join(root, "output"));
      for (const [how, error] of Object.entries(await attempts("output/passwd"))) {
        expect(error, how).toBeInstanceOf(UsageError);
        expect((error as Error).message, how).toContain(
          `"output" is a symbolic link to ${outside}, outside the bucket folder`,
        );
      }
      await expect(s.write("output/w1/_FAILED", "failed")).rejects.toThrow(
        /^cannot write file:\/\/.*\/output\/w1\/_FAILED: "output" is a symbolic link to /,
      );
      await expect(s.delete("output/passwd")).rejects.toBeInstanceOf(UsageError);
      expect(await s.list("output/")).toEqual([]);
      expect((await s.list("")).map((o) => o.name)).toEqual(["weekly/own.csv"]);
      // Nothing was written or removed out there.
      expect((await readdir(outside)).sort()).toEqual(["passwd"]);
    });

    it("refuses a loop of links as such", async () => {
      await symlink(join(root, "weekly/b.csv"), join(root, "weekly/a.csv"));
      await symlink(join(root, "weekly/a.csv"), join(root, "weekly/b.csv"));
      await expect(s.stat("weekly/a.csv")).rejects.toThrow(/it is a loop of symbolic links/);
      expect((await s.list("weekly/")).map((o) => o.name)).toEqual(["weekly/own.csv"]);
    });

    it("still works in a bucket whose own folder is reached through a link", async () => {
      const alias = join(outside, "alias");
      await symlink(root, alias);
      const through = new FileStorage(alias, `file://${alias}`);
      expect(await through.readText("weekly/own.csv")).toBe("id\n1\n");
      await through.write("weekly/new.csv", "id\n3\n");
      expect((await through.list("weekly/")).map((o) => o.name)).toEqual([
        "weekly/new.csv",
        "weekly/own.csv",
      ]);
    });
  });

  it("removes folders left empty by deletes, as GCS 'folders' vanish", async () => {
    await s.write("runs/r-1/steps/ingest/output.json", "{}", { metadata: { a: "b" } });
    await s.write("runs/r-2/x", "{}", { metadata: { a: "b" } });
    expect(await s.deletePrefix("runs/r-1/")).toBe(1);
    expect(await readdir(join(root, "runs"))).toEqual(["r-2"]);
    expect(await readdir(join(root, INTERNAL, "meta", "runs"))).toEqual(["r-2"]);
    expect(await s.stat("runs/r-2/x")).not.toBeNull();
  });

  it("explains that a folder bucket cannot hold both a and a/b", async () => {
    await s.write("a", "file");
    const error = await s.write("a/b", "nested").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/cannot hold both/);
    await s.write("c/d", "nested");
    await expect(s.write("c", "file")).rejects.toBeInstanceOf(UsageError);
    expect(await s.stat("c")).toBeNull();
  });

  it("keeps metadata of the replaced generation until the new data is in place", async () => {
    const old = await s.write("m", "1", { metadata: { v: "1" } });
    await s.write("m", "2", { metadata: { v: "2" } });
    const sidecar = JSON.parse(await readFile(join(root, INTERNAL, "meta", "m.json"), "utf8"));
    expect(sidecar.versions.map((v: { metadata: { v: string } }) => v.metadata.v)).toEqual(["2", "1"]);
    expect(sidecar.versions[1].generation).toBe(old.generation);
  });

  it("survives a damaged sidecar by dropping only the metadata", async () => {
    await s.write("m", "1", { metadata: { v: "1" } });
    await writeFile(join(root, INTERNAL, "meta", "m.json"), "{not json");
    expect(await s.stat("m")).toMatchObject({ size: 1, metadata: {} });
  });

  it("copies gzip objects byte for byte and refuses a conditional copy onto a newer target", async () => {
    const gz = gzipSync("id\n1\n");
    await s.write("a.csv.gz", gz, { gzip: false });
    const target = await s.write("b.csv.gz", "old");
    await s.write("b.csv.gz", "newer");
    await expect(
      s.copy("a.csv.gz", "b.csv.gz", { ifGenerationMatch: target.generation }),
    ).rejects.toBeInstanceOf(ConflictError);
    await s.copy("a.csv.gz", "c.csv.gz");
    expect((await readFile(join(root, "c.csv.gz"))).equals(gz)).toBe(true);
  });

  it("leaves no temp file behind after a failed write", async () => {
    async function* broken() {
      yield Buffer.from("partial");
      throw new Error("boom");
    }
    await expect(s.write("x", broken())).rejects.toThrow("boom");
    expect(await s.stat("x")).toBeNull();
    expect(await readdir(join(root, INTERNAL, "tmp"))).toEqual([]);
  });
});
