import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { IMAGE_ENTRYPOINT } from "../../pipelines/runner/executor.js";
import type { AgentConfig } from "../services/kube/node-agent.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file is test/support/kube.ts). */
const repoRoot = resolve(here, "..", "..");

/** Kubernetes version install-kube.sh builds; startCluster checks the binaries carry it. */
export const KUBE_VERSION = "v1.30.14";

/** An image rule for the node agent: how a container image maps to a local command. */
export type ImageRule = AgentConfig["images"][number];

/** Options for startCluster(). */
export interface ClusterOptions {
  /** Extra image rules, tried before the default `churn:*` rule. */
  images?: ImageRule[];
  /** Name of the one Node the agent registers. */
  nodeName?: string;
  /** Keep the state folder (logs of every process) after stop(), for debugging; default: env CHURN_KUBE_KEEP=1. */
  keep?: boolean;
  /**
   * Bearer tokens the apiserver accepts (`--token-auth-file`), each as the
   * user named: how a GKE control plane sees a Google access token (as the
   * account's email), for the functions' GKE tests.
   */
  staticTokens?: Array<{ token: string; user: string }>;
  /**
   * Run containers in their own mount namespace with the pod's emptyDir volumes and
   * service account at their real paths, as Argo's emissary executor needs (see
   * test/services/kube/pod-volumes.ts; needs root). A volume at /tmp then hides the
   * host's /tmp from the container: keep buckets elsewhere.
   */
  mountVolumes?: boolean;
}

/** A running control plane (etcd, kube-apiserver, kube-controller-manager) plus the node agent. */
export interface KubeCluster {
  /** Path of an admin kubeconfig (system:masters client certificate). */
  readonly kubeconfigPath: string;
  /** The same kubeconfig, loaded. */
  readonly kubeConfig: KubeConfig;
  /** https://127.0.0.1:<port> of the apiserver. */
  readonly server: string;
  readonly nodeName: string;
  /** State folder: certs, process logs, and pods/<namespace>/<pod>/logs/<container>.log. */
  readonly dir: string;
  /** Where the agent writes a container's combined stdout and stderr. */
  containerLogPath(namespace: string, pod: string, container: string): string;
  /** Stops the agent (killing pod processes), the controller manager, the apiserver and etcd. */
  stop(): Promise<void>;
}

/** Folder of the binaries test/services/install-kube.sh builds. */
export function kubeBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "bin");
}

/**
 * The default image rule: the project's image runs the built CLI, for its ENTRYPOINT
 * (no command, or the ENTRYPOINT as command, as compiled pipelines set it) and for `churn`.
 */
export function churnImageRule(): ImageRule {
  const cli = [process.execPath, join(repoRoot, "dist", "cli", "bin.js")];
  return {
    image: "*churn*",
    entrypoint: cli,
    imageEntrypoint: [...IMAGE_ENTRYPOINT],
    commands: { churn: cli },
    env: {},
  };
}

function findEtcd(bin: string): string | undefined {
  const local = join(bin, "etcd");
  if (existsSync(local)) return local;
  for (const folder of (process.env.PATH ?? "").split(":")) {
    if (folder && existsSync(join(folder, "etcd"))) return join(folder, "etcd");
  }
  return undefined;
}

/** Throws, naming the install script, unless every binary the cluster needs is there. */
export function requireKubeBinaries(): { apiserver: string; controllerManager: string; etcd: string } {
  const bin = kubeBinDir();
  const hint =
    "run `bash test/services/install-kube.sh` (builds them once into the test cache: about 8 minutes cold on 2 cores)";
  const apiserver = join(bin, "kube-apiserver");
  const controllerManager = join(bin, "kube-controller-manager");
  for (const binary of [apiserver, controllerManager]) {
    if (!existsSync(binary))
      throw new Error(`Kubernetes control plane not installed: ${binary} is missing; ${hint}`);
    const stamp = `${binary}.version`;
    if (!existsSync(stamp) || !readFileSync(stamp, "utf8").includes(`@${KUBE_VERSION}+`)) {
      throw new Error(`${binary} is not the pinned ${KUBE_VERSION} build; ${hint}`);
    }
  }
  const etcd = findEtcd(bin);
  if (!etcd) throw new Error(`etcd is not installed (neither in ${bin} nor on PATH); ${hint}`);
  return { apiserver, controllerManager, etcd };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (error) {
    throw new Error(`openssl ${args.join(" ")} failed: ${(error as { stderr?: string }).stderr ?? error}`);
  }
}

/** A key and a certificate signed by the test CA, with the given subject, usage and SANs. */
async function issue(
  dir: string,
  name: string,
  subject: string,
  usage: "serverAuth" | "clientAuth",
  sans: string[] = [],
) {
  const ext = [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${usage}`,
    ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : []),
  ].join("\n");
  await writeFile(join(dir, `${name}.ext`), `${ext}\n`);
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`], dir);
  await openssl(["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`], dir);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "7",
    ].concat(["-extfile", `${name}.ext`, "-out", `${name}.crt`]),
    dir,
  );
}

/** Self-signed CA, serving and client certificates, and the service-account signing key. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  await openssl(
    ["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=churn-test-ca", "-days", "7", "-out", "ca.crt"],
    dir,
  );
  const apiserverSans = [
    "IP:127.0.0.1",
    "IP:10.96.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ];
  await issue(dir, "apiserver", "/CN=kube-apiserver", "serverAuth", apiserverSans);
  await issue(dir, "admin", "/O=system:masters/CN=churn-test-admin", "clientAuth");
  await issue(dir, "kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth");
  await issue(dir, "node-agent", "/CN=churn-test-node", "serverAuth", ["IP:127.0.0.1", "DNS:localhost"]);
  await openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  await openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

async function writeKubeconfig(dir: string, server: string): Promise<string> {
  const b64 = (file: string) => readFileSync(join(dir, file)).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "churn-test", cluster: { server, "certificate-authority-data": b64("ca.crt") } }],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") },
      },
    ],
    contexts: [
      { name: "churn-test", context: { cluster: "churn-test", user: "admin", namespace: "default" } },
    ],
    "current-context": "churn-test",
  };
  const path = join(dir, "kubeconfig.yaml");
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}

type Proc = { name: string; child: ChildProcess; logPath: string };

function launch(dir: string, name: string, command: string, args: string[], cwd = dir): Proc {
  const logPath = join(dir, `${name}.log`);
  const out = createWriteStream(logPath);
  const child = spawn(command, args, {
    cwd,
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { name, child, logPath };
}

async function tail(proc: Proc): Promise<string> {
  const text = await readFile(proc.logPath, "utf8").catch(() => "");
  return text.split("\n").slice(-30).join("\n");
}

/** Polls `probe` until it returns true, failing with the process log if the process dies or time runs out. */
function untilUp(proc: Proc, what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<true> {
  return waitFor(`${proc.name}: ${what}`, async () => (await probe()) || null, {
    timeoutMs,
    intervalMs: 250,
    abortIf: async () => {
      const { child } = proc;
      if (child.exitCode === null && child.signalCode === null) return null;
      return `${proc.name} exited (${child.exitCode ?? child.signalCode}):\n${await tail(proc)}`;
    },
    context: () => tail(proc),
  });
}

function httpsOk(url: string, dir: string): Promise<boolean> {
  return new Promise((resolveOk) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(dir, "ca.crt")),
        cert: readFileSync(join(dir, "admin.crt")),
        key: readFileSync(join(dir, "admin.key")),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolveOk(res.statusCode === 200);
      },
    );
    req.on("error", () => resolveOk(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function stopProc(proc: Proc, graceMs = 5000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts etcd, kube-apiserver (RBAC, client-certificate auth, service-account tokens),
 * kube-controller-manager (job, garbage collector, ttl-after-finished, service account
 * and token, namespace controllers) and the node agent, all on free loopback ports, and
 * resolves once the default ServiceAccount exists and the Node is Ready.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<KubeCluster> {
  const binaries = requireKubeBinaries();
  const nodeName = options.nodeName ?? "churn-test-node";
  const dir = await mkdtemp(join(tmpdir(), "churn-kube-"));
  const procs: Proc[] = [];
  const killAll = () => {
    for (const p of procs) p.child.kill("SIGKILL");
  };
  // If the test process dies without stop(), do not leave a control plane behind.
  process.once("exit", killAll);
  let dataRoot: string | undefined;
  const stop = async () => {
    process.off("exit", killAll);
    for (const proc of [...procs].reverse()) await stopProc(proc);
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
    if (options.keep ?? process.env.CHURN_KUBE_KEEP === "1")
      process.stderr.write(`kube test cluster state kept in ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  };
  try {
    await makeCertificates(dir);
    const [etcdClient, etcdPeer, apiPort, agentPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    // etcd's data on tmpfs where there is one: fsyncs on a shared disk are the slowest part.
    dataRoot = existsSync("/dev/shm") ? await mkdtemp("/dev/shm/churn-etcd-") : join(dir, "etcd");
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = launch(dir, "etcd", binaries.etcd, [
      "--name=churn-test",
      `--data-dir=${dataRoot}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=churn-test=http://127.0.0.1:${etcdPeer}`,
      "--log-level=warn",
    ]);
    procs.push(etcd);
    await untilUp(etcd, "health", 20_000, async () => (await fetch(`${etcdUrl}/health`)).ok);

    const server = `https://127.0.0.1:${apiPort}`;
    const tokenArgs: string[] = [];
    if (options.staticTokens?.length) {
      // CSV: token,user,uid (the user doubles as uid; no groups beyond system:authenticated).
      const csv = options.staticTokens.map((t) => `${t.token},${t.user},${t.user}`).join("\n");
      await writeFile(join(dir, "tokens.csv"), `${csv}\n`, { mode: 0o600 });
      tokenArgs.push(`--token-auth-file=${join(dir, "tokens.csv")}`);
    }
    const apiserver = launch(dir, "kube-apiserver", binaries.apiserver, [
      ...tokenArgs,
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${join(dir, "apiserver.crt")}`,
      `--tls-private-key-file=${join(dir, "apiserver.key")}`,
      `--client-ca-file=${join(dir, "ca.crt")}`,
      "--authorization-mode=RBAC",
      "--anonymous-auth=false",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      // Only what tests need; the rest (storage classes, certificate signing, runtime
      // classes, node taints...) has no use without a kubelet and only slows pod creation.
      "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,Priority,ResourceQuota",
      [
        "--disable-admission-plugins=LimitRanger,TaintNodesByCondition,DefaultTolerationSeconds,DefaultStorageClass",
        "StorageObjectInUseProtection,PersistentVolumeClaimResize,RuntimeClass,CertificateApproval",
        "CertificateSigning,ClusterTrustBundleAttest,CertificateSubjectRestriction,DefaultIngressClass",
        "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
      ].join(","),
      // pods/log is proxied to the node agent's HTTPS endpoint, verified against the test CA.
      `--kubelet-certificate-authority=${join(dir, "ca.crt")}`,
      `--kubelet-client-certificate=${join(dir, "kubelet-client.crt")}`,
      `--kubelet-client-key=${join(dir, "kubelet-client.key")}`,
      "--kubelet-preferred-address-types=InternalIP",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--v=1",
    ]);
    procs.push(apiserver);
    await untilUp(apiserver, "/readyz", 120_000, () => httpsOk(`${server}/readyz`, dir));
    const kubeconfigPath = await writeKubeconfig(dir, server);

    const controllerManager = launch(dir, "kube-controller-manager", binaries.controllerManager, [
      `--kubeconfig=${kubeconfigPath}`,
      "--controllers=job-controller,garbage-collector-controller,ttl-after-finished-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller",
      `--service-account-private-key-file=${join(dir, "sa.key")}`,
      `--root-ca-file=${join(dir, "ca.crt")}`,
      "--use-service-account-credentials=false",
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--profiling=false",
      "--v=1",
    ]);
    procs.push(controllerManager);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    // The ServiceAccount admission plugin rejects pods until the namespace's default
    // ServiceAccount exists, so that is the controller manager's readiness signal.
    await untilUp(controllerManager, "the default ServiceAccount", 60_000, async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
      return true;
    });

    const agentDir = join(dir, "node");
    await mkdir(agentDir, { recursive: true });
    const agentConfig: AgentConfig = {
      kubeconfig: kubeconfigPath,
      nodeName,
      stateDir: agentDir,
      port: agentPort,
      tlsCert: join(dir, "node-agent.crt"),
      tlsKey: join(dir, "node-agent.key"),
      caFile: join(dir, "ca.crt"),
      images: [...(options.images ?? []), churnImageRule()],
      baseEnv: { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8" },
      mountVolumes: options.mountVolumes ?? false,
    };
    const agentConfigPath = join(dir, "node-agent.json");
    await writeFile(agentConfigPath, JSON.stringify(agentConfig, null, 2));
    const agent = launch(
      dir,
      "node-agent",
      process.execPath,
      [
        "--import",
        "tsx",
        join(repoRoot, "test", "services", "kube", "node-agent.ts"),
        "--config",
        agentConfigPath,
      ],
      repoRoot, // tsx resolves from the working directory
    );
    procs.push(agent);
    await untilUp(agent, "its Node to be Ready", 60_000, async () => {
      const node = await core.readNode({ name: nodeName });
      return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    });
    return {
      kubeconfigPath,
      kubeConfig,
      server,
      nodeName,
      dir,
      containerLogPath: (namespace, pod, container) =>
        join(agentDir, "pods", namespace, pod, "logs", `${container}.log`),
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/**
 * POSTs an object to the apiserver at `path` (e.g. `/apis/argoproj.io/v1alpha1/namespaces/ns/workflows`)
 * with strict field validation (unknown fields are refused), as a dry run unless told otherwise.
 */
export async function postToApiserver(
  cluster: KubeCluster,
  path: string,
  body: unknown,
  options: { dryRun?: boolean } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(
    `${cluster.server}${path}?fieldValidation=Strict${options.dryRun === false ? "" : "&dryRun=All"}`,
  );
  const http: Parameters<typeof request>[1] = {
    method: "POST",
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: { "content-type": "application/json" },
  };
  await cluster.kubeConfig.applyToHTTPSOptions(http);
  return new Promise((done, fail) => {
    const req = request(http, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", fail);
    req.end(JSON.stringify(body));
  });
}
