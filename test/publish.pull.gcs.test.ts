/**
 * `churn pull` on gs:// (fake-gcs-server): the publish component writes the
 * manifest with the generations GCS gave each file; on a versioned bucket a
 * pull that follows it reads exactly those generations, so a publish half way
 * (scores.csv replaced, the manifest not yet) still yields the previous set,
 * whole and byte for byte; on a bucket without versioning the listed
 * generation is gone and the pull says "in progress" instead of mixing.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAndRunStep } from "../components/common/component/run.js";
import { openStorage } from "../components/common/storage/index.js";
import type { Storage } from "../components/common/storage/types.js";
import { publishComponent } from "../components/publish/spec.js";
import { spawnChurn } from "./support/cli.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";

const STEPS = "runs/r-1/steps/upstream/";
const OUT = "output/2026-W48/";
const SCORES = "CLIENTNUM,churn_probability\n1,0.500000\n2,0.250000\n";

let emulator: GcsEmulator;
let base: string;
beforeAll(async () => {
  emulator = await startGcsEmulator();
  await emulator.createBucket("plain", { versioning: false });
  base = await mkdtemp(join(tmpdir(), "publish-pull-gcs-"));
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
  await rm(base, { recursive: true, force: true });
});

/** The week published by the real publish component on a gs:// bucket. */
async function published(uri: string): Promise<Storage> {
  const storage = await openStorage(uri);
  await storage.write(`${STEPS}scores.csv`, SCORES);
  await storage.write(`${STEPS}rejected.csv`, "line,column,reason,raw\n");
  await storage.write(`${STEPS}summary.json`, JSON.stringify({ model_version: "v1", counts: { scored: 2 } }));
  await planAndRunStep(
    storage,
    "r-1",
    "publish",
    publishComponent,
    {
      scores: [`${STEPS}scores.csv`],
      rejected: [`${STEPS}rejected.csv`],
      summary: [`${STEPS}summary.json`],
    },
    { output_prefix: OUT, run_id: "r-1", trigger: null },
  );
  return storage;
}

async function pull(uri: string, to: string) {
  const result = await spawnChurn([
    "pull",
    "--bucket",
    uri,
    "--week",
    "2026-W48",
    "--to",
    to,
    "--json",
    "--timeout",
    "1",
  ]);
  return {
    ...result,
    json: JSON.parse(result.stdout) as {
      status: string;
      reason: string | null;
      manifest: { run_id: string } | null;
    },
  };
}

describe("churn pull on gs://", () => {
  it("reads the listed generations on a versioned bucket: the previous set, whole, while a publish is half way", async () => {
    const uri = `gs://${emulator.bucket}`;
    const storage = await published(uri);
    const manifest = JSON.parse(await storage.readText(`${OUT}_SUCCESS`)) as {
      files: Array<{ name: string; generation: string }>;
    };
    for (const f of manifest.files)
      expect(f.generation, f.name).toBe((await storage.stat(`${OUT}${f.name}`))!.generation);
    const before = await Promise.all(
      manifest.files.map(async (f) => [f.name, await storage.readBytes(`${OUT}${f.name}`)] as const),
    );

    await storage.write(`${OUT}scores.csv`, SCORES.replace("0.250000", "0.750000"));
    const to = join(base, "versioned");
    const result = await pull(uri, to);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: "complete", manifest: { run_id: "r-1" } });
    expect(await readFile(join(to, "scores.csv"), "utf8")).toBe(SCORES);
    for (const [name, bytes] of before) expect(await readFile(join(to, name)), name).toEqual(bytes);
    expect((await readdir(to)).sort()).toEqual(["_SUCCESS", ...before.map(([name]) => name)].sort());
  });

  it("says in progress on a bucket without versioning, and writes nothing", async () => {
    const uri = "gs://plain";
    const storage = await published(uri);
    await storage.write(`${OUT}scores.csv`, SCORES.replace("0.250000", "0.750000"));
    const to = join(base, "plain");
    const result = await pull(uri, to);
    expect(result.code).toBe(1);
    expect(result.json.status).toBe("in_progress");
    expect(result.json.reason).toMatch(/generation \d+ of scores\.csv is gone/);
    expect(result.stderr).toMatch(/in progress/);
    expect(await readdir(to).catch(() => [])).toEqual([]);
  });
});
