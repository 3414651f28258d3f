import type { Writable } from "node:stream";
import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  Log,
  type V1Job,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import { isStatus } from "./api-errors.js";
import { CONTAINER } from "./names.js";

/** What a Job watch reports: the phase (ADDED, MODIFIED, BOOKMARK, ERROR, ...) and the object. */
export type JobEventHandler = (phase: string, job: V1Job | undefined) => void;

/**
 * Opens a watch on one Job by name from `resourceVersion` (undefined: now); `onDone` is
 * called when the watch ends for any reason. Resolves to the controller that stops it.
 */
export type JobEventSource = (
  query: { name: string; resourceVersion: string | undefined; timeoutSeconds: number },
  onEvent: JobEventHandler,
  onDone: () => void,
) => Promise<AbortController>;

/** Streams a pod's step container log into `out` (following it); resolves to the controller that stops it. */
export type LogSource = (pod: string, out: Writable) => Promise<AbortController>;

/**
 * The calls the executor makes in its namespace. The watch and logs modules
 * take the parts they need, so their tests pass fakes; `namespaceApi` is the
 * real one.
 */
export interface NamespaceApi {
  createJob(body: V1Job): Promise<V1Job>;
  readJob(name: string): Promise<V1Job>;
  /** Background deletion (the pods go with the Job); a Job already gone is not an error. */
  deleteJob(name: string): Promise<void>;
  /** The Job's pods, oldest first. */
  podsOf(job: string): Promise<V1Pod[]>;
  /** The latest Warning events of a pod, joined (the reason when its status has none), or null. */
  podWarnings(pod: string): Promise<string | null>;
  watchJob: JobEventSource;
  followLog: LogSource;
}

/** The NamespaceApi over a real apiserver. */
export function namespaceApi(kubeConfig: KubeConfig, namespace: string): NamespaceApi {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    createJob: (body) => batch.createNamespacedJob({ namespace, body }),
    readJob: (name) => batch.readNamespacedJob({ name, namespace }),
    async deleteJob(name) {
      try {
        await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" });
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    },
    async podsOf(job) {
      const list = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` });
      // By time, not by the timestamps' text: the client parses them into Dates, whose text starts with the weekday.
      return list.items.sort((a, b) => createdAt(a) - createdAt(b));
    },
    async podWarnings(pod) {
      try {
        const events = await core.listNamespacedEvent({
          namespace,
          fieldSelector: `involvedObject.name=${pod}`,
        });
        const warnings = events.items
          .filter((e) => e.type === "Warning")
          .map((e) => `${e.reason}: ${e.message}`);
        return warnings.length ? warnings.slice(-3).join("; ") : null;
      } catch {
        return null;
      }
    },
    watchJob: ({ name, resourceVersion, timeoutSeconds }, onEvent, onDone) =>
      new Watch(kubeConfig).watch(
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        {
          fieldSelector: `metadata.name=${name}`,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (phase: string, object: V1Job | undefined) => onEvent(phase, object),
        () => onDone(),
      ),
    followLog: (pod, out) => new Log(kubeConfig).log(namespace, pod, CONTAINER, out, { follow: true }),
  };
}

function createdAt(pod: V1Pod): number {
  const at = pod.metadata?.creationTimestamp;
  return at ? new Date(at).getTime() : 0;
}
