/**
 * A stand-in kubelet for the integration tests (see README.md beside this file).
 *
 * There is no kubelet, scheduler or container runtime here. This agent registers one
 * Node, keeps its Ready condition and its Lease fresh, binds every pending pod to
 * itself, and runs each container's real command as a local process with the pod's
 * environment. It writes the pod phase and the containers' exit codes back, so the real
 * Job controller decides retries, podFailurePolicy and Indexed completion. Container logs
 * go to files and are served on the kubelet's /containerLogs endpoint, so the real
 * `pods/log` API of the apiserver works.
 *
 * Run: node --import tsx node-agent.ts --config <agent.json> (written by startCluster()).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, type WriteStream } from "node:fs";
import { mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1EnvVar,
  type V1Pod,
} from "@kubernetes/client-node";
import { z } from "zod";
import { bindMountsOf, inMountNamespace, SERVICE_ACCOUNT_PATH } from "./pod-volumes.js";

/** One image rule: which local argv stands for the image's entrypoint and for command names. */
const ImageRule = z.object({
  /** Image reference; `*` matches any run of characters (e.g. "churn:*"). */
  image: z.string().min(1),
  /** Local argv used when the container sets no `command` (the image's ENTRYPOINT). */
  entrypoint: z.array(z.string()).min(1).optional(),
  /** Local argv replacing command[0] when it is one of these names (e.g. churn → node bin.js). */
  commands: z.record(z.string(), z.array(z.string()).min(1)).default({}),
  /**
   * The image's own ENTRYPOINT argv: a command starting with it (also the command
   * Argo's `argoexec emissary ... -- <command>` wraps) runs `entrypoint` instead.
   */
  imageEntrypoint: z.array(z.string()).min(1).optional(),
  /** Extra environment the image would carry (its ENV lines). */
  env: z.record(z.string(), z.string()).default({}),
});

/** The agent's configuration file, written by test/support/kube.ts. */
export const AgentConfig = z.object({
  kubeconfig: z.string().min(1),
  nodeName: z.string().min(1).default("churn-test-node"),
  /** Per-pod working folders and logs live under here. */
  stateDir: z.string().min(1),
  /** Port of the kubelet-style HTTPS endpoint (logs) on 127.0.0.1. */
  port: z.number().int().positive(),
  tlsCert: z.string().min(1),
  tlsKey: z.string().min(1),
  /** CA of the cluster, written into pods' service-account folders. */
  caFile: z.string().min(1),
  images: z.array(ImageRule).default([]),
  /** Environment every container starts from (PATH, HOME...), before image and pod env. */
  baseEnv: z.record(z.string(), z.string()).default({}),
  /**
   * Run each container in its own mount namespace with the pod's emptyDir volumes and
   * service account at their real paths (pod-volumes.ts; needs root). Off by default:
   * the runner's Jobs mount an emptyDir at /tmp, which would hide buckets kept in /tmp.
   */
  mountVolumes: z.boolean().default(false),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

type Terminated = {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
};

type ContainerRun = {
  name: string;
  image: string;
  child?: ChildProcess;
  startedAt?: Date;
  restartCount: number;
  terminated?: Terminated;
  /** Set while the image cannot be mapped to a local command. */
  waiting?: { reason: string; message: string };
  /** Why we killed it, when we did (OOMKilled, DeadlineExceeded, deletion). */
  killReason?: string;
  logPath: string;
  /** The pod it belongs to, for events. */
  pod: { namespace: string; name: string; uid: string };
  /** An init container: runs to completion, in order, before the pod's containers start. */
  init: boolean;
};

type PodRun = {
  uid: string;
  namespace: string;
  name: string;
  dir: string;
  initContainers: ContainerRun[];
  containers: ContainerRun[];
  /** Starts the next init container, or the containers once every init container succeeded. */
  next: () => void;
  startedAt: Date;
  done: boolean;
  timers: NodeJS.Timeout[];
  finished: Promise<void>;
  resolveFinished: () => void;
  /** Status writes of one pod, in order: a late "Running" must never land after "Succeeded". */
  statusChain: Promise<void>;
};

const log = (message: string) => process.stderr.write(`node-agent: ${new Date().toISOString()} ${message}\n`);

/** Matches an image reference against a rule pattern with `*` wildcards. */
export function imageMatches(pattern: string, image: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return regex.test(image);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `argv` with the image's ENTRYPOINT replaced by the local one: at its start, or after
 * the `--` of Argo's `<path>/argoexec emissary [flags] -- <command>`, which the
 * emissary executor makes of the main container's command.
 */
export function withLocalEntrypoint(argv: string[], image?: string[], local?: string[]): string[] {
  if (!image || !local) return argv;
  const startsAt = (at: number) => image.every((part, i) => argv[at + i] === part);
  if (startsAt(0)) return [...local, ...argv.slice(image.length)];
  const wrapped = argv.indexOf("--");
  const emissary = /(^|\/)argoexec$/.test(argv[0] ?? "") && argv[1] === "emissary";
  if (emissary && wrapped > 0 && startsAt(wrapped + 1))
    return [...argv.slice(0, wrapped + 1), ...local, ...argv.slice(wrapped + 1 + image.length)];
  return argv;
}

/** Kubernetes' $(VAR) expansion in command, args and env values: unknown names stay as written, $$ escapes. */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return "$";
    return env[name] ?? whole;
  });
}

/** Resolves a downward-API fieldPath against a pod, as the kubelet does for env. */
export function resolveFieldRef(pod: V1Pod, fieldPath: string): string {
  const keyed = /^metadata\.(annotations|labels)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === "annotations" ? pod.metadata?.annotations : pod.metadata?.labels;
    return map?.[keyed[2]] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.podIP":
    case "status.hostIP":
      return "127.0.0.1";
    default:
      throw new Error(`unsupported fieldRef ${fieldPath}`);
  }
}

/** Parses a Kubernetes memory quantity ("64Mi", "1G", "500000") into bytes. */
export function parseMemory(quantity: string): number {
  const match = /^([0-9.]+)([KMGTE]i?|k|m)?$/.exec(quantity.trim());
  if (!match) throw new Error(`cannot read memory quantity ${quantity}`);
  const value = Number(match[1]);
  const unit = match[2] ?? "";
  const factors: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Ei: 2 ** 60,
  };
  return value * (factors[unit] ?? 1);
}

function microTime(date: Date): string {
  // MicroTime wants exactly six fraction digits; Date only has milliseconds.
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Where the agent writes a pod's service-account files: SERVICE_ACCOUNT_PATH under `<pod dir>/root`. */
function serviceAccountDir(podDir: string): string {
  return join(podDir, "root", SERVICE_ACCOUNT_PATH);
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function isConflictOrGone(error: unknown): boolean {
  const code = (error as { code?: number }).code;
  return code === 404 || code === 409;
}

class NodeAgent {
  private readonly kc = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly runs = new Map<string, PodRun>();
  /** Pods whose binding or final delete is in flight, so informer echoes do not repeat it. */
  private readonly inFlight = new Set<string>();
  private readonly caData: string;
  private readonly apiServer: URL;
  private heartbeat?: NodeJS.Timeout;
  private server?: Server;
  private stopping = false;

  constructor(private readonly config: AgentConfig) {
    this.kc.loadFromFile(config.kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.coordination = this.kc.makeApiClient(CoordinationV1Api);
    this.caData = readFileSync(config.caFile, "utf8");
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error(`no current cluster in ${config.kubeconfig}`);
    this.apiServer = new URL(cluster.server);
  }

  async start(): Promise<void> {
    await mkdir(join(this.config.stateDir, "pods"), { recursive: true });
    await this.serveLogs();
    await this.registerNode();
    await this.beat();
    this.heartbeat = setInterval(() => {
      this.beat().catch((error) => log(`heartbeat failed: ${errorText(error)}`));
    }, 10_000);
    const informer = makeInformer(this.kc, "/api/v1/pods", () => this.core.listPodForAllNamespaces());
    const onPod = (pod: V1Pod) => {
      this.reconcile(pod).catch((error) =>
        log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${errorText(error)}`),
      );
    };
    informer.on("add", onPod);
    informer.on("update", onPod);
    informer.on("delete", (pod) => {
      const run = pod.metadata?.uid ? this.runs.get(pod.metadata.uid) : undefined;
      if (!run) return;
      this.killRun(run, "Deleted", 0);
      void run.finished.then(() => this.runs.delete(run.uid));
    });
    informer.on("error", (error) => {
      if (this.stopping) return;
      log(`pod watch dropped (${errorText(error)}); restarting in 1 s`);
      setTimeout(() => informer.start().catch((e) => log(`pod watch restart failed: ${errorText(e)}`)), 1000);
    });
    await informer.start();
    log(`node ${this.config.nodeName} ready; logs on https://127.0.0.1:${this.config.port}`);
  }

  /** Kills every process and stops serving; the Node object stays (the cluster goes away with it). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const run of this.runs.values()) this.killRun(run, "AgentStopped", 0);
    await Promise.race([
      Promise.all([...this.runs.values()].map((run) => run.finished)),
      new Promise((resolve) => setTimeout(resolve, 3000)),
    ]);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async registerNode(): Promise<void> {
    const name = this.config.nodeName;
    try {
      await this.core.createNode({
        body: {
          metadata: {
            name,
            labels: {
              "kubernetes.io/hostname": name,
              "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64",
            },
          },
          spec: {},
        },
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }

  /** Node status (Ready, addresses, the kubelet port the apiserver proxies logs to) and the node Lease. */
  private async beat(): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const status = {
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "churn test node agent is posting ready status",
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [
          { type: "InternalIP", address: "127.0.0.1" },
          { type: "Hostname", address: this.config.nodeName },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: this.config.port } },
        capacity: { cpu: "2", memory: "24Gi", pods: "110", "ephemeral-storage": "100Gi" },
        allocatable: { cpu: "2", memory: "24Gi", pods: "110", "ephemeral-storage": "100Gi" },
        nodeInfo: {
          architecture: "amd64",
          operatingSystem: "linux",
          kubeletVersion: "v1.30.14",
          kubeProxyVersion: "",
          containerRuntimeVersion: "local-process://node-agent",
          kernelVersion: "",
          osImage: "churn test node agent",
          bootID: "",
          machineID: "",
          systemUUID: "",
        },
      },
    };
    await this.core.patchNodeStatus(
      { name: this.config.nodeName, body: status },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    const lease = {
      metadata: { name: this.config.nodeName, namespace: "kube-node-lease" },
      spec: {
        holderIdentity: this.config.nodeName,
        leaseDurationSeconds: 40,
        renewTime: microTime(new Date()),
      },
    };
    try {
      await this.coordination.patchNamespacedLease(
        { name: this.config.nodeName, namespace: "kube-node-lease", body: lease },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      // createNamespacedLease's serializer would turn renewTime into a millisecond date the
      // apiserver rejects, so create through apply-style patch is not available: create
      // with a plain object whose renewTime is already a string.
      await this.coordination.createNamespacedLease({
        namespace: "kube-node-lease",
        body: lease as unknown as Parameters<CoordinationV1Api["createNamespacedLease"]>[0]["body"],
      });
    }
  }

  private async reconcile(pod: V1Pod): Promise<void> {
    if (this.stopping) return;
    const uid = pod.metadata?.uid;
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (!uid || !name || !namespace) return;
    const nodeName = pod.spec?.nodeName;
    if (pod.metadata?.deletionTimestamp) {
      if (nodeName === this.config.nodeName) await this.finishDeletion(pod, uid, name, namespace);
      return;
    }
    if (!nodeName) {
      await this.bind(uid, name, namespace);
      return;
    }
    if (nodeName !== this.config.nodeName) return;
    const phase = pod.status?.phase;
    if (this.runs.has(uid) || phase === "Succeeded" || phase === "Failed") return;
    await this.startPod(pod, uid, name, namespace);
  }

  /** A core/v1 Event on a pod, as the scheduler and the kubelet record them (best effort). */
  private event(
    pod: { namespace: string; name: string; uid: string },
    type: string,
    reason: string,
    message: string,
  ) {
    const now = new Date();
    const component = reason === "Scheduled" ? "default-scheduler" : "kubelet";
    this.core
      .createNamespacedEvent({
        namespace: pod.namespace,
        body: {
          metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
          involvedObject: {
            kind: "Pod",
            apiVersion: "v1",
            namespace: pod.namespace,
            name: pod.name,
            uid: pod.uid,
          },
          type,
          reason,
          message,
          source: { component, host: this.config.nodeName },
          reportingComponent: component,
          reportingInstance: this.config.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((error) => log(`event ${reason} for ${pod.namespace}/${pod.name}: ${errorText(error)}`));
  }

  private async bind(uid: string, name: string, namespace: string): Promise<void> {
    const key = `bind/${uid}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    try {
      await this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          metadata: { name, namespace, uid },
          target: { apiVersion: "v1", kind: "Node", name: this.config.nodeName },
        },
      });
      this.event(
        { namespace, name, uid },
        "Normal",
        "Scheduled",
        `Successfully assigned ${namespace}/${name} to ${this.config.nodeName}`,
      );
    } catch (error) {
      this.inFlight.delete(key);
      if (!isConflictOrGone(error)) throw error;
    }
  }

  /** Graceful deletion: the apiserver waits for the kubelet to kill the containers and confirm. */
  private async finishDeletion(pod: V1Pod, uid: string, name: string, namespace: string): Promise<void> {
    const key = `delete/${uid}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    const run = this.runs.get(uid);
    if (run) {
      const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.killRun(run, "Deleted", grace);
      await run.finished;
    }
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (error) {
      if (!isConflictOrGone(error)) {
        this.inFlight.delete(key);
        throw error;
      }
    }
    this.runs.delete(uid);
  }

  private imageRule(image: string) {
    return this.config.images.find((rule) => imageMatches(rule.image, image));
  }

  /** The local argv for a container, or why there is none (shown as an image pull error). */
  private argvFor(
    container: V1Container,
    env: Record<string, string>,
  ): string[] | { reason: string; message: string } {
    const image = container.image ?? "";
    const rule = this.imageRule(image);
    const args = (container.args ?? []).map((arg) => expandVars(arg, env));
    if (container.command && container.command.length > 0) {
      const [first, ...rest] = container.command.map((part) => expandVars(part, env));
      const mapped = rule?.commands[first];
      return withLocalEntrypoint(
        [...(mapped ?? [first]), ...rest, ...args],
        rule?.imageEntrypoint,
        rule?.entrypoint,
      );
    }
    if (rule?.entrypoint) return [...rule.entrypoint, ...args];
    return {
      reason: "ErrImagePull",
      message: `image ${image} is not known to the churn test node agent (no command and no image rule)`,
    };
  }

  private async resolveEnv(
    pod: V1Pod,
    container: V1Container,
    base: Record<string, string>,
  ): Promise<Record<string, string>> {
    const namespace = pod.metadata?.namespace ?? "default";
    const env: Record<string, string> = { ...base };
    for (const from of container.envFrom ?? []) {
      const prefix = from.prefix ?? "";
      if (from.configMapRef?.name) {
        const data = await this.configMapData(namespace, from.configMapRef.name, from.configMapRef.optional);
        for (const [key, value] of Object.entries(data)) env[prefix + key] = value;
      }
      if (from.secretRef?.name) {
        const data = await this.secretData(namespace, from.secretRef.name, from.secretRef.optional);
        for (const [key, value] of Object.entries(data)) env[prefix + key] = value;
      }
    }
    for (const variable of container.env ?? [])
      env[variable.name] = await this.envValue(pod, namespace, variable, env);
    return env;
  }

  private async envValue(
    pod: V1Pod,
    namespace: string,
    variable: V1EnvVar,
    env: Record<string, string>,
  ): Promise<string> {
    const from = variable.valueFrom;
    if (!from) return expandVars(variable.value ?? "", env);
    if (from.fieldRef) return resolveFieldRef(pod, from.fieldRef.fieldPath);
    if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const data = await this.configMapData(namespace, ref.name ?? "", ref.optional);
      const value = data[ref.key];
      if (value === undefined && !ref.optional)
        throw new Error(`configmap ${namespace}/${ref.name} has no key ${ref.key}`);
      return value ?? "";
    }
    if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const data = await this.secretData(namespace, ref.name ?? "", ref.optional);
      const value = data[ref.key];
      if (value === undefined && !ref.optional)
        throw new Error(`secret ${namespace}/${ref.name} has no key ${ref.key}`);
      return value ?? "";
    }
    if (from.resourceFieldRef) {
      const resource = from.resourceFieldRef.resource;
      const container = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
        (c) => c.name === (from.resourceFieldRef?.containerName ?? c.name),
      );
      const [kind, what] = resource.split(".");
      const section = kind === "limits" ? container?.resources?.limits : container?.resources?.requests;
      return String(section?.[what] ?? "");
    }
    throw new Error(`unsupported valueFrom in env ${variable.name}`);
  }

  private async configMapData(
    namespace: string,
    name: string,
    optional?: boolean,
  ): Promise<Record<string, string>> {
    try {
      return (await this.core.readNamespacedConfigMap({ name, namespace })).data ?? {};
    } catch (error) {
      if (optional && (error as { code?: number }).code === 404) return {};
      throw new Error(`configmap ${namespace}/${name}: ${errorText(error)}`);
    }
  }

  private async secretData(
    namespace: string,
    name: string,
    optional?: boolean,
  ): Promise<Record<string, string>> {
    try {
      const data = (await this.core.readNamespacedSecret({ name, namespace })).data ?? {};
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
      );
    } catch (error) {
      if (optional && (error as { code?: number }).code === 404) return {};
      throw new Error(`secret ${namespace}/${name}: ${errorText(error)}`);
    }
  }

  /**
   * The pod's service-account token, CA and namespace, laid out under <pod dir>/root as
   * they would be mounted at /var/run/secrets/kubernetes.io/serviceaccount, so in-cluster
   * code can call kc.loadFromCluster(process.env.CHURN_TEST_POD_ROOT).
   */
  private async mountServiceAccount(pod: V1Pod, dir: string): Promise<Record<string, string>> {
    if (pod.spec?.automountServiceAccountToken === false) return {};
    const namespace = pod.metadata?.namespace ?? "default";
    const account = pod.spec?.serviceAccountName ?? "default";
    const request = await this.core.createNamespacedServiceAccountToken({
      name: account,
      namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    });
    const root = join(dir, "root");
    const folder = serviceAccountDir(dir);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "token"), request.status?.token ?? "");
    await writeFile(join(folder, "ca.crt"), this.caData);
    await writeFile(join(folder, "namespace"), namespace);
    return {
      KUBERNETES_SERVICE_HOST: this.apiServer.hostname,
      KUBERNETES_SERVICE_PORT: this.apiServer.port,
      CHURN_TEST_POD_ROOT: root,
    };
  }

  private async startPod(pod: V1Pod, uid: string, name: string, namespace: string): Promise<void> {
    let resolveFinished = () => {};
    const finished = new Promise<void>((resolve) => {
      resolveFinished = resolve;
    });
    const dir = join(this.config.stateDir, "pods", namespace, name);
    const run: PodRun = {
      uid,
      namespace,
      name,
      dir,
      initContainers: [],
      containers: [],
      next: () => {},
      startedAt: new Date(),
      done: false,
      timers: [],
      finished,
      resolveFinished,
      statusChain: Promise.resolve(),
    };
    this.runs.set(uid, run);
    // A pod name can come back (a Job recreated with the same name): start clean.
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    await mkdir(join(dir, "logs"), { recursive: true });
    const initSpecs = pod.spec?.initContainers ?? [];
    const containers = pod.spec?.containers ?? [];
    const stateOf = (c: V1Container, init: boolean): ContainerRun => ({
      name: c.name,
      image: c.image ?? "",
      restartCount: 0,
      logPath: join(dir, "logs", `${c.name}.log`),
      pod: { namespace, name, uid },
      init,
    });
    run.initContainers = initSpecs.map((c) => stateOf(c, true));
    run.containers = containers.map((c) => stateOf(c, false));
    // Init containers first, in order: one list for env, argv and image errors.
    const specs = [...initSpecs, ...containers];
    const states = [...run.initContainers, ...run.containers];
    let argvs: (string[] | { reason: string; message: string })[];
    const envs: Record<string, string>[] = [];
    try {
      const saEnv = await this.mountServiceAccount(pod, dir);
      const base = { ...this.config.baseEnv, HOME: dir, TMPDIR: join(dir, "tmp"), HOSTNAME: name, ...saEnv };
      for (const container of specs) {
        const imageEnv = this.imageRule(container.image ?? "")?.env ?? {};
        envs.push(await this.resolveEnv(pod, container, { ...base, ...imageEnv }));
      }
      argvs = specs.map((container, i) => this.argvFor(container, envs[i]));
      if (this.config.mountVolumes)
        argvs = argvs.map((argv, i) => this.withVolumes(pod, specs[i], dir, argv));
    } catch (error) {
      // The kubelet reports config errors (missing configmap key, ...) as a waiting reason.
      for (const c of states) c.waiting = { reason: "CreateContainerConfigError", message: errorText(error) };
      this.event(run, "Warning", "Failed", `Error: ${errorText(error)}`);
      await this.writeStatus(run);
      return;
    }
    const unmapped = argvs.find((argv) => !Array.isArray(argv));
    if (unmapped && !Array.isArray(unmapped)) {
      argvs.forEach((argv, i) => {
        if (Array.isArray(argv)) return;
        states[i].waiting = argv;
        this.event(run, "Warning", "Failed", `Failed to pull image "${states[i].image}": ${argv.message}`);
      });
      await this.writeStatus(run);
      return;
    }
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (deadline) {
      const expire = () => {
        this.event(
          run,
          "Normal",
          "DeadlineExceeded",
          "Pod was active on the node longer than the specified deadline",
        );
        this.killRun(run, "DeadlineExceeded", 0);
      };
      run.timers.push(setTimeout(expire, deadline * 1000));
    }
    let started = 0;
    run.next = () => {
      if (run.done || this.stopping) return;
      if (started < initSpecs.length) {
        const i = started++;
        this.launch(pod, run, states[i], argvs[i] as string[], envs[i], specs[i]);
        return;
      }
      containers.forEach((container, i) => {
        const at = initSpecs.length + i;
        this.launch(pod, run, states[at], argvs[at] as string[], envs[at], container);
      });
    };
    run.next();
    await this.writeStatus(run);
  }

  /** The container's argv inside a mount namespace with its volumes (AgentConfig.mountVolumes). */
  private withVolumes(
    pod: V1Pod,
    container: V1Container,
    dir: string,
    argv: string[] | { reason: string; message: string },
  ) {
    if (!Array.isArray(argv)) return argv;
    const { mounts, skipped } = bindMountsOf(pod, container, dir, serviceAccountDir(dir));
    if (skipped.length)
      log(
        `pod ${pod.metadata?.namespace}/${pod.metadata?.name} ${container.name}: volumes not provided: ${skipped.join(", ")}`,
      );
    return inMountNamespace(argv, mounts, dir);
  }

  private launch(
    pod: V1Pod,
    run: PodRun,
    state: ContainerRun,
    argv: string[],
    env: Record<string, string>,
    spec: V1Container,
  ): void {
    const out: WriteStream = createWriteStream(state.logPath, { flags: "a" });
    state.startedAt = new Date();
    state.terminated = undefined;
    let child: ChildProcess;
    try {
      // Own process group, so a deletion kills what a shell command started too.
      child = spawn(argv[0], argv.slice(1), {
        cwd: run.dir,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      out.end(`node-agent: cannot start ${argv[0]}: ${errorText(error)}\n`);
      this.containerExited(pod, run, state, spec, argv, env, 127, null, errorText(error));
      return;
    }
    state.child = child;
    this.event(run, "Normal", "Started", `Started container ${state.name}`);
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    let spawnError: string | undefined;
    child.on("error", (error) => {
      spawnError = errorText(error);
      out.write(`node-agent: cannot start ${argv[0]}: ${spawnError}\n`);
    });
    const limit = spec.resources?.limits?.memory;
    if (limit) {
      const bytes = parseMemory(limit);
      const timer = setInterval(() => {
        if (child.pid && child.exitCode === null) {
          readFile(`/proc/${child.pid}/status`, "utf8")
            .then((text) => {
              const kib = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
              if (kib * 1024 > bytes) this.killContainer(state, "OOMKilled", 0);
            })
            .catch(() => {});
        }
      }, 200);
      run.timers.push(timer);
    }
    child.on("close", (code, signal) => {
      out.end();
      this.containerExited(pod, run, state, spec, argv, env, code, signal, spawnError);
    });
  }

  private containerExited(
    pod: V1Pod,
    run: PodRun,
    state: ContainerRun,
    spec: V1Container,
    argv: string[],
    env: Record<string, string>,
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: string | undefined,
  ): void {
    const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 };
    const exitCode = spawnError ? 127 : (code ?? 128 + (signal ? (signals[signal] ?? 0) : 0));
    const reason = state.killReason ?? (spawnError ? "StartError" : exitCode === 0 ? "Completed" : "Error");
    state.child = undefined;
    state.terminated = {
      exitCode,
      reason,
      message: spawnError,
      startedAt: state.startedAt ?? new Date(),
      finishedAt: new Date(),
    };
    const policy = pod.spec?.restartPolicy ?? "Always";
    const failed = exitCode !== 0;
    // An init container is rerun only when it failed and the pod may restart (OnFailure, Always).
    const restart =
      !run.done &&
      !state.killReason &&
      (state.init ? failed && policy !== "Never" : policy === "Always" || (policy === "OnFailure" && failed));
    if (restart) {
      state.restartCount += 1;
      this.writeStatus(run).catch((error) =>
        log(`status of ${run.namespace}/${run.name}: ${errorText(error)}`),
      );
      // The kubelet backs off between restarts; one second keeps tests quick.
      setTimeout(() => {
        if (!run.done && !this.stopping) this.launch(pod, run, state, argv, env, spec);
      }, 1000);
      return;
    }
    if (state.init && !failed && !run.done) {
      run.next();
      this.writeStatus(run).catch((error) =>
        log(`status of ${run.namespace}/${run.name}: ${errorText(error)}`),
      );
      return;
    }
    // A failed (or killed) init container ends the pod: its containers never start.
    if (state.init || run.containers.every((c) => c.terminated && !c.child)) {
      run.done = true;
      for (const timer of run.timers) clearTimeout(timer);
      this.writeStatus(run)
        .catch((error) => log(`status of ${run.namespace}/${run.name}: ${errorText(error)}`))
        .finally(() => run.resolveFinished());
    } else {
      this.writeStatus(run).catch((error) =>
        log(`status of ${run.namespace}/${run.name}: ${errorText(error)}`),
      );
    }
  }

  private killContainer(state: ContainerRun, reason: string, graceSeconds: number): void {
    const child = state.child;
    if (!child?.pid) return;
    state.killReason ??= reason;
    if (reason === "Deleted") this.event(state.pod, "Normal", "Killing", `Stopping container ${state.name}`);
    const group = -child.pid;
    try {
      process.kill(group, graceSeconds > 0 ? "SIGTERM" : "SIGKILL");
    } catch {
      return;
    }
    if (graceSeconds > 0) {
      setTimeout(() => {
        try {
          process.kill(group, "SIGKILL");
        } catch {}
      }, graceSeconds * 1000).unref();
    }
  }

  /** Stops a pod's containers for good (no restarts): deletion, deadline or agent shutdown. */
  private killRun(run: PodRun, reason: string, graceSeconds: number): void {
    const wasDone = run.done;
    run.done = true;
    const live = [...run.initContainers, ...run.containers].filter((c) => c.child);
    if (live.length === 0) {
      if (!wasDone) run.resolveFinished();
      return;
    }
    for (const state of live) this.killContainer(state, reason, graceSeconds);
  }

  /** Writes phase, conditions and container states the way the kubelet reports them. */
  private writeStatus(run: PodRun): Promise<void> {
    const next = run.statusChain.then(() => this.sendStatus(run));
    run.statusChain = next.catch(() => {});
    return next;
  }

  private async sendStatus(run: PodRun): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
    const states = run.containers;
    const inits = run.initContainers;
    const initialized = inits.every((c) => c.terminated?.exitCode === 0 && !c.child);
    const allDone = states.every((c) => c.terminated && !c.child) && run.done;
    const waiting = [...inits, ...states].some((c) => c.waiting);
    const deadline = [...inits, ...states].some((c) => c.terminated?.reason === "DeadlineExceeded");
    let phase: string;
    if (waiting) phase = "Pending";
    else if (!initialized) phase = run.done ? "Failed" : "Pending";
    else if (allDone)
      phase = deadline || states.some((c) => c.terminated?.exitCode !== 0) ? "Failed" : "Succeeded";
    else phase = "Running";
    const running = phase === "Running";
    const statusOf = (c: ContainerRun) => ({
      name: c.name,
      image: c.image,
      imageID: `local://${c.image}`,
      containerID: `local://${run.uid}/${c.name}`,
      ready: c.init ? c.terminated?.exitCode === 0 && !c.child : Boolean(c.child),
      started: Boolean(c.child),
      restartCount: c.restartCount,
      state: c.waiting
        ? { waiting: c.waiting }
        : c.child
          ? { running: { startedAt: iso(c.startedAt ?? new Date()) } }
          : c.terminated
            ? {
                terminated: {
                  exitCode: c.terminated.exitCode,
                  reason: c.terminated.reason,
                  message: c.terminated.message,
                  startedAt: iso(c.terminated.startedAt),
                  finishedAt: iso(c.terminated.finishedAt),
                },
              }
            : { waiting: { reason: initialized ? "ContainerCreating" : "PodInitializing" } },
    });
    const containerStatuses = states.map(statusOf);
    const condition = (type: string, ok: boolean, reason?: string) => ({
      type,
      status: ok ? "True" : "False",
      lastTransitionTime: now,
      ...(reason ? { reason } : {}),
    });
    const status: Record<string, unknown> = {
      phase,
      hostIP: "127.0.0.1",
      podIP: "127.0.0.1",
      podIPs: [{ ip: "127.0.0.1" }],
      startTime: iso(run.startedAt),
      conditions: [
        condition("PodScheduled", true),
        condition("Initialized", initialized, initialized ? undefined : "ContainersNotInitialized"),
        condition(
          "ContainersReady",
          running,
          running ? undefined : phase === "Pending" ? "ContainersNotReady" : "PodCompleted",
        ),
        condition(
          "Ready",
          running,
          running ? undefined : phase === "Pending" ? "ContainersNotReady" : "PodCompleted",
        ),
      ],
      containerStatuses,
      ...(inits.length ? { initContainerStatuses: inits.map(statusOf) } : {}),
    };
    if (deadline) {
      status.reason = "DeadlineExceeded";
      status.message = `Pod was active on the node longer than the specified deadline`;
    }
    try {
      await this.core.patchNamespacedPodStatus(
        { name: run.name, namespace: run.namespace, body: { metadata: { uid: run.uid }, status } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (!isConflictOrGone(error)) throw error;
    }
  }

  /**
   * The kubelet's log endpoint, which the apiserver proxies `pods/log` to:
   * GET /containerLogs/<namespace>/<pod>/<container>?follow=true&tailLines=N&limitBytes=N.
   */
  private async serveLogs(): Promise<void> {
    const server = createServer(
      { cert: readFileSync(this.config.tlsCert), key: readFileSync(this.config.tlsKey) },
      (request, response) => {
        const url = new URL(request.url ?? "/", "https://127.0.0.1");
        const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (request.method !== "GET" || !match) {
          response.writeHead(404).end("not found\n");
          return;
        }
        const [, namespace, pod, container] = match.map(decodeURIComponent);
        this.streamLog(namespace, pod, container, url.searchParams, response).catch((error) => {
          if (!response.headersSent) response.writeHead(500);
          response.end(`node-agent: ${errorText(error)}\n`);
        });
      },
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.config.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  private async streamLog(
    namespace: string,
    pod: string,
    container: string,
    query: URLSearchParams,
    response: import("node:http").ServerResponse,
  ): Promise<void> {
    const path = join(this.config.stateDir, "pods", namespace, pod, "logs", `${container}.log`);
    if (!existsSync(path)) {
      response.writeHead(404).end(`no log for container ${container} of pod ${namespace}/${pod}\n`);
      return;
    }
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    const follow = query.get("follow") === "true";
    const limit = query.has("limitBytes") ? Number(query.get("limitBytes")) : Number.POSITIVE_INFINITY;
    let position = 0;
    if (query.has("tailLines")) {
      const text = await readFile(path, "utf8");
      const lines = text.split("\n");
      if (lines.at(-1) === "") lines.pop();
      const tail = lines.slice(-Number(query.get("tailLines")));
      const kept = tail.length ? `${tail.join("\n")}\n` : "";
      position = Buffer.byteLength(text) - Buffer.byteLength(kept);
    }
    let sent = 0;
    let closed = false;
    response.on("close", () => {
      closed = true;
    });
    const handle = await open(path, "r");
    try {
      for (;;) {
        const size = (await stat(path)).size;
        while (position < size && sent < limit && !closed) {
          const length = Math.min(64 * 1024, size - position, limit - sent);
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          sent += bytesRead;
          response.write(buffer.subarray(0, bytesRead));
        }
        if (!follow || closed || sent >= limit) break;
        const run = [...this.runs.values()].find((r) => r.namespace === namespace && r.name === pod);
        const state = [...(run?.initContainers ?? []), ...(run?.containers ?? [])].find(
          (c) => c.name === container,
        );
        // Stop following once the container has exited and everything it wrote is sent.
        if (!state?.child && state?.terminated && position >= (await stat(path)).size) break;
        if (!run) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await handle.close();
      response.end();
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: "string" } } });
  if (!values.config) throw new Error("usage: node-agent.ts --config <agent.json>");
  const parsed = AgentConfig.safeParse(JSON.parse(await readFile(values.config, "utf8")));
  if (!parsed.success) throw new Error(`${values.config}: ${z.prettifyError(parsed.error)}`);
  const agent = new NodeAgent(parsed.data);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    agent.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await agent.start();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    log(errorText(error));
    process.exit(1);
  });
}
