import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { AuthorizationV1Api, BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runIdFor } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";

import { stepJob } from "../pipelines/runner/kubernetes/manifest.js";
import { podTemplate } from "../pipelines/runner/kubernetes/pod-template.js";
import { LABELS } from "../pipelines/runner/kubernetes.js";
import { createDriverJob, driverJob } from "../pipelines/runner/kubernetes-driver.js";
import { type KubeCluster, kubeBinDir, postToApiserver, startCluster } from "./support/kube.js";
import { expectPublished } from "./support/published.js";

// The Helm chart (charts/churn), rendered by the real helm (test/services/install-helm.sh)
// and checked by the real kube-apiserver: server-side dry run with strict field
// validation, PodSecurity "restricted" on the pod templates, and RBAC decisions for the
// runner's ServiceAccount.
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const chart = join(root, "charts", "churn");

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  rules?: any[];
};

function helmBinary(): string {
  const helm = join(kubeBinDir(), "helm");
  if (!existsSync(helm))
    throw new Error(`${helm} is missing: run \`bash test/services/install-helm.sh\` (go install, once)`);
  return helm;
}

async function template(args: string[] = []): Promise<string> {
  const { stdout } = await run(helmBinary(), ["template", "churn", chart, "--namespace", "churn", ...args]);
  return stdout;
}

function parse(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** Every pod spec the chart renders (Deployment and CronJob templates). */
function podSpecs(docs: Doc[]) {
  return docs.flatMap((d) => {
    if (d.kind === "Deployment") return [{ owner: d.metadata.name, spec: d.spec.template.spec }];
    if (d.kind === "CronJob")
      return [{ owner: d.metadata.name, spec: d.spec.jobTemplate.spec.template.spec }];
    return [];
  });
}

const PLURAL: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  Service: "services",
  Pod: "pods",
  Role: "roles",
  RoleBinding: "rolebindings",
  Deployment: "deployments",
  HorizontalPodAutoscaler: "horizontalpodautoscalers",
  PodDisruptionBudget: "poddisruptionbudgets",
  NetworkPolicy: "networkpolicies",
  CronJob: "cronjobs",
};

/** POSTs an object to the apiserver (dry run unless told otherwise, strict field validation). */
function post(
  cluster: KubeCluster,
  namespace: string,
  doc: Doc,
  dryRun = true,
): Promise<{ status: number; body: string }> {
  const plural = PLURAL[doc.kind];
  if (!plural) throw new Error(`no resource path for kind ${doc.kind}`);
  const base = doc.apiVersion === "v1" ? "/api/v1" : `/apis/${doc.apiVersion}`;
  return postToApiserver(
    cluster,
    `${base}/namespaces/${namespace}/${plural}`,
    { ...doc, metadata: { ...doc.metadata, namespace } },
    { dryRun },
  );
}

describe("Helm chart charts/churn", () => {
  let rendered: string;
  let docs: Doc[];
  beforeAll(async () => {
    rendered = await template(["--set", "retrain.enabled=true"]);
    docs = parse(rendered);
  });

  it("renders the server, the runner RBAC and the retrain CronJob (snapshot)", async () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      "CronJob/churn-retrain",
      "Deployment/churn-server",
      "HorizontalPodAutoscaler/churn-server",
      "NetworkPolicy/churn-server",
      "PodDisruptionBudget/churn-server",
      "Role/churn-runner",
      "RoleBinding/churn-runner",
      "Service/churn-server",
      "ServiceAccount/churn-runner",
      "ServiceAccount/churn-server",
    ]);
    await expect(rendered).toMatchFileSnapshot("./__snapshots__/churn-chart.rendered.yaml");
  });

  it("runs every pod non-root, read-only, without privilege escalation or capabilities, seccomp RuntimeDefault", () => {
    const pods = podSpecs(docs);
    expect(pods).toHaveLength(2);
    for (const { owner, spec } of pods) {
      expect(spec.securityContext, owner).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65534,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const container of spec.containers) {
        expect(container.securityContext, `${owner}/${container.name}`).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources?.limits?.memory, `${owner}/${container.name}`).toBeTruthy();
      }
    }
    const server = docs.find((d) => d.kind === "Deployment")!.spec.template.spec;
    expect(server.automountServiceAccountToken).toBe(false);
    expect(server.containers[0].livenessProbe.httpGet.path).toBe("/v2/health/live");
    expect(server.containers[0].readinessProbe.httpGet.path).toBe("/v2/models/churn/ready");
  });

  it("gives its pods the security settings and scratch space of the runner's pod template (one rule)", () => {
    // The chart's _helpers.tpl and pipelines/runner/kubernetes/pod-template.ts must not drift apart.
    const ts = podTemplate({
      identity: { runId: "r-0123456789abcdef", pipeline: "weekly", step: "driver", role: "driver" },
      image: "img:1",
      args: [],
    }).spec!;
    const pods = podSpecs(docs);
    expect(pods).toHaveLength(2);
    for (const { owner, spec } of pods) {
      expect(spec.securityContext, owner).toEqual(ts.securityContext);
      for (const container of spec.containers) {
        expect(container.securityContext, `${owner}/${container.name}`).toEqual(
          ts.containers[0]!.securityContext,
        );
        expect(container.volumeMounts, `${owner}/${container.name}`).toEqual(ts.containers[0]!.volumeMounts);
      }
      expect(spec.volumes, owner).toEqual(ts.volumes);
    }
    // The chart's driver (the retrain CronJob) runs the runner's container name, so the podFailurePolicy applies.
    const cron = docs.find((d) => d.kind === "CronJob")!.spec.jobTemplate.spec;
    expect(cron.template.spec.containers[0].name).toBe(ts.containers[0]!.name);
    expect(cron.template.spec.restartPolicy).toBe(ts.restartPolicy);
  });

  it("grants the runner exactly the verbs the driver needs", () => {
    const role = docs.find((d) => d.kind === "Role")!;
    const grants = role.rules!.flatMap((rule) =>
      rule.resources.flatMap((resource: string) =>
        rule.verbs.map((verb: string) => `${rule.apiGroups[0] || "core"}/${resource}:${verb}`),
      ),
    );
    expect(grants.sort()).toEqual(
      [
        "batch/jobs:create",
        "batch/jobs:get",
        "batch/jobs:list",
        "batch/jobs:watch",
        "batch/jobs:delete",
        "core/pods:get",
        "core/pods:list",
        "core/pods:watch",
        "core/pods/log:get",
        "core/pods/log:list",
        "core/pods/log:watch",
        "core/events:list",
        "core/events:watch",
        "core/configmaps:create",
        "core/configmaps:get",
        "core/configmaps:delete",
      ].sort(),
    );
    const binding = docs.find((d) => d.kind === "RoleBinding") as Doc & {
      subjects: Array<{ name: string }>;
    };
    expect(binding.subjects.map((s) => s.name)).toEqual(["churn-runner"]);
  });

  it("rejects values the schema does not know, naming them", async () => {
    await expect(template(["--set", "server.replicass=3"])).rejects.toThrow(/replicass/);
    await expect(template(["--set", "bucket=s3://elsewhere"])).rejects.toThrow(/bucket/);
  });

  describe("against the real apiserver", () => {
    let cluster: KubeCluster;
    beforeAll(async () => {
      cluster = await startCluster();
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it("accepts every rendered object in a strict server-side dry run, and the pods under PodSecurity restricted", async () => {
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      const namespace = "churn-restricted";
      await core.createNamespace({
        body: {
          metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
        },
      });
      for (const doc of docs) {
        const result = await post(cluster, namespace, doc);
        expect(result.status, `${doc.kind}/${doc.metadata.name}: ${result.body}`).toBe(201);
      }
      // Pods need their ServiceAccounts to exist (a dry run does not create them).
      for (const doc of docs.filter((d) => d.kind === "ServiceAccount"))
        expect((await post(cluster, namespace, doc, false)).status).toBe(201);
      for (const { owner, spec } of podSpecs(docs)) {
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `${owner}-probe` }, spec };
        const result = await post(cluster, namespace, pod);
        expect(result.status, `${owner}: ${result.body}`).toBe(201);
        // The same pod without its security settings is refused: the check can fail.
        const loose = structuredClone(pod);
        delete loose.spec.securityContext;
        for (const c of loose.spec.containers) delete c.securityContext;
        const refused = await post(cluster, namespace, loose);
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body).message).toMatch(/violates PodSecurity "restricted/);
      }
      // The runner's own pods (a step Job's and the driver Job's) pass PodSecurity "restricted" too.
      const request = {
        runId: "r-0123456789abcdef",
        bucket: "gs://acme-churn",
        weekly: "weekly/2026-W48.csv",
        config: { kubernetes: { namespace, image: "img:1", service_account: "churn-runner" } },
      };
      const step = stepJob(
        { runId: request.runId, step: "score", component: "score", timeoutSeconds: 60, attempt: 0 },
        {
          namespace,
          image: "img:1",
          bucketUri: request.bucket,
          pipeline: "weekly",
          steps: weeklyPipeline.steps,
          serviceAccount: "churn-runner",
          credentialsSecret: "churn-gcp-key",
        },
        { apiVersion: "v1", kind: "ConfigMap", name: request.runId, uid: "u-1" },
        4,
      );
      for (const job of [step, driverJob(request)]) {
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `${job.metadata!.name}-probe` },
          spec: job.spec!.template.spec,
        };
        const result = await post(cluster, namespace, pod);
        expect(result.status, `${job.metadata!.name}: ${result.body}`).toBe(201);
      }
      // A field the API does not know fails strict validation (the dry run is really strict).
      const role = structuredClone(docs.find((d) => d.kind === "Role")!) as Doc & Record<string, unknown>;
      role.extra = true;
      expect((await post(cluster, namespace, role)).status).toBe(400);
    });

    it("lets the runner's ServiceAccount do what the driver does and nothing else", async () => {
      // The namespace the chart was rendered for: the RoleBinding names the ServiceAccount there.
      const namespace = "churn";
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      for (const doc of docs.filter((d) => ["ServiceAccount", "Role", "RoleBinding"].includes(d.kind))) {
        const result = await post(cluster, namespace, doc, false);
        expect(result.status, result.body).toBe(201);
      }
      const auth = cluster.kubeConfig.makeApiClient(AuthorizationV1Api);
      const can = async (verb: string, resource: string, group = "", subresource?: string) => {
        const review = await auth.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${namespace}:churn-runner`,
              groups: [
                "system:serviceaccounts",
                `system:serviceaccounts:${namespace}`,
                "system:authenticated",
              ],
              resourceAttributes: { namespace, verb, resource, group, subresource },
            },
          },
        });
        return review.status?.allowed === true;
      };
      expect(await can("create", "jobs", "batch")).toBe(true);
      expect(await can("watch", "jobs", "batch")).toBe(true);
      expect(await can("delete", "jobs", "batch")).toBe(true);
      expect(await can("get", "pods", "", "log")).toBe(true);
      expect(await can("list", "events")).toBe(true);
      expect(await can("create", "configmaps")).toBe(true);
      expect(await can("update", "jobs", "batch")).toBe(false);
      expect(await can("create", "pods")).toBe(false);
      expect(await can("get", "secrets")).toBe(false);
      expect(await can("update", "configmaps")).toBe(false);
      expect(await can("create", "rolebindings", "rbac.authorization.k8s.io")).toBe(false);
    });

    it("runs the weekly pipeline from one driver Job, in-cluster under the chart's Role", async () => {
      // Uses the ServiceAccount, Role and RoleBinding the previous test created in "churn".
      const namespace = "churn";
      const bin = join(root, "dist", "cli", "bin.js");
      const dir = await mkdtemp(join(tmpdir(), "chart-driver-"));
      try {
        const init = await run(process.execPath, [
          bin,
          "init",
          "--bucket",
          dir,
          "--rows",
          "2000",
          "--weekly-rows",
          "300",
        ]);
        expect(init.stderr).not.toMatch(/error/i);
        const config = await readFile(join(dir, "churn.yaml"), "utf8");
        await writeFile(
          join(dir, "churn.yaml"),
          config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
        );
        const storage = await openStorage(dir);
        const weekly = "weekly/2026-W48.csv";
        const info = await storage.stat(weekly);
        const runId = runIdFor("weekly", storage.uri, { name: weekly, generation: info!.generation });
        const request = {
          runId,
          bucket: storage.uri,
          weekly,
          config: {
            kubernetes: {
              namespace,
              image: "ghcr.io/churn-pipeline/churn:test",
              service_account: "churn-runner",
            },
          },
        };
        const driver = await createDriverJob(cluster.kubeConfig, request);
        expect(driver.created).toBe(true);
        expect((await createDriverJob(cluster.kubeConfig, request)).created).toBe(false);
        const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
        const deadline = Date.now() + 150_000;
        let outcome: string | undefined;
        while (!outcome && Date.now() < deadline) {
          const job = await batch.readNamespacedJob({ name: driver.name, namespace });
          outcome = job.status?.conditions?.find(
            (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
          )?.type;
          if (!outcome) await new Promise((r) => setTimeout(r, 1000));
        }
        const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${driver.name}` });
        const podName = pods.items[0]?.metadata?.name ?? "";
        const driverLog = await readFile(cluster.containerLogPath(namespace, podName, "churn"), "utf8").catch(
          () => "",
        );
        expect(outcome, driverLog).toBe("Complete");
        await expectPublished(storage, "output/2026-W48/", runId);
        const steps = await batch.listNamespacedJob({
          namespace,
          labelSelector: `${LABELS.runId}=${runId},${LABELS.step}!=driver`,
        });
        // One Job per step of the weekly pipeline (score runs as one Indexed Job).
        expect(steps.items).toHaveLength(weeklyPipeline.steps.length);
        expect(driverLog).toContain(`weekly run ${runId} succeeded`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 200_000);
  });
});
