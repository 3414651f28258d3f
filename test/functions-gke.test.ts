import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubernetesObject,
  KubernetesObjectApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runIdFor, triggerMarkerObject } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { kubeConfigFromEnv } from "../functions/cluster.js";
import { parseFunctionsEnv } from "../functions/config.js";
import { CHAMPION_ANNOTATION, DeploymentAnnotationRoller } from "../functions/model-server.js";
import { WEEKLY_FUNCTION } from "../functions/register.js";
import { LABELS } from "../pipelines/runner/kubernetes.js";
import { type FunctionsProcess, postBinary, startFunctionsFramework } from "./support/functions.js";
import { type KubeCluster, kubeBinDir, startCluster } from "./support/kube.js";

/**
 * The functions as they run on GCP: no kubeconfig, no in-cluster account, only
 * CHURN_GKE_ENDPOINT, CHURN_GKE_CA_CERT and a Google access token. The test
 * control plane is set up like GKE: it authenticates bearer tokens as users
 * named like Google service accounts (`--token-auth-file`), and the chart's
 * functions Role is bound to those users. The weekly function runs in a real
 * functions-framework process from dist/functions/main.js, and its token comes
 * through google-auth-library from a metadata-server stand-in on loopback
 * (GCE_METADATA_HOST), the way a Cloud Function gets its service account's
 * token; nothing on the path from token to Kubernetes request is test code.
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const chart = join(root, "charts", "churn");
const namespace = "churn";

const PROJECT = "acme-churn";
const WEEKLY_USER = `churn-fn-weekly@${PROJECT}.iam.gserviceaccount.com`;
const MODEL_USER = `churn-fn-model@${PROJECT}.iam.gserviceaccount.com`;
const INTRUDER_USER = `churn-intruder@${PROJECT}.iam.gserviceaccount.com`;
const TOKENS = {
  weekly: "ya29.weekly-test-token",
  model: "ya29.model-test-token",
  intruder: "ya29.intruder-test-token",
};

let cluster: KubeCluster;
let dir: string;

/** The chart rendered for this release with the functions' users, as the deploy guide's helm install does. */
async function renderChart(): Promise<KubernetesObject[]> {
  const { stdout } = await run(join(kubeBinDir(), "helm"), [
    "template",
    "churn",
    chart,
    "--namespace",
    namespace,
    "--set",
    `functions.weekly.user=${WEEKLY_USER}`,
    "--set",
    `functions.model.user=${MODEL_USER}`,
  ]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
}

beforeAll(async () => {
  expect(existsSync(join(root, "dist", "functions", "main.js")), "dist/ missing: run npm run build").toBe(
    true,
  );
  cluster = await startCluster({
    staticTokens: [
      { token: TOKENS.weekly, user: WEEKLY_USER },
      { token: TOKENS.model, user: MODEL_USER },
      { token: TOKENS.intruder, user: INTRUDER_USER },
    ],
  });
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  for (const name of [namespace, "elsewhere"]) await core.createNamespace({ body: { metadata: { name } } });
  // The functions' Roles and bindings, and the server Deployment the model function patches.
  const objects = cluster.kubeConfig.makeApiClient(KubernetesObjectApi);
  const docs = await renderChart();
  const wanted = docs.filter(
    (d) => ["Role", "RoleBinding"].includes(d.kind ?? "") || d.kind === "Deployment",
  );
  expect(wanted.map((d) => `${d.kind}/${d.metadata?.name}`).sort()).toEqual(
    expect.arrayContaining(["Role/churn-fn-weekly", "RoleBinding/churn-fn-weekly", "Role/churn-fn-model"]),
  );
  for (const doc of wanted) {
    await objects.create({ ...doc, metadata: { ...doc.metadata, namespace } } as KubernetesObject);
  }
  // A second Deployment the model function must not touch.
  const server = docs.find((d) => d.kind === "Deployment")!;
  await objects.create({ ...server, metadata: { ...server.metadata, name: "other", namespace } });
  dir = await mkdtemp(join(tmpdir(), "churn-fn-gke-"));
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the chart's functions Role (SubjectAccessReview against the real apiserver)", () => {
  const can = async (
    user: string,
    verb: string,
    resource: string,
    group: string,
    extra: { name?: string; subresource?: string; ns?: string } = {},
  ) => {
    const review = await cluster.kubeConfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: {
        spec: {
          user,
          groups: ["system:authenticated"],
          resourceAttributes: {
            namespace: extra.ns ?? namespace,
            verb,
            resource,
            group,
            name: extra.name,
            subresource: extra.subresource,
          },
        },
      },
    });
    return review.status?.allowed === true;
  };

  // [who, verb, resource, group, name/subresource/namespace, allowed]
  it.each([
    ["weekly", "create", "jobs", "batch", {}, true],
    ["weekly", "get", "jobs", "batch", { name: "r-0123456789abcdef-driver" }, true],
    ["weekly", "list", "jobs", "batch", {}, false],
    ["weekly", "watch", "jobs", "batch", {}, false],
    ["weekly", "delete", "jobs", "batch", { name: "r-0123456789abcdef-driver" }, false],
    ["weekly", "update", "jobs", "batch", { name: "r-0123456789abcdef-driver" }, false],
    ["weekly", "patch", "jobs", "batch", { name: "r-0123456789abcdef-driver" }, false],
    [
      "weekly",
      "update",
      "jobs",
      "batch",
      { name: "r-0123456789abcdef-driver", subresource: "status" },
      false,
    ],
    ["weekly", "create", "jobs", "batch", { ns: "elsewhere" }, false],
    ["weekly", "create", "cronjobs", "batch", {}, false],
    ["weekly", "create", "pods", "", {}, false],
    ["weekly", "get", "secrets", "", { name: "any" }, false],
    ["weekly", "create", "configmaps", "", {}, false],
    ["weekly", "patch", "deployments", "apps", { name: "churn-server" }, false],
    ["model", "patch", "deployments", "apps", { name: "churn-server" }, true],
    ["model", "patch", "deployments", "apps", { name: "other" }, false],
    ["model", "get", "deployments", "apps", { name: "churn-server" }, false],
    ["model", "update", "deployments", "apps", { name: "churn-server" }, false],
    ["model", "delete", "deployments", "apps", { name: "churn-server" }, false],
    ["model", "list", "deployments", "apps", {}, false],
    ["model", "patch", "deployments", "apps", { name: "churn-server", subresource: "scale" }, false],
    ["model", "patch", "deployments", "apps", { name: "churn-server", ns: "elsewhere" }, false],
    ["model", "create", "jobs", "batch", {}, false],
    ["intruder", "create", "jobs", "batch", {}, false],
    ["intruder", "patch", "deployments", "apps", { name: "churn-server" }, false],
  ] as const)("%s %s %s.%s %j → allowed %s", async (who, verb, resource, group, extra, allowed) => {
    const user = { weekly: WEEKLY_USER, model: MODEL_USER, intruder: INTRUDER_USER }[who];
    expect(await can(user, verb, resource, group, extra)).toBe(allowed);
  });

  it("grants nothing to the functions when the chart is installed without their users", async () => {
    const { stdout } = await run(join(kubeBinDir(), "helm"), ["template", "churn", chart, "-n", namespace]);
    expect(stdout).not.toContain("churn-fn-");
  });
});

/** A stand-in for the metadata server's two endpoints google-auth-library uses in Cloud Functions. */
async function metadataServer(
  token: string,
): Promise<{ host: string; tokenRequests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((req, res) => {
    const flavour = req.headers["metadata-flavor"];
    const path = (req.url ?? "").split("?")[0];
    if (flavour !== "Google") {
      res.writeHead(403).end("missing Metadata-Flavor: Google");
      return;
    }
    res.setHeader("Metadata-Flavor", "Google");
    if (path === "/computeMetadata/v1/instance") {
      res.writeHead(200, { "content-type": "text/plain" }).end("attributes/\nservice-accounts/\n");
    } else if (path === "/computeMetadata/v1/instance/service-accounts/default/token") {
      requests += 1;
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: "Bearer" }));
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { host: `127.0.0.1:${port}`, tokenRequests: () => requests, server };
}

/** The deployed entry in a real functions-framework, configured as Terraform configures it on GCP. */
async function startWeeklyFunction(bucketDir: string, metadataHost: string): Promise<FunctionsProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing but the GKE settings may point the function at a cluster or at credentials.
  for (const name of ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "GOOGLE_APPLICATION_CREDENTIALS"])
    delete env[name];
  return startFunctionsFramework(WEEKLY_FUNCTION, {
    ...env,
    CHURN_LAUNCHER: "kubernetes",
    CHURN_BUCKET_URI: `file://${bucketDir}`,
    CHURN_GKE_ENDPOINT: cluster.server,
    CHURN_GKE_CA_CERT: readFileSync(join(cluster.dir, "ca.crt")).toString("base64"),
    GCE_METADATA_HOST: metadataHost,
    // No gcloud user credentials from this machine's home: only the metadata server.
    CLOUDSDK_CONFIG: join(dir, "no-gcloud"),
    HOME: join(dir, "no-home"),
  });
}

describe("onWeeklyUpload on GKE settings (functions-framework, token auth, the chart's Role)", () => {
  let bucketDir: string;
  beforeAll(async () => {
    bucketDir = join(dir, "bucket");
    const init = spawnSync(
      process.execPath,
      [
        join(root, "dist", "cli", "bin.js"),
        "init",
        "--bucket",
        bucketDir,
        "--rows",
        "200",
        "--weekly-rows",
        "50",
      ],
      { encoding: "utf8" },
    );
    expect(init.status, init.stderr).toBe(0);
    // An image no node-agent rule runs: this test is about the trigger, not the run.
    const yamlPath = join(bucketDir, "churn.yaml");
    await writeFile(
      yamlPath,
      (await readFile(yamlPath, "utf8")).replace(/image: .*/, "image: registry.invalid/churn:never"),
    );
  });

  it("one upload creates one driver Job as the weekly function's Google identity", async () => {
    const storage = await openStorage(bucketDir);
    const weekly = (await storage.list("weekly/"))[0]!;
    const metadata = await metadataServer(TOKENS.weekly);
    const fn = await startWeeklyFunction(bucketDir, metadata.host);
    try {
      const event = { bucket: "local", name: weekly.name, generation: weekly.generation };
      expect((await postBinary(fn.url, event)).status, fn.output()).toBeLessThan(300);
      expect((await postBinary(fn.url, event)).status, fn.output()).toBeLessThan(300);
      const marker = JSON.parse(await storage.readText((await storage.list("runs/"))[0]!.name));
      const runId: string = marker.run_id;
      const jobs = await cluster.kubeConfig
        .makeApiClient(BatchV1Api)
        .listNamespacedJob({ namespace, labelSelector: `${LABELS.runId}=${runId}` });
      expect(jobs.items.map((j) => j.metadata?.name)).toEqual([`${runId}-driver`]);
      expect(jobs.items[0]!.spec?.template.spec?.containers[0]?.args).toEqual(
        expect.arrayContaining(["--weekly", weekly.name, "--in-cluster"]),
      );
      const lines = fn.output().split("\n");
      expect(
        lines.filter((l) => l.includes('"started weekly run')),
        fn.output(),
      ).toHaveLength(1);
      expect(
        lines.find((l) => l.includes('"started weekly run')),
        fn.output(),
      ).toContain(`${namespace}/${runId}-driver`);
      expect(
        lines.filter((l) => l.includes("was already triggered")),
        fn.output(),
      ).toHaveLength(1);
      // The token came from the metadata server through google-auth-library, and was reused.
      expect(metadata.tokenRequests()).toBe(1);
    } finally {
      fn.child.kill();
      metadata.server.close();
    }
  });

  it("a token of another identity is refused (403), said clearly, and the event is left for redelivery", async () => {
    const storage = await openStorage(bucketDir);
    const name = "weekly/2026-W49.csv";
    await storage.copy((await storage.list("weekly/"))[0]!.name, name);
    const info = (await storage.stat(name))!;
    const runId = runIdFor("weekly", storage.uri, { name, generation: info.generation });
    const metadata = await metadataServer(TOKENS.intruder);
    const fn = await startWeeklyFunction(bucketDir, metadata.host);
    try {
      const response = await postBinary(fn.url, { bucket: "local", name, generation: info.generation });
      expect(response.status, fn.output()).toBeGreaterThanOrEqual(500);
      const refusal = fn
        .output()
        .split("\n")
        .find((l) => l.includes("refused to create the driver Job"));
      expect(refusal, fn.output()).toBeDefined();
      expect(refusal).toContain(
        `Kubernetes API at ${cluster.server} refused to create the driver Job of run ${runId} in namespace ${namespace}`,
      );
      expect(refusal).toContain("(HTTP 403)");
      expect(refusal).toContain(`User \\"${INTRUDER_USER}\\" cannot create resource \\"jobs\\"`);
      expect(refusal).toContain("helm value functions.weekly.user");
      // Nothing was started and the trigger marker was given back for the redelivery.
      const jobs = await cluster.kubeConfig
        .makeApiClient(BatchV1Api)
        .listNamespacedJob({ namespace, labelSelector: `${LABELS.runId}=${runId}` });
      expect(jobs.items).toEqual([]);
      expect(await storage.stat(triggerMarkerObject(runId))).toBeNull();
    } finally {
      fn.child.kill();
      metadata.server.close();
    }
  });
});

describe("onModelPublished's roller on GKE settings", () => {
  const envFor = () =>
    parseFunctionsEnv({
      CHURN_GKE_ENDPOINT: cluster.server,
      CHURN_GKE_CA_CERT: readFileSync(join(cluster.dir, "ca.crt")).toString("base64"),
    });
  const staticToken = (token: string) => ({
    description: "the test's static token",
    fetch: async () => ({ token, expiresAt: new Date(Date.now() + 3_600_000) }),
  });

  it("patches the champion annotation of the server Deployment, and only that Deployment", async () => {
    const kc = await kubeConfigFromEnv(envFor(), { tokens: staticToken(TOKENS.model) });
    const apps = kc.makeApiClient(AppsV1Api);
    const said = await new DeploymentAnnotationRoller(apps, namespace, "churn-server", kc).roll(
      "0123456789abcdef",
    );
    expect(said).toContain("patched deployment churn/churn-server");
    const server = await cluster.kubeConfig
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "churn-server", namespace });
    expect(server.spec?.template.metadata?.annotations?.[CHAMPION_ANNOTATION]).toBe("0123456789abcdef");
    await expect(
      new DeploymentAnnotationRoller(apps, namespace, "other", kc).roll("0123456789abcdef"),
    ).rejects.toThrow(
      /refused to patch Deployment churn\/other \(HTTP 403\).*helm value functions\.model\.user/,
    );
  });
});
