import { createHash } from "node:crypto";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planAndRunStep } from "../common/component/run.js";
import { CustomerIndex } from "../common/documents/customer-index.js";
import { parseLatest } from "../common/documents/latest.js";
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

const publish = (
  run: string,
  prefix: string,
  inputs: Record<string, string[]>,
  trigger: string | null = null,
) =>
  planAndRunStep(storage, run, "publish", publishComponent, inputs, {
    output_prefix: prefix,
    run_id: run,
    trigger,
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
    expect(Object.keys(files).sort()).toEqual([
      "_SUCCESS",
      "lookup.index",
      "rejected.csv",
      "scores.csv",
      "summary.json",
    ]);
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

  it("writes the week's customer index (in the manifest, with the contact list joined) and moves _latest.json only to a later upload", async () => {
    const scores =
      "customer_id,churn_probability,risk_tier,reason_1,reason_codes,model_version\n" +
      "c1,0.9,high,Tenure: 2 (typical 30),Tenure:+0.8,v9\nc2,0.2,low,,,v9\n";
    await storage.write(`${STEPS}week-scores.csv`, scores);
    await storage.write(
      `${STEPS}contact-list.csv`,
      "rank,customer_id,group,risk_tier,churn_probability,value,expected_retained_value,reason_1,reason_codes\n" +
        "1,c1,control,high,0.9,,0.9,Tenure: 2 (typical 30),Tenure:+0.8\n",
    );
    const inputs = {
      scores: [`${STEPS}week-scores.csv`],
      contact_list: [`${STEPS}contact-list.csv`],
      rejected: [`${STEPS}rejected.csv`],
      summary: [`${STEPS}summary.json`],
    };
    const upload = async (stem: string, seconds: number) => {
      await storage.write(`weekly/${stem}.csv`, "customer_id\nc1\n");
      await utimes(join(dir, "weekly", `${stem}.csv`), seconds, seconds);
    };
    await upload("w1", 1_000_000);
    await upload("w2", 2_000_000);
    const second = await publish("r-w2", "output/w2/", inputs, "weekly/w2.csv");
    expect((second.summary as { latest: boolean }).latest).toBe(true);
    const manifest = parseManifest(await storage.readText("output/w2/_SUCCESS"), "_SUCCESS");
    expect(manifest.files.map((f) => f.name)).toContain("lookup.index");
    // w1 was uploaded earlier: publishing it now (a forced rerun, say) leaves the pointer at w2.
    const first = await publish("r-w1", "output/w1/", inputs, "weekly/w1.csv");
    expect((first.summary as { latest: boolean }).latest).toBe(false);
    expect(parseLatest(await storage.readText("output/_latest.json"), "_latest.json")).toMatchObject({
      stem: "w2",
      run_id: "r-w2",
      weekly: "weekly/w2.csv",
      uploaded_at: new Date(2_000_000_000).toISOString(),
    });
    const index = await CustomerIndex.open(
      join(dir, "output/w2/lookup.index"),
      join(dir, "output/w2/scores.csv"),
    );
    try {
      expect(index.header).toMatchObject({ week: "w2", count: 2, contact_list: true, lifetime: null });
      expect(await index.find("c1")).toMatchObject({
        rank: 1,
        group: "control",
        fields: { risk_tier: "high" },
      });
      expect(await index.find("c2")).toMatchObject({ rank: null, group: null, probAlive: null });
    } finally {
      await index.close();
    }
  });

  it("joins P(alive) from the newest complete lifetime output into the week's index", async () => {
    await storage.write(`${STEPS}customers.csv`, "customer_id,frequency,prob_alive\nc1,3,0.75\nc9,1,0.5\n");
    await storage.write(`${STEPS}lifetime-summary.json`, JSON.stringify({ counts: { customers: 2 } }));
    await publish("r-life", "output/lifetime/shop/", {
      customers: [`${STEPS}customers.csv`],
      rejected: [`${STEPS}rejected.csv`],
      summary: [`${STEPS}lifetime-summary.json`],
    });
    // An incomplete lifetime folder (no manifest) is never read.
    await storage.write("output/lifetime/half/customers.csv", "customer_id,prob_alive\nc1,0.01\n");
    await storage.write(
      `${STEPS}week-scores.csv`,
      "customer_id,churn_probability,risk_tier,reason_1,reason_codes,model_version\nc1,0.9,high,,,v9\nc2,0.2,low,,,v9\n",
    );
    await publish("r-w5", "output/w5/", {
      scores: [`${STEPS}week-scores.csv`],
      rejected: [`${STEPS}rejected.csv`],
      summary: [`${STEPS}summary.json`],
    });
    const index = await CustomerIndex.open(
      join(dir, "output/w5/lookup.index"),
      join(dir, "output/w5/scores.csv"),
    );
    try {
      expect(index.header).toMatchObject({ lifetime: "output/lifetime/shop/", contact_list: false });
      expect(await index.find("c1")).toMatchObject({ probAlive: 0.75, rank: null });
      expect(await index.find("c2")).toMatchObject({ probAlive: null });
    } finally {
      await index.close();
    }
  });
});
