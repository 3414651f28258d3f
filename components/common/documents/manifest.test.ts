import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, NotFoundError } from "../errors.js";
import { openStorage } from "../storage/index.js";
import type { Storage } from "../storage/types.js";
import {
  buildManifest,
  fileProblem,
  type Manifest,
  manifestText,
  parseManifest,
  readPublishState,
  readVerifiedSet,
} from "./manifest.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const PREFIX = "output/2026-W48/";
const FILES = { "scores.csv": "id,p\n1,0.5\n", "summary.json": '{"counts":{}}\n' };

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "manifest-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Publish FILES as publish does: the files, then the manifest built from what the store reported. */
async function publish(files: Record<string, string> = FILES, runId = "r-1"): Promise<Manifest> {
  const published = [];
  for (const [name, text] of Object.entries(files))
    published.push({ name, info: await storage.write(`${PREFIX}${name}`, text), sha256: sha(text) });
  const manifest = buildManifest(runId, "v1", published);
  await storage.write(`${PREFIX}_SUCCESS`, manifestText(manifest));
  return manifest;
}

/** Read the set into memory; the texts by name. */
async function pull(s: Storage = storage) {
  const got = new Map<string, string>();
  const state = await readVerifiedSet(s, PREFIX, (file) => {
    let text = "";
    return new Writable({
      write(chunk, _encoding, callback) {
        text += String(chunk);
        callback();
      },
      final(callback) {
        got.set(file.name, text);
        callback();
      },
    });
  });
  return { state, got };
}

describe("buildManifest and parseManifest", () => {
  it("lists every file with the size, sha256 and generation the store reported, sorted by name", async () => {
    const manifest = await publish({ "z.csv": "zz", "a.csv": "a" });
    const a = (await storage.stat(`${PREFIX}a.csv`))!;
    expect(manifest).toEqual({
      run_id: "r-1",
      model_version: "v1",
      files: [
        { name: "a.csv", size: 1, sha256: sha("a"), generation: a.generation },
        expect.objectContaining({ name: "z.csv", size: 2, sha256: sha("zz") }),
      ],
    });
    expect(parseManifest(await storage.readText(`${PREFIX}_SUCCESS`), "here")).toEqual(manifest);
  });

  it.each([
    ["the run id of an older release", "r-1\n", /here is not valid JSON/],
    [
      "a missing sha256",
      '{"run_id":"r","model_version":null,"files":[{"name":"a","size":1,"generation":"1"}]}',
      /here is not a valid document: files\[0\]\.sha256/,
    ],
    [
      "a path for a name",
      `{"run_id":"r","model_version":null,"files":[{"name":"../x","size":1,"sha256":"${sha("")}","generation":"1"}]}`,
      /files\[0\]\.name: must be a file name/,
    ],
    [
      "the manifest listing itself",
      `{"run_id":"r","model_version":null,"files":[{"name":"_SUCCESS","size":1,"sha256":"${sha("")}","generation":"1"}]}`,
      /files\[0\]\.name: cannot be one of the folder's markers/,
    ],
    [
      "a name twice",
      `{"run_id":"r","model_version":null,"files":[{"name":"a","size":1,"sha256":"${sha("")}","generation":"1"},{"name":"a","size":1,"sha256":"${sha("")}","generation":"2"}]}`,
      /files\[1\]\.name: lists "a" twice/,
    ],
    [
      "a negative size and an unknown key",
      `{"run_id":"r","model_version":null,"extra":1,"files":[{"name":"a","size":-1,"sha256":"${sha("")}","generation":"1"}]}`,
      /files\[0\]\.size.*; .*extra|extra.*files\[0\]\.size/,
    ],
  ])("refuses %s, naming the document and the field", (_what, text, message) => {
    expect(() => parseManifest(text, "here")).toThrow(InputError);
    expect(() => parseManifest(text, "here")).toThrow(message);
  });
});

describe("fileProblem", () => {
  const file = { name: "scores.csv", size: 3, sha256: sha("abc"), generation: "1" };
  it("accepts the listed bytes and names a size or a sha256 mismatch", () => {
    expect(fileProblem(file, { size: 3, sha256: sha("abc") })).toBeNull();
    expect(fileProblem(file, { size: 4, sha256: sha("abcd") })).toBe(
      "scores.csv has 4 bytes, the manifest lists 3",
    );
    expect(fileProblem(file, { size: 3, sha256: sha("abd") })).toMatch(
      /^scores\.csv has sha256 \w{12}…, the manifest lists \w{12}…$/,
    );
  });
});

describe("readVerifiedSet and readPublishState", () => {
  it("reads a complete publish byte for byte", async () => {
    const manifest = await publish();
    const { state, got } = await pull();
    expect(state).toMatchObject({ status: "complete", manifest, failure: null });
    expect(Object.fromEntries(got)).toEqual(FILES);
    expect(await readPublishState(storage, PREFIX)).toMatchObject({ status: "complete", manifest });
  });

  it("says a publish is in progress when a file was replaced after the manifest, even with the same size", async () => {
    await publish();
    await storage.write(`${PREFIX}scores.csv`, "id,p\n1,0.6\n");
    expect((await pull()).state).toMatchObject({
      status: "in_progress",
      reason: "scores.csv was replaced after the manifest was written",
    });
    expect(await readPublishState(storage, PREFIX)).toMatchObject({ status: "in_progress" });
  });

  it("says a publish is in progress when files are there and no manifest yet, failed with only _FAILED, missing when empty", async () => {
    expect((await pull()).state).toEqual({ status: "missing" });
    await storage.write(`${PREFIX}scores.csv`, "id\n");
    expect((await pull()).state).toMatchObject({
      status: "in_progress",
      reason: expect.stringMatching(/1 file\(s\) and no _SUCCESS/),
    });
    await storage.write(`${PREFIX}_FAILED`, "step score failed: boom\n");
    expect((await pull()).state).toEqual({ status: "failed", failure: "step score failed: boom" });
  });

  it("still gives the previous complete set when a later run failed and left it alone", async () => {
    await publish();
    await storage.write(`${PREFIX}_FAILED`, "step train failed: boom\n");
    expect((await pull()).state).toMatchObject({ status: "complete", failure: "step train failed: boom" });
  });

  it("reports a manifest an older release wrote as invalid, naming it", async () => {
    await storage.write(`${PREFIX}scores.csv`, "id\n");
    await storage.write(`${PREFIX}_SUCCESS`, "r-1\n");
    expect((await pull()).state).toMatchObject({
      status: "invalid",
      reason: expect.stringMatching(/output\/2026-W48\/_SUCCESS is not valid JSON/),
    });
  });

  it("reads the listed generations where the store keeps them, and says in progress when one is gone", async () => {
    const manifest = await publish();
    // A versioned store in miniature: the generations written so far stay readable.
    const kept = new Map<string, string>();
    for (const file of manifest.files)
      kept.set(`${PREFIX}${file.name}@${file.generation}`, await storage.readText(`${PREFIX}${file.name}`));
    const versioned: Storage = Object.assign(Object.create(storage) as Storage, {
      createVersionReadStream(name: string, generation: string) {
        const text = kept.get(`${name}@${generation}`);
        if (text !== undefined) return Readable.from([Buffer.from(text)]);
        const stream = new PassThrough();
        queueMicrotask(() => stream.destroy(new NotFoundError(`${name}#${generation} does not exist`)));
        return stream;
      },
    });
    // The next publish is half way: scores.csv replaced, the manifest not yet.
    await storage.write(`${PREFIX}scores.csv`, "id,p\n1,0.9\n2,0.1\n");
    const { state, got } = await pull(versioned);
    expect(state.status).toBe("complete");
    expect(Object.fromEntries(got)).toEqual(FILES);
    // Bytes that are not the listed ones (same size): the sha256 check says so.
    const scores = manifest.files.find((f) => f.name === "scores.csv")!;
    kept.set(`${PREFIX}scores.csv@${scores.generation}`, "id,p\n1,0.7\n");
    expect((await pull(versioned)).state).toMatchObject({
      status: "in_progress",
      reason: expect.stringMatching(/^scores\.csv has sha256 \w+…, the manifest lists/),
    });
    kept.clear();
    expect((await pull(versioned)).state).toMatchObject({
      status: "in_progress",
      reason: expect.stringMatching(/^generation \d+ of scores\.csv is gone/),
    });
  });
});
