import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Bundle,
  listBundleVersions,
  promote,
  readBundle,
  readChampion,
  rollback,
  writeBundle,
} from "../components/common/bundle/index.js";
import { createLogger } from "../components/common/log.js";
import {
  CHAMPION_ALIAS,
  MlflowClient,
  MlflowMirror,
  VERSION_TAG,
} from "../components/common/mlflow/index.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { MODEL_FUNCTION, registerFunctions } from "../functions/register.js";
import { postBinary } from "./support/functions.js";
import { type MlflowServer, startMlflow } from "./support/mlflow.js";

/**
 * The MLflow REST client and mirror against a real `mlflow server` (sqlite,
 * proxied artifacts): runs, params, metrics and artifacts are visible through
 * its REST API, versions are registered once, and the champion alias follows
 * models/champion through promotion (the pipeline's promote step) and
 * rollback (onModelPublished through functions-framework).
 */

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist", "cli", "bin.js");
let mlflow: MlflowServer;
let dir: string;
let client: MlflowClient;

function bundle(auc: number): Bundle {
  return {
    format: "churn-bundle/1",
    schema: { columns: [] },
    transform: { steps: [] },
    model: { family: "gbdt", trees: [auc] },
    calibration: null,
    tiers: { high: 0.7, medium: 0.4 },
    metrics: { roc_auc: auc, log_loss: 0.3 },
    training: { seed: 42, families: ["logistic", "gbdt"], training_rows: 1600 },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: raw REST answers, checked field by field in the tests
async function raw(path: string): Promise<any> {
  const response = await fetch(`${mlflow.url}/api/2.0/mlflow/${path}`);
  expect(response.status, path).toBe(200);
  return response.json();
}

async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  mlflow = await startMlflow();
  console.log(`mlflow server healthy after ${mlflow.startSeconds.toFixed(1)} s`);
  client = new MlflowClient(mlflow.url);
  dir = await mkdtemp(join(tmpdir(), "churn-mlflow-test-"));
});

afterAll(async () => {
  await mlflow?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("MLflow mirror against a real server", () => {
  let storage: Storage;
  let mirror: MlflowMirror;
  const versions: string[] = [];

  beforeAll(async () => {
    storage = await openStorage(join(dir, "direct"));
    mirror = new MlflowMirror(client, storage, "churn-direct");
    for (const auc of [0.83, 0.88]) {
      const stored = await writeBundle(storage, bundle(auc), {
        "evaluation.json": JSON.stringify({ action: "promote", roc_auc: auc - 0.01, reason: "passes" }),
      });
      versions.push(stored.version);
    }
  });

  it("registering a bundle logs a run with params, metrics and artifacts, and one model version", async () => {
    const [v1] = versions as [string];
    const message = await mirror.registerBundle(storage, await readBundle(storage, v1));
    expect(message).toMatch(new RegExp(`registered ${v1} as MLflow churn-direct v1`));

    const mvs = await raw(`model-versions/search?filter=${encodeURIComponent("name='churn-direct'")}`);
    expect(mvs.model_versions).toHaveLength(1);
    const mv = mvs.model_versions[0];
    expect(mv.tags).toContainEqual({ key: VERSION_TAG, value: v1 });
    const { run } = await raw(`runs/get?run_id=${mv.run_id}`);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.params).toContainEqual({ key: "family", value: "gbdt" });
    expect(run.data.params).toContainEqual({ key: "training.seed", value: "42" });
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: "roc_auc", value: 0.83 }));
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: "holdout.roc_auc", value: 0.82 }));
    const top = await raw(`artifacts/list?run_id=${mv.run_id}`);
    expect(top.files.map((f: { path: string }) => f.path).sort()).toEqual(["bundle", "evaluation.json"]);
    const inner = await client.listArtifacts(mv.run_id, "bundle");
    expect(inner).toEqual(["bundle/bundle.json"]);
    // The artifact is the stored bundle, byte for byte.
    const download = await fetch(
      `${mlflow.url}/get-artifact?run_id=${mv.run_id}&path=bundle/bundle.json`,
    ).then((r) => r.text());
    expect(download).toBe(await storage.readText(`models/${v1}/bundle.json`));
  });

  it("registering the same bundle again creates nothing", async () => {
    const [v1] = versions as [string];
    const message = await mirror.registerBundle(storage, await readBundle(storage, v1));
    expect(message).toContain("already mirrors");
    expect(await client.modelVersions("churn-direct")).toHaveLength(1);
    const experiment = await client.ensureExperiment("churn-direct");
    expect(await client.searchRuns(experiment, `tags.\`${VERSION_TAG}\` = '${v1}'`)).toHaveLength(1);
  });

  it("the champion alias follows promotion and rollback of the bucket pointer", async () => {
    const [v1, v2] = versions as [string, string];
    await promote(storage, v1, "first");
    await mirror.setChampion((await readChampion(storage))!.pointer.version);
    expect((await client.getAlias("churn-direct", CHAMPION_ALIAS))?.tags).toContainEqual({
      key: VERSION_TAG,
      value: v1,
    });
    // v2 was never registered: setChampion registers it on the way.
    await promote(storage, v2, "better");
    await mirror.setChampion(v2);
    const alias = await raw(`registered-models/alias?name=churn-direct&alias=${CHAMPION_ALIAS}`);
    expect(alias.model_version.version).toBe("2");
    await rollback(storage, "bad week");
    await mirror.setChampion((await readChampion(storage))!.pointer.version);
    expect((await client.getAlias("churn-direct", CHAMPION_ALIAS))?.version).toBe("1");
  });

  it("an unreachable server is a transient error naming the URL", async () => {
    const dead = new MlflowClient("http://127.0.0.1:9", { timeoutMs: 2000 });
    await expect(dead.ensureExperiment("x")).rejects.toThrow(
      /MLflow at http:\/\/127\.0\.0\.1:9 is unreachable/,
    );
  });
});

describe("pipeline and functions with mlflow.tracking_uri set", () => {
  it("a weekly run registers the champion; churn models promote/rollback move the alias and a running server follows; onModelPublished mirrors too", async () => {
    expect(existsSync(cli), "dist/ missing: run npm run build").toBe(true);
    const bucketDir = join(dir, "pipeline");
    const init = spawnSync(
      process.execPath,
      [cli, "init", "--bucket", bucketDir, "--rows", "2000", "--weekly-rows", "300"],
      {
        encoding: "utf8",
      },
    );
    expect(init.status, init.stderr).toBe(0);
    const yamlPath = join(bucketDir, "churn.yaml");
    let yaml = await readFile(yamlPath, "utf8");
    yaml = yaml.replace(/families: \[[^\]]*\]/, "families: [logistic, gbdt]");
    yaml = yaml.replace(/tracking_uri: null/, `tracking_uri: "${mlflow.url}"`);
    yaml = yaml.replace(/model_name: churn\b/, "model_name: churn-pipeline");
    expect(yaml).toContain(mlflow.url);
    await writeFile(yamlPath, yaml);
    const run = spawnSync(process.execPath, [cli, "pipeline", "run", "--bucket", bucketDir, "--json"], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    const storage = await openStorage(bucketDir);
    const champion = (await readChampion(storage))!.pointer.version;

    const alias = await client.getAlias("churn-pipeline", CHAMPION_ALIAS);
    expect(alias?.tags).toContainEqual({ key: VERSION_TAG, value: champion });
    const { run: tracked } = await raw(`runs/get?run_id=${alias!.run_id}`);
    expect(tracked.data.tags).toContainEqual({
      key: "churn.pipeline_run",
      value: JSON.parse(run.stdout).run_id,
    });
    expect(tracked.data.metrics.map((m: { key: string }) => m.key)).toContain("roc_auc");
    expect((await client.listArtifacts(alias!.run_id!)).sort()).toEqual(["bundle", "evaluation.json"]);

    // A second real model (retrain with other settings), then `churn models promote` and
    // `churn models rollback`: the alias follows each, and so does a running model server.
    await writeFile(
      yamlPath,
      yaml.replace(/families: \[[^\]]*\]/, "families: [logistic]").replace(/seed: 42/, "seed: 7"),
    );
    const retrain = spawnSync(
      process.execPath,
      [cli, "pipeline", "run", "retrain", "--bucket", bucketDir, "--json"],
      {
        encoding: "utf8",
      },
    );
    expect(retrain.status, retrain.stderr).toBe(0);
    const all = (await listBundleVersions(storage)).map((b) => b.version);
    const second = all.find((v) => v !== champion)!;
    expect(second).toBeDefined();
    const serve = spawn(
      process.execPath,
      [cli, "serve", "--bucket", bucketDir, "--port", "0", "--poll", "1"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let serveOut = "";
    serve.stdout!.on("data", (c) => (serveOut += c));
    serve.stderr!.on("data", (c) => (serveOut += c));
    try {
      const port = await waitUntil(
        "serve to listen",
        async () => /:(\d+)/.exec(serveOut.match(/listening[^\n]*/i)?.[0] ?? "")?.[1],
      );
      const served = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/v2/models/churn`).catch(() => null);
        return r?.ok ? ((await r.json()) as { versions: string[] }).versions[0] : null;
      };
      const cliJson = (args: string[]) => {
        const r = spawnSync(process.execPath, [cli, "models", ...args, "--bucket", bucketDir, "--json"], {
          encoding: "utf8",
        });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { version: string; mlflow?: string };
      };
      const current = (await readChampion(storage))!.pointer.version;
      if (current !== second) {
        // The retrained candidate lost at the gate: promoting it by hand takes --force.
        expect(cliJson(["promote", second, "--force"]).mlflow).toContain("MLflow alias champion");
      }
      expect((await client.getAlias("churn-pipeline", CHAMPION_ALIAS))?.tags).toContainEqual({
        key: VERSION_TAG,
        value: second,
      });
      await waitUntil("the server to load the promoted model", async () => (await served()) === second);

      const back = cliJson(["rollback"]);
      expect(back.version).toBe(champion);
      expect(back.mlflow).toContain("MLflow alias champion");
      expect((await client.getAlias("churn-pipeline", CHAMPION_ALIAS))?.version).toBe(alias?.version);
      await waitUntil("the server to follow the rollback", async () => (await served()) === champion);
    } finally {
      serve.kill();
    }

    // A second, different model promoted by hand, then rolled back: onModelPublished mirrors both.
    const other = await writeBundle(storage, bundle(0.95));
    const logger = createLogger({ json: true, level: "warn" });
    const mirror = new MlflowMirror(client, storage, "churn-pipeline");
    registerFunctions({
      weekly: async () => {
        throw new Error("not used");
      },
      model: async () => ({ openBucket: async () => storage, registry: mirror, logger }),
    });
    const server = getTestServer(MODEL_FUNCTION);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const event = async (name: string) => {
        const info = (await storage.stat(name))!;
        const response = await postBinary(url, { bucket: "b", name, generation: info.generation });
        expect(response.status).toBeLessThan(300);
      };
      await event(`models/${other.version}/bundle.json`);
      await promote(storage, other.version, "by hand");
      await event("models/champion");
      expect((await client.getAlias("churn-pipeline", CHAMPION_ALIAS))?.tags).toContainEqual({
        key: VERSION_TAG,
        value: other.version,
      });
      await rollback(storage, "changed our minds");
      await event("models/champion");
      const back = await client.getAlias("churn-pipeline", CHAMPION_ALIAS);
      expect(back?.version).toBe(alias?.version);
      expect(await client.modelVersions("churn-pipeline")).toHaveLength(3);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
