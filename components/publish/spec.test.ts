import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planAndRunStep } from "../common/component/run.js";
import { parseManifest } from "../common/documents/manifest.js";
import { openStorage } from "../common/storage/index.js";
import type { Storage } from "../common/storage/types.js";
import { publishComponent } from "./spec.js";

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const STEPS = "runs/r-1/steps/upstream/";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "publish-spec-"));
  storage = await openStorage(dir);
  await storage.write(`${STEPS}scores.csv`, "id,churn_probability\n1,0.5\n");
  await storage.write(`${STEPS}rejected.csv`, 'line,column,reason,raw\n3,id,empty id,",x"\n');
  await storage.write(`${STEPS}refused.csv`, "7,age,server 422: not a number,\n");
  await storage.write(`${STEPS}summary.json`, JSON.stringify({ model_version: "v9", counts: { scored: 1 } }));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Every file of the folder, by name, with the sha256 and size of its bytes as read back. */
async function folder(prefix: string) {
  const files: Record<string, { size: number; sha256: string; generation: string }> = {};
  for (const o of await storage.list(prefix)) {
    const bytes = await storage.readBytes(o.name, { gunzip: false });
    files[o.name.slice(prefix.length)] = { size: bytes.length, sha256: sha(bytes), generation: o.generation };
  }
  return files;
}

const publish = (run: string, prefix: string, inputs: Record<string, string[]>) =>
  planAndRunStep(storage, run, "publish", publishComponent, inputs, {
    output_prefix: prefix,
    run_id: run,
    trigger: null,
  });

describe("the publish component", () => {
  it("writes _SUCCESS last as the manifest of exactly the files it published, and removes _FAILED", async () => {
    const prefix = "output/2026-W48/";
    await storage.write(`${prefix}_SUCCESS`, "r-0\n");
    await storage.write(`${prefix}_FAILED`, "step train failed: boom\n");
    const output = await publish("r-1", prefix, {
      scores: [`${STEPS}scores.csv`],
      rejected: [`${STEPS}rejected.csv`],
      refused: [`${STEPS}refused.csv`],
      summary: [`${STEPS}summary.json`],
    });
    const files = await folder(prefix);
    expect(Object.keys(files).sort()).toEqual(["_SUCCESS", "rejected.csv", "scores.csv", "summary.json"]);
    const manifest = parseManifest(await storage.readText(`${prefix}_SUCCESS`), "_SUCCESS");
    expect(manifest.run_id).toBe("r-1");
    expect(manifest.model_version).toBe("v9");
    const { _SUCCESS, ...published } = files;
    expect(Object.fromEntries(manifest.files.map(({ name, ...rest }) => [name, rest]))).toEqual(published);
    // The refused rows were appended to the rejected rows: the manifest lists the bytes written, not the input's.
    expect(await storage.readText(`${prefix}rejected.csv`)).toMatch(/\n7,age,server 422: not a number,\n$/);
    expect((output.summary as { files: string[] }).files.at(-1)).toBe(`${prefix}_SUCCESS`);
  });

  it("publishes a lifetime folder with the same manifest (null model version when the summary names none)", async () => {
    const prefix = "output/lifetime/shop/";
    await storage.write(`${STEPS}customers.csv`, "customer_id,prob_alive\nc1,0.9\n");
    await storage.write(`${STEPS}lifetime-summary.json`, JSON.stringify({ counts: { customers: 1 } }));
    await publish("r-2", prefix, {
      customers: [`${STEPS}customers.csv`],
      rejected: [`${STEPS}rejected.csv`],
      summary: [`${STEPS}lifetime-summary.json`],
    });
    const manifest = parseManifest(await storage.readText(`${prefix}_SUCCESS`), "_SUCCESS");
    expect(manifest).toMatchObject({ run_id: "r-2", model_version: null });
    const { _SUCCESS, ...published } = await folder(prefix);
    expect(Object.fromEntries(manifest.files.map(({ name, ...rest }) => [name, rest]))).toEqual(published);
  });
});
