import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { AppsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bundle, promote, rollback, writeBundle } from "../components/common/bundle/index.js";
import { createLogger } from "../components/common/log.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import {
  CHAMPION_ANNOTATION,
  DeploymentAnnotationRoller,
  ModelServerLoadRoller,
  type ModelServerRoller,
} from "../functions/model-server.js";
import type { ModelRegistryMirror } from "../functions/on-model-published.js";
import { MODEL_FUNCTION, registerFunctions } from "../functions/register.js";
import { FakeSource, fakeModel, fakeServer, testSchema } from "../serving/testing/index.js";
import { postBinary, postStructured } from "./support/functions.js";
import { type KubeCluster, startCluster } from "./support/kube.js";

/**
 * onModelPublished through the real functions-framework server: bundles are
 * validated and mirrored, champion changes move the mirror and roll a real
 * Deployment on the Kubernetes test control plane (or POST a reload URL).
 */

const BUCKET = "models-bucket";
let dir: string;
let storage: Storage;
let cluster: KubeCluster;
let apps: AppsV1Api;
let url: string;
let server: Server;
let roller: ModelServerRoller;
const logLines: Array<{ level: string; message: string; [k: string]: unknown }> = [];
const mirrored: string[] = [];
const aliases: string[] = [];
const versions: string[] = [];

function bundle(auc: number): Bundle {
  return {
    format: "churn-bundle/1",
    schema: { columns: [] },
    transform: { steps: [] },
    model: { family: "logistic", weights: [auc] },
    calibration: null,
    tiers: { high: 0.7, medium: 0.4 },
    metrics: { roc_auc: auc },
    training: { seed: 1 },
  };
}

const registry: ModelRegistryMirror = {
  async registerBundle(_s, stored) {
    mirrored.push(stored.version);
    return `registered ${stored.version}`;
  },
  async setChampion(version) {
    aliases.push(version);
    return `alias champion → ${version}`;
  },
};

async function deployment() {
  return apps.readNamespacedDeployment({ name: "churn-serve", namespace: "default" });
}

async function send(name: string, mode: "binary" | "structured" = "binary") {
  const info = await storage.stat(name);
  const event = { bucket: BUCKET, name, generation: info?.generation ?? "1" };
  return mode === "binary" ? postBinary(url, event) : postStructured(url, event);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-fn-model-"));
  storage = await openStorage(join(dir, "bucket"));
  cluster = await startCluster();
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: "default",
    body: {
      metadata: { name: "churn-serve" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "churn-serve" } },
        template: {
          metadata: { labels: { app: "churn-serve" } },
          spec: { containers: [{ name: "serve", image: "churn:test", command: ["churn", "serve"] }] },
        },
      },
    },
  });
  roller = new DeploymentAnnotationRoller(apps, "default", "churn-serve");
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ stream: sink, json: true, level: "debug" });
  registerFunctions({
    weekly: async () => {
      throw new Error("not used here");
    },
    model: async () => ({
      openBucket: async (b) => (b === BUCKET ? storage : null),
      registry,
      roller: { roll: (v) => roller.roll(v) },
      logger,
    }),
  });
  server = getTestServer(MODEL_FUNCTION);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const auc of [0.81, 0.86]) versions.push((await writeBundle(storage, bundle(auc))).version);
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("onModelPublished through functions-framework", () => {
  it("a new bundle.json is validated and mirrored into the registry", async () => {
    const [v1] = versions;
    const response = await send(`models/${v1}/bundle.json`);
    expect(response.status).toBeLessThan(300);
    expect(mirrored).toEqual([v1]);
    expect(logLines.at(-1)?.message).toContain(`bundle ${v1} is valid; registered ${v1}`);
  });

  it("a bundle that does not hash to its version is acknowledged, logged and not mirrored", async () => {
    const fake = "0123456789abcdef";
    await storage.write(`models/${fake}/bundle.json`, JSON.stringify(bundle(0.9)));
    const before = mirrored.length;
    const response = await send(`models/${fake}/bundle.json`, "structured");
    expect(response.status).toBeLessThan(300);
    expect(mirrored.length).toBe(before);
    const line = logLines.at(-1)!;
    expect(line.level).toBe("error");
    expect(line.message).toContain(`models/${fake}/bundle.json was modified`);
  });

  it("other model objects are ignored", async () => {
    const before = mirrored.length + aliases.length;
    const response = await send(`models/${versions[0]}/evaluation.json`);
    expect(response.status).toBeLessThan(300);
    expect(mirrored.length + aliases.length).toBe(before);
    expect(logLines.at(-1)?.message).toContain("ignored");
  });

  it("promotion and rollback move the alias and roll the Deployment; a redelivery changes nothing", async () => {
    const [v1, v2] = versions as [string, string];
    await promote(storage, v1, "first");
    expect((await send("models/champion")).status).toBeLessThan(300);
    let d = await deployment();
    expect(d.spec?.template.metadata?.annotations?.[CHAMPION_ANNOTATION]).toBe(v1);
    const generation = d.metadata?.generation;

    await promote(storage, v2, "better");
    expect((await send("models/champion", "structured")).status).toBeLessThan(300);
    d = await deployment();
    expect(d.spec?.template.metadata?.annotations?.[CHAMPION_ANNOTATION]).toBe(v2);
    expect(d.metadata?.generation).toBe((generation ?? 0) + 1);

    // The same event again: the template is unchanged, so no new rollout.
    expect((await send("models/champion")).status).toBeLessThan(300);
    expect((await deployment()).metadata?.generation).toBe((generation ?? 0) + 1);

    await rollback(storage, "bad week");
    expect((await send("models/champion")).status).toBeLessThan(300);
    d = await deployment();
    expect(d.spec?.template.metadata?.annotations?.[CHAMPION_ANNOTATION]).toBe(v1);
    expect(aliases).toEqual([v1, v2, v2, v1]);
  });

  it("a roll that fails answers 5xx so the platform redelivers", async () => {
    const saved = roller;
    roller = new DeploymentAnnotationRoller(apps, "default", "no-such-deployment");
    try {
      const response = await send("models/champion");
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(logLines.at(-1)?.message).toContain("will be redelivered");
    } finally {
      roller = saved;
    }
  });

  it("outside Kubernetes, rolls our own model server through its V2 repository load (with its token)", async () => {
    // The real model server (a fake model source, counting loads), behind a token.
    const source = new FakeSource(() => fakeModel(testSchema(), { seed: 1 }));
    const { server } = await fakeServer({ source, token: "roll-token" });
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const saved = roller;
    try {
      roller = new ModelServerLoadRoller(`${address}/`, "roll-token");
      const before = source.loads;
      expect((await send("models/champion")).status).toBeLessThan(300);
      expect(source.loads).toBeGreaterThan(before);
      expect(server.core.has("churn")).toBe(true);
      // Without the token the server refuses the load (401), and the event fails (redelivered).
      roller = new ModelServerLoadRoller(address);
      expect((await send("models/champion")).status).toBeGreaterThanOrEqual(500);
      // A load that leaves no model served (503) fails the event too.
      source.next = () => {
        throw new Error("bundle unreadable");
      };
      await server.unloadModel("churn");
      roller = new ModelServerLoadRoller(address, "roll-token");
      expect((await send("models/champion")).status).toBeGreaterThanOrEqual(500);
    } finally {
      roller = saved;
      await server.close();
    }
  });
});
