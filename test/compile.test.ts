import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { AuthorizationV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { runIdFor } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { ArgoLauncher } from "../functions/argo-launcher.js";
import { WEEKLY_FUNCTION } from "../functions/register.js";
import { ARGO_FORMS, COMPILABLE, shardPlanTask } from "../pipelines/compile/index.js";
import { dependenciesOf } from "../pipelines/dag.js";
import { pipelineByName } from "../pipelines/definitions/index.js";
import { LABELS } from "../pipelines/runner/kubernetes/names.js";
import { installArgoCrds } from "./support/argo.js";
import { spawnChurn } from "./support/cli.js";
import { postBinary, postStructured, startFunctionsFramework } from "./support/functions.js";
import { type KubeCluster, kubeBinDir, postToApiserver, startCluster } from "./support/kube.js";

// `churn pipeline compile` checked by the engines' own tools: KFP specs parse strictly into
// kfp-pipeline-spec's PipelineSpec and load with the kfp SDK (test/services/install-kfp.sh);
// Argo documents pass a strict server-side dry run against argo-workflows' full CRDs
// (test/services/install-argo.sh) on the project's real test control plane.
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const cache = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test");
const kfpPython = join(cache, "venv-kfp", "bin", "python");
const SNAPSHOTS = "__snapshots__/compile";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-compile-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function compile(args: string[]): Promise<string> {
  const result = await spawnChurn(["pipeline", "compile", ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe("churn pipeline compile --target kfp", () => {
  const validated = new Map<string, Record<string, unknown>>();
  beforeAll(async () => {
    expect(existsSync(kfpPython), `${kfpPython} missing: run bash test/services/install-kfp.sh`).toBe(true);
    const files: string[] = [];
    for (const name of COMPILABLE) {
      const file = join(dir, `${name}.kfp.yaml`);
      const out = await spawnChurn(["pipeline", "compile", name, "--target", "kfp", "--out", file]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(`wrote ${file}`);
      files.push(file);
    }
    const { stdout } = await run(kfpPython, [join(root, "test/kfp/validate.py"), ...files]);
    for (const line of stdout.trim().split("\n")) {
      const report = JSON.parse(line) as { file: string };
      validated.set(report.file, report);
    }
  }, 120_000);

  for (const name of COMPILABLE) {
    it(`${name}: parses strictly into PipelineSpec/PlatformSpec, loads with the kfp SDK, and keeps the DAG`, async () => {
      const file = join(dir, `${name}.kfp.yaml`);
      const report = validated.get(file) as {
        name: string;
        sdk_inputs: string[];
        root_tasks: Record<string, { dependent_tasks: string[]; retries: number; iterator: string | null }>;
        platform_executors: string[];
      };
      expect(report.name).toBe(`churn-${name}`);
      expect(report.sdk_inputs).toEqual(["bucket", "run_id", "trigger"]);
      const definition = pipelineByName(name);
      const loopOf = (step: string) =>
        definition.steps.find((s) => s.name === step)?.fanOut ? `for-each-shard-${step}` : step;
      for (const step of definition.steps) {
        const task = report.root_tasks[loopOf(step.name)];
        expect(task, step.name).toBeDefined();
        const expected = dependenciesOf(step).map(loopOf);
        if (step.fanOut) expected.push(shardPlanTask(step.name));
        expect(new Set(task!.dependent_tasks), step.name).toEqual(new Set(expected));
        // A fanned-out step is a ParallelFor over its planner's output; every other step retries exit 1 twice.
        if (step.fanOut) expect(task!.iterator).toBe(`pipelinechannel--${shardPlanTask(step.name)}-shards`);
        else expect(task!.retries, step.name).toBe(step.retries ?? 2);
      }
      expect(report.platform_executors.length).toBe(
        definition.steps.length + definition.steps.filter((s) => s.fanOut).length,
      );
      await expect(await readFile(file, "utf8")).toMatchFileSnapshot(`${SNAPSHOTS}/${name}.kfp.yaml`);
    });
  }

  it("every step runs `churn pipeline step` with the run's parameters, never a second planner", async () => {
    const [spec] = parseAllDocuments(await readFile(join(dir, "weekly.kfp.yaml"), "utf8")).map((d) =>
      d.toJS(),
    );
    const executors = spec.deploymentSpec.executors as Record<string, { container: { args: string[] } }>;
    for (const [name, { container }] of Object.entries(executors)) {
      expect(container.args.slice(0, 3), name).toEqual(["pipeline", "step", "weekly"]);
      expect(container.args).toContain("{{$.inputs.parameters['run_id']}}");
    }
    expect(executors["exec-score"]!.container.args).toContain("{{$.inputs.parameters['shard']}}");
    expect(executors["exec-score-shards"]!.container.args).toContain(
      "{{$.outputs.parameters['shards'].output_file}}",
    );
  });

  it("a planted schema error fails the strict parse, naming the field", async () => {
    const text = await readFile(join(dir, "weekly.kfp.yaml"), "utf8");
    const planted = join(dir, "planted.kfp.yaml");
    await writeFile(planted, text.replace("  retryPolicy:\n", "  retryPolicee:\n"));
    const failed = await run(kfpPython, [join(root, "test/kfp/validate.py"), planted]).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/retryPolicee/);
  });

  it("refuses what it cannot compile, with a usage error", async () => {
    const score = await spawnChurn(["pipeline", "compile", "score", "--target", "kfp"]);
    expect(score.code).toBe(2);
    expect(score.stderr).toMatch(/cannot be compiled \(compile one of: weekly, retrain, lifetime\)/);
    const target = await spawnChurn(["pipeline", "compile", "weekly", "--target", "airflow"]);
    expect(target.code).toBe(2);
    expect(target.stderr).toMatch(/--target must be one of kfp, argo/);
  });
});

describe("churn pipeline compile --target argo, on the test control plane", () => {
  let cluster: KubeCluster;
  const namespace = "churn";
  beforeAll(async () => {
    cluster = await startCluster();
    await installArgoCrds(cluster, namespace);
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const PLURALS = {
    Workflow: "workflows",
    WorkflowTemplate: "workflowtemplates",
    CronWorkflow: "cronworkflows",
  };

  async function dryRun(doc: { kind: keyof typeof PLURALS }) {
    return postToApiserver(
      cluster,
      `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/${PLURALS[doc.kind]}`,
      doc,
    );
  }

  for (const name of COMPILABLE) {
    for (const form of ARGO_FORMS) {
      it(`${name} as a ${form}: passes a strict server-side dry run against the full CRDs`, async () => {
        const yaml = await compile([name, "--target", "argo", "--form", form]);
        const doc = parse(yaml);
        const answer = await dryRun(doc);
        expect(answer.status, answer.body.slice(0, 2000)).toBe(201);
        await expect(yaml).toMatchFileSnapshot(`${SNAPSHOTS}/${name}.argo-${form}.yaml`);
      });
    }
  }

  it("keeps the DAG, fans score out with withSequence, and retries exit 1 only", async () => {
    const doc = parse(await compile(["weekly", "--target", "argo"]));
    const dag = doc.spec.templates[0].dag.tasks as Array<{
      name: string;
      dependencies?: string[];
      withSequence?: { count: string };
    }>;
    for (const step of pipelineByName("weekly").steps) {
      const task = dag.find((t) => t.name === step.name)!;
      const expected = dependenciesOf(step);
      if (step.fanOut) expected.push(shardPlanTask(step.name));
      expect(new Set(task.dependencies ?? []), step.name).toEqual(new Set(expected));
    }
    expect(dag.find((t) => t.name === "score")?.withSequence?.count).toBe(
      "{{tasks.score-shards.outputs.parameters.shard-count}}",
    );
    const train = doc.spec.templates.find((t: { name: string }) => t.name === "train");
    expect(train.retryStrategy).toMatchObject({ limit: "2", expression: "asInt(lastRetry.exitCode) == 1" });
    expect(train.activeDeadlineSeconds).toBe(3600);
    expect(train.container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
  });

  it("the weekly function with CHURN_LAUNCHER=argo creates exactly one Workflow for four deliveries", async () => {
    const bucketDir = join(dir, "argo-bucket");
    const init = await spawnChurn(["init", "--bucket", bucketDir, "--rows", "200", "--weekly-rows", "50"]);
    expect(init.code, init.stderr).toBe(0);
    const storage = await openStorage(bucketDir);
    const weekly = (await storage.list("weekly/"))[0]!;
    const ff = await startFunctionsFramework(WEEKLY_FUNCTION, {
      ...process.env,
      CHURN_LAUNCHER: "argo",
      CHURN_BUCKET_URI: `file://${bucketDir}`,
      KUBECONFIG: cluster.kubeconfigPath,
    });
    try {
      const event = { bucket: "local", name: weekly.name, generation: weekly.generation };
      expect((await postBinary(ff.url, event)).status, ff.output()).toBeLessThan(300);
      const again = await Promise.all([
        postStructured(ff.url, event),
        postBinary(ff.url, event),
        postBinary(ff.url, event),
      ]);
      for (const answer of again) expect(answer.status, ff.output()).toBeLessThan(300);
    } finally {
      ff.child.kill();
    }
    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const listed = (await api.listNamespacedCustomObject({
      group: "argoproj.io",
      version: "v1alpha1",
      namespace,
      plural: "workflows",
    })) as {
      items: Array<{
        metadata: { name: string; labels: Record<string, string> };
        spec: { arguments: { parameters: Array<{ name: string; value: string }> } };
      }>;
    };
    const runId = runIdFor("weekly", (await openStorage(`file://${bucketDir}`)).uri, weekly);
    expect(listed.items.map((w) => w.metadata.name)).toEqual([runId]);
    const workflow = listed.items[0]!;
    expect(workflow.metadata.labels[LABELS.runId]).toBe(runId);
    expect(Object.fromEntries(workflow.spec.arguments.parameters.map((p) => [p.name, p.value]))).toEqual({
      bucket: `file://${bucketDir}`,
      run_id: runId,
      trigger: weekly.name,
    });
    // A second launch of the same run (a lost answer, say) finds the Workflow and succeeds; another run's name is refused.
    const launcher = new ArgoLauncher(cluster.kubeConfig, async () => ({
      kubernetes: { namespace, image: "churn:test", service_account: "churn-runner" },
    }));
    const request = {
      runId,
      pipeline: "weekly" as const,
      bucketUri: `file://${bucketDir}`,
      object: weekly.name,
      generation: weekly.generation,
    };
    expect(await launcher.launch(request)).toEqual({
      kind: "argo-workflow (already there)",
      handle: `${namespace}/${runId}`,
    });
  }, 180_000);

  it("the chart's functions Role with launcher argo grants create/get of Workflows, and no Jobs", async () => {
    const user = "churn-fn-weekly@example-project.iam.gserviceaccount.com";
    const { stdout } = await run(join(kubeBinDir(), "helm"), [
      "template",
      "churn",
      join(root, "charts", "churn"),
      "--namespace",
      namespace,
      "--set",
      `functions.weekly.user=${user}`,
      "--set",
      "functions.weekly.launcher=argo",
    ]);
    const rbac = parseAllDocuments(stdout)
      .map((d) => d.toJS())
      .filter((d) => d && ["Role", "RoleBinding"].includes(d.kind) && d.metadata.name === "churn-fn-weekly");
    expect(rbac).toHaveLength(2);
    for (const doc of rbac) {
      const plural = doc.kind === "Role" ? "roles" : "rolebindings";
      const created = await postToApiserver(
        cluster,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/${plural}`,
        { ...doc, metadata: { ...doc.metadata, namespace } },
        { dryRun: false },
      );
      expect(created.status, created.body).toBe(201);
    }
    const auth = cluster.kubeConfig.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string, group: string) =>
      (
        await auth.createSubjectAccessReview({
          body: { spec: { user, resourceAttributes: { namespace, verb, resource, group } } },
        })
      ).status?.allowed === true;
    expect(await can("create", "workflows", "argoproj.io")).toBe(true);
    expect(await can("get", "workflows", "argoproj.io")).toBe(true);
    expect(await can("delete", "workflows", "argoproj.io")).toBe(false);
    expect(await can("create", "jobs", "batch")).toBe(false);
  });

  it("a planted schema error fails the dry run, naming the field", async () => {
    const doc = parse(await compile(["weekly", "--target", "argo"]));
    doc.spec.templates[1].retryStrategy = { limit: "2", retryPolicee: "Always" };
    const answer = await dryRun(doc);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.body).toMatch(/retryPolicee/);
    const wrongType = parse(await compile(["weekly", "--target", "argo"]));
    wrongType.spec.templates[1].container.args = "pipeline step";
    const typed = await dryRun(wrongType);
    expect(typed.status).toBe(422);
    expect(typed.body).toMatch(/args/);
  });
});
