import type { V1Job, V1JobCondition, V1Pod } from "@kubernetes/client-node";
import type { JobEventSource, NamespaceApi } from "./client.js";
import { podProblem } from "./pod-problem.js";
import { sleep } from "./sleep.js";

/** The Job's Complete or Failed condition once it has one. */
export function finishedCondition(job: V1Job): V1JobCondition | undefined {
  return job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/**
 * A watch on one Job that survives drops: each `next` opens a watch from the
 * last resourceVersion seen (or re-reads when it expired) and resolves on the
 * first change, on timeout, or on abort.
 */
export class JobWatch {
  private lastVersion: string | undefined;
  private controller: AbortController | undefined;
  private latest: V1Job | undefined;
  private wake: (() => void) | undefined;
  private open = false;
  private startedAt = 0;

  constructor(
    private readonly events: JobEventSource,
    private readonly name: string,
    private readonly timeoutSeconds: number,
    private readonly onOpen: () => void,
  ) {}

  /** The Job as the next watch event shows it, or undefined when none came within timeoutMs (or on abort). */
  async next(current: V1Job, timeoutMs: number, signal: AbortSignal): Promise<V1Job | undefined> {
    const version = current.metadata?.resourceVersion;
    if (version && (!this.lastVersion || Number(version) > Number(this.lastVersion)))
      this.lastVersion = version;
    this.latest = undefined;
    const woken = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (!this.open) await this.start();
    const timeout = new AbortController();
    const onAbort = () => timeout.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    await Promise.race([woken, sleep(timeoutMs, timeout.signal)]);
    timeout.abort();
    signal.removeEventListener("abort", onAbort);
    this.wake = undefined;
    return this.latest;
  }

  private async start(): Promise<void> {
    // A watch the server keeps closing at once is not reopened in a tight loop: the poll covers it.
    if (Date.now() - this.startedAt < 500) return;
    this.startedAt = Date.now();
    this.open = true;
    try {
      this.controller = await this.events(
        { name: this.name, resourceVersion: this.lastVersion, timeoutSeconds: this.timeoutSeconds },
        (phase, object) => {
          const version = object?.metadata?.resourceVersion;
          if (version) this.lastVersion = version;
          if (phase === "ERROR") {
            // 410 Gone: the version is too old; the caller's re-read gives a fresh one.
            this.lastVersion = undefined;
          } else if (phase !== "BOOKMARK") {
            this.latest = object;
          }
          this.wake?.();
        },
        () => {
          // Dropped (timeout, apiserver restart, network): reopen on the next call.
          this.open = false;
          this.wake?.();
        },
      );
      this.onOpen();
    } catch {
      this.open = false;
    }
  }

  /** Stops the open watch, if any. */
  close(): void {
    this.controller?.abort();
    this.open = false;
  }
}

/** How waiting on a Job ended. */
export type JobEnd =
  /** The Job has its Complete or Failed condition; `pods` are its pods, oldest first. */
  | { state: "finished"; job: V1Job; condition: V1JobCondition; pods: V1Pod[] }
  /** The signal aborted; the Job was deleted. */
  | { state: "cancelled" }
  /** A pod stayed stuck (image pull, config error) past the grace period; the Job was deleted. */
  | { state: "stuck"; problem: string };

/** One wait on one Job: the API calls it may make, how often it looks, and when it gives up. */
export interface JobWaitRequest {
  api: Pick<NamespaceApi, "readJob" | "deleteJob" | "podsOf" | "watchJob">;
  /** The Job as created or read. */
  job: V1Job;
  /** Longest wait between two looks at the Job when no watch event arrives. */
  pollMs: number;
  /** How long a pod may stay stuck on its image or config before the step fails. */
  pendingGraceMs: number;
  /** The apiserver ends each watch after this long (then it is reopened from the last resourceVersion). */
  watchTimeoutSeconds: number;
  /** Called each time a Job watch is opened (for logs and tests). */
  onWatchOpened?: () => void;
  /** Called with the Job's pods, oldest first, on every look (the logs module follows them). */
  onPods?: (pods: V1Pod[]) => void;
  signal: AbortSignal;
}

/**
 * Waits until the Job finishes, the signal aborts, or one of its pods stays
 * stuck. It wakes on watch events and at least every pollMs, and re-reads the
 * Job whenever the watch did not show it finished, so no event is lost to a
 * dropped watch.
 */
export async function waitForJob(request: JobWaitRequest): Promise<JobEnd> {
  const { api, signal } = request;
  const name = request.job.metadata?.name ?? "";
  const watcher = new JobWatch(api.watchJob, name, request.watchTimeoutSeconds, () =>
    request.onWatchOpened?.(),
  );
  const pendingSince = new Map<string, number>();
  let job = request.job;
  try {
    for (;;) {
      if (signal.aborted) {
        await api.deleteJob(name);
        return { state: "cancelled" };
      }
      const pods = await api.podsOf(name);
      request.onPods?.(pods);
      const condition = finishedCondition(job);
      if (condition) return { state: "finished", job, condition, pods };
      // A pod stuck on its image or config never fails by itself: give up after a grace period.
      for (const pod of pods) {
        const problem = pod.status?.phase === "Pending" ? podProblem(pod) : null;
        const podName = pod.metadata?.name ?? "";
        if (!problem) {
          pendingSince.delete(podName);
          continue;
        }
        const since = pendingSince.get(podName) ?? Date.now();
        pendingSince.set(podName, since);
        if (Date.now() - since >= request.pendingGraceMs) {
          await api.deleteJob(name);
          return { state: "stuck", problem };
        }
      }
      // Wake on the next change of the Job, or after pollMs anyway.
      job = (await watcher.next(job, request.pollMs, signal)) ?? job;
      if (!finishedCondition(job)) job = await api.readJob(name);
    }
  } finally {
    watcher.close();
  }
}
