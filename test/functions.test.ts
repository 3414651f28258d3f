import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { triggerMarkerObject } from "../components/common/layout/index.js";
import { createLogger } from "../components/common/log.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { type LaunchRequest, LocalProcessLauncher, type RunLauncher } from "../functions/launcher.js";

import { MODEL_FUNCTION, registerFunctions, WEEKLY_FUNCTION } from "../functions/register.js";
import { readRunRecord } from "../pipelines/runner/records.js";
import { postBinary, postStructured, startFunctionsFramework } from "./support/functions.js";
import { startGcsEmulator } from "./support/gcs-emulator.js";
import { expectPublished } from "./support/published.js";
import { waitFor } from "./support/wait.js";

/**
 * onWeeklyUpload through the real functions-framework server (its HTTP
 * wrappers, CloudEvent parsing in structured and binary mode) on a loopback
 * port, starting real local runs on a small example bucket.
 */

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist", "cli", "bin.js");
const BUCKET = "churn-test-bucket";

let dir: string;
let storage: Storage;
let url: string;
let server: ReturnType<typeof getTestServer>;
const logLines: Array<{ level: string; message: string; [k: string]: unknown }> = [];
const calls: LaunchRequest[] = [];
const pids: number[] = [];
let inner: RunLauncher;

function exampleBucket(target: string): void {
  const init = spawnSync(
    process.execPath,
    [cli, "init", "--bucket", target, "--rows", "2000", "--weekly-rows", "300"],
    {
      encoding: "utf8",
      env: process.env,
    },
  );
  expect(init.status, init.stderr).toBe(0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  expect(existsSync(cli), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "churn-fn-"));
  exampleBucket(join(dir, "bucket"));
  const yamlPath = join(dir, "bucket", "churn.yaml");
  const yaml = await readFile(yamlPath, "utf8");
  await writeFile(yamlPath, yaml.replace(/families: \[[^\]]*\]/, "families: [logistic, gbdt]"));
  storage = await openStorage(join(dir, "bucket"));
  const real = new LocalProcessLauncher({ cliPath: cli, logFile: join(dir, "runner.log") });
  inner = real;
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ stream: sink, json: true, level: "debug" });
  const launcher: RunLauncher = {
    async launch(request) {
      calls.push(request);
      const result = await inner.launch(request);
      if (result.kind === "local-process") pids.push(Number(result.handle));
      return result;
    },
  };
  registerFunctions({
    weekly: async () => ({
      openBucket: async (bucket) => (bucket === BUCKET ? storage : null),
      launcher,
      logger,
    }),
    model: async () => ({ openBucket: async () => storage, logger }),
  });
  server = getTestServer(WEEKLY_FUNCTION);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  expect(MODEL_FUNCTION).toBe("onModelPublished");
});

afterAll(async () => {
  // Never leave a detached runner behind.
  for (const pid of pids) {
    await waitFor(`runner ${pid} to exit`, async () => !alive(pid), {
      timeoutMs: 60_000,
      intervalMs: 200,
    }).catch(() => process.kill(pid));
  }
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runIds(s: Storage): Promise<string[]> {
  return [...new Set((await s.list("runs/")).map((o) => o.name.split("/")[1]!))].sort();
}

const logsAbout = (text: string) => logLines.filter((l) => l.message.includes(text));

describe("onWeeklyUpload through functions-framework (file:// bucket, local runner)", () => {
  let runId: string;

  it("a weekly upload starts exactly one run, which publishes output/<stem>/", async () => {
    const weekly = (await storage.list("weekly/"))[0]!;
    const response = await postBinary(url, {
      bucket: BUCKET,
      name: weekly.name,
      generation: weekly.generation,
    });
    expect(response.status).toBeLessThan(300);
    expect(calls).toHaveLength(1);
    runId = calls[0]!.runId;
    const marker = JSON.parse(await storage.readText(triggerMarkerObject(runId)));
    expect(marker).toMatchObject({ run_id: runId, object: weekly.name, generation: weekly.generation });
    expect(logsAbout(`started weekly run ${runId}`)).toHaveLength(1);

    const stem = weekly.name.slice("weekly/".length).replace(/\.csv$/, "");
    await waitFor("_SUCCESS", () => storage.stat(`output/${stem}/_SUCCESS`), {
      timeoutMs: 120_000,
      intervalMs: 200,
    });
    await expectPublished(storage, `output/${stem}/`, runId);
    const scores = await storage.readText(`output/${stem}/scores.csv`);
    expect(scores.trim().split("\n")).toHaveLength(301);
    // The run the runner made is the one the trigger named: same id from bucket, object, generation.
    const record = await waitFor(
      "the run record to close",
      async () => {
        const r = await readRunRecord(storage, runId);
        return r && r.state !== "running" ? r : null;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(record.state).toBe("succeeded");
  });

  it("the same event delivered three more times (concurrently, both modes) starts nothing", async () => {
    const weekly = (await storage.list("weekly/"))[0]!;
    const event = { bucket: BUCKET, name: weekly.name, generation: weekly.generation };
    const responses = await Promise.all([
      postBinary(url, event),
      postStructured(url, event),
      postBinary(url, event),
    ]);
    for (const r of responses) expect(r.status).toBeLessThan(300);
    expect(calls).toHaveLength(1);
    expect(logsAbout(`run ${runId} was already triggered`)).toHaveLength(3);
    expect(await runIds(storage)).toEqual([runId]);
  });

  it.each([
    ["input/x.csv", {}, "outside weekly/"],
    ["weekly/readme.txt", {}, "not a .csv"],
    ["weekly/2026-W49.csv", { "churn-writer": "init" }, "churn-writer: init"],
    ["output/2026-W48/scores.csv", { "churn-writer": "publish" }, "outside weekly/"],
    ["weekly/sub/x.csv", {}, "subfolder"],
    ["weekly/lifetime.csv", {}, "reserved"],
  ])("%s starts nothing and says why", async (name, metadata, why) => {
    const before = calls.length;
    const runsBefore = await runIds(storage);
    const response = await postStructured(url, { bucket: BUCKET, name, generation: "7", metadata });
    expect(response.status).toBeLessThan(300);
    expect(calls.length).toBe(before);
    const line = logLines.findLast((l) => l.object === name);
    expect(line?.message).toContain(`ignored ${name}`);
    expect(line?.message).toContain(why);
    expect(await runIds(storage)).toEqual(runsBefore);
  });

  it("an event for a bucket this deployment does not serve starts nothing", async () => {
    const response = await postBinary(url, { bucket: "someone-else", name: "weekly/a.csv", generation: "1" });
    expect(response.status).toBeLessThan(300);
    expect(logsAbout("bucket someone-else is not served")).toHaveLength(1);
  });

  it.each([
    ["data without a name", { bucket: BUCKET, generation: "1" }, "name"],
    [
      "a generation that is not a number",
      { bucket: BUCKET, name: "weekly/a.csv", generation: "x" },
      "generation",
    ],
    ["data that is not an object", [1, 2], "event data"],
  ])("a malformed event (%s) is acknowledged and logged", async (_label, raw, field) => {
    const before = calls.length;
    const response = await postBinary(url, { raw });
    expect(response.status).toBeLessThan(300);
    expect(calls.length).toBe(before);
    const line = logLines.findLast((l) => l.message.startsWith("malformed event acknowledged"));
    expect(line?.message).toContain(field);
    expect(line?.level).toBe("warn");
  });

  it("a launch failure answers 5xx (redelivery) and frees the marker, so the redelivery starts the run", async () => {
    await storage.write("weekly/2026-W50.csv", "customer_id\n1\n");
    const info = (await storage.stat("weekly/2026-W50.csv"))!;
    const event = { bucket: BUCKET, name: info.name, generation: info.generation };
    const started: LaunchRequest[] = [];
    inner = {
      async launch() {
        throw new Error("API server unavailable");
      },
    };
    const failed = await postBinary(url, event);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const runId = calls.at(-1)!.runId;
    expect(await storage.stat(triggerMarkerObject(runId))).toBeNull();
    expect(logsAbout("will be redelivered")).not.toHaveLength(0);
    inner = {
      async launch(request) {
        started.push(request);
        return { kind: "recorded", handle: "x" };
      },
    };
    const retried = await postBinary(url, event);
    expect(retried.status).toBeLessThan(300);
    expect(started.map((r) => r.runId)).toEqual([runId]);
    expect(await storage.stat(triggerMarkerObject(runId))).not.toBeNull();
  });
});

describe("deployed entry (dist/functions/main.js) in the functions-framework process, gs:// on the GCS emulator", () => {
  it("an upload to the emulator starts a local run that publishes, and redeliveries start nothing", async () => {
    const emulator = await startGcsEmulator({ bucket: "churn-fn" });
    const env = { ...process.env, STORAGE_EMULATOR_HOST: emulator.host };
    const ff = await startFunctionsFramework(WEEKLY_FUNCTION, {
      ...env,
      CHURN_LAUNCHER: "local",
      CHURN_RUNNER_LOG: join(dir, "gs-runner.log"),
      CHURN_CLI: cli,
    });
    try {
      const gs = await openStorage("gs://churn-fn");
      // Seed the emulator bucket from a local example (init writes with churn-writer metadata, so upload plainly).
      const local = await openStorage(join(dir, "bucket"));
      for (const name of ["churn.yaml", "input/history.csv"])
        await gs.write(name, await local.readBytes(name));
      const weekly = await gs.write("weekly/2026-W48.csv", await local.readBytes("weekly/2026-W48.csv"));
      const target = ff.url;
      const event = { bucket: "churn-fn", name: weekly.name, generation: weekly.generation };
      for (let i = 0; i < 4; i++) {
        const response = await (i % 2 ? postStructured(target, event) : postBinary(target, event));
        expect(response.status, ff.output()).toBeLessThan(300);
      }
      await waitFor("_SUCCESS on gs://", () => gs.stat("output/2026-W48/_SUCCESS"), {
        timeoutMs: 120_000,
        intervalMs: 200,
      });
      await expectPublished(gs, "output/2026-W48/");
      const started = ff
        .output()
        .split("\n")
        .filter((l) => l.includes('"started weekly run'));
      const duplicates = ff
        .output()
        .split("\n")
        .filter((l) => l.includes("was already triggered"));
      expect(started, ff.output()).toHaveLength(1);
      expect(duplicates, ff.output()).toHaveLength(3);
      expect(await runIds(gs)).toHaveLength(1);
      const pid = Number(JSON.parse(started[0]!).handle);
      await waitFor("runner exit", async () => !alive(pid), { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      ff.child.kill();
      await emulator.stop();
    }
  });
});
