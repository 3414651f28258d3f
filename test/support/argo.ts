import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { parse, parseAllDocuments, stringify } from "yaml";
import { type ImageRule, type KubeCluster, kubeBinDir, postToApiserver } from "./kube.js";
import { waitFor } from "./wait.js";

/** What test/services/install-argo.sh installs: keep in step with its ARGO_VERSION. */
export const ARGO_VERSION = "v3.7.6";
const cache = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test");
export const argoDir = join(cache, `argo-${ARGO_VERSION}`);
export const argoCrds = join(argoDir, "crds");
const argoRbac = join(argoDir, "rbac");
/** The executor image the controller puts in every pod (its default for this version). */
export const ARGOEXEC_IMAGE = `quay.io/argoproj/argoexec:${ARGO_VERSION}`;

/** Throws, naming the install script, unless the CRDs (and, for a run, the binaries) are installed. */
export function requireArgo(what: "crds" | "run"): { controller: string; argoexec: string } {
  const hint = "run bash test/services/install-argo.sh";
  if (!existsSync(join(argoCrds, ".complete"))) throw new Error(`${argoCrds} missing: ${hint}`);
  const controller = join(kubeBinDir(), "workflow-controller");
  const argoexec = join(kubeBinDir(), "argoexec");
  if (what === "run") {
    if (!existsSync(join(argoRbac, ".complete"))) throw new Error(`${argoRbac} missing: ${hint}`);
    for (const binary of [controller, argoexec]) {
      if (!existsSync(binary)) throw new Error(`${binary} missing: ${hint}`);
      const stamp = `${binary}.version`;
      if (!existsSync(stamp) || !readFileSync(stamp, "utf8").includes(`@${ARGO_VERSION}+`))
        throw new Error(`${binary} is not the pinned ${ARGO_VERSION} build: ${hint}`);
    }
  }
  return { controller, argoexec };
}

/**
 * The node agent's rule for the executor image: argoexec from the install, also on
 * PATH, because the emissary's init container copies the argoexec it finds there
 * into /var/run/argo for the main container.
 */
export function argoexecImageRule(): ImageRule {
  const { argoexec } = requireArgo("run");
  return {
    image: "quay.io/argoproj/argoexec:*",
    commands: { argoexec: [argoexec] },
    env: { PATH: `${kubeBinDir()}:${process.env.PATH ?? "/usr/bin:/bin"}` },
  };
}

/** Creates the full Workflow CRDs and `namespace`, and waits until Workflows are served there. */
export async function installArgoCrds(cluster: KubeCluster, namespace: string): Promise<void> {
  requireArgo("crds");
  for (const file of readdirSync(argoCrds).filter((f) => f.endsWith(".yaml"))) {
    const crd = parse(await readFile(join(argoCrds, file), "utf8"));
    const created = await postToApiserver(
      cluster,
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      crd,
      {
        dryRun: false,
      },
    );
    if (created.status !== 201) throw new Error(`${file}: ${created.status} ${created.body.slice(0, 300)}`);
  }
  await postToApiserver(
    cluster,
    "/api/v1/namespaces",
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    { dryRun: false },
  );
  // CRDs serve once Established; a dry run of a Workflow before that is a 404.
  await waitFor(
    "the Argo CRDs to be served",
    async () => {
      const probe = await postToApiserver(
        cluster,
        `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/workflows`,
        {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "Workflow",
          metadata: { generateName: "probe-" },
          spec: { entrypoint: "x", templates: [{ name: "x", container: { image: "x" } }] },
        },
      );
      return probe.status === 201;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

async function create(cluster: KubeCluster, path: string, body: unknown): Promise<void> {
  const created = await postToApiserver(cluster, path, body, { dryRun: false });
  if (created.status !== 201)
    throw new Error(`POST ${path}: ${created.status} ${created.body.slice(0, 500)}`);
}

/** A running workflow-controller, with its log file. */
export interface ArgoController {
  readonly logPath: string;
  /** Why the controller is gone (exit code or signal), or null while it runs. */
  exited(): string | null;
  stop(): Promise<void>;
}

/**
 * Starts workflow-controller for `namespace` as its own ServiceAccount `argo`, bound to
 * the manifests' namespaced controller Role (so its RBAC is the real one), after binding
 * the emissary executor's Role to `stepServiceAccount` (the Workflow's pods report their
 * outputs as WorkflowTaskResults with it).
 */
export async function startArgoController(
  cluster: KubeCluster,
  namespace: string,
  stepServiceAccount: string,
): Promise<ArgoController> {
  const { controller } = requireArgo("run");
  const ns = `/api/v1/namespaces/${namespace}`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  for (const name of ["argo", stepServiceAccount])
    await create(cluster, `${ns}/serviceaccounts`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name },
    });
  for (const file of readdirSync(argoRbac).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(await readFile(join(argoRbac, file), "utf8"))) {
      const object = doc.toJS();
      const plural = object.kind === "Role" ? "roles" : "rolebindings";
      await create(cluster, `${rbac}/${plural}`, { ...object, metadata: { ...object.metadata, namespace } });
    }
  }
  await create(cluster, `${rbac}/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `executor-${stepServiceAccount}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "executor" },
    subjects: [{ kind: "ServiceAccount", name: stepServiceAccount, namespace }],
  });
  // Metrics off: their server would take :9090, which a parallel test (or a second controller) may hold.
  await create(cluster, `${ns}/configmaps`, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "workflow-controller-configmap" },
    data: { metricsConfig: "enabled: false\n" },
  });
  const token = await cluster.kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: "argo",
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  const admin = cluster.kubeConfig.getCurrentCluster()!;
  const kubeconfigPath = join(cluster.dir, "argo.kubeconfig");
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "test", cluster: { server: admin.server, "certificate-authority-data": admin.caData } },
      ],
      users: [{ name: "argo", user: { token: token.status?.token } }],
      contexts: [{ name: "argo", context: { cluster: "test", user: "argo", namespace } }],
      "current-context": "argo",
    }),
    { mode: 0o600 },
  );
  const logPath = join(cluster.dir, "workflow-controller.log");
  const out = createWriteStream(logPath);
  const child: ChildProcess = spawn(
    controller,
    [
      `--kubeconfig=${kubeconfigPath}`,
      "--namespaced",
      `--managed-namespace=${namespace}`,
      `--executor-image=${ARGOEXEC_IMAGE}`,
    ],
    {
      // One controller, no Lease; requeue every 2 s instead of 10 s so a step's end is seen sooner.
      env: { ...process.env, LEADER_ELECTION_DISABLE: "true", DEFAULT_REQUEUE_TIME: "2s" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    logPath,
    exited: () =>
      child.exitCode === null && child.signalCode === null
        ? null
        : `workflow-controller exited (${child.exitCode ?? child.signalCode}); see ${logPath}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
