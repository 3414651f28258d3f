import { PassThrough, type Writable } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import { messageOf } from "../../../components/common/errors.js";
import type { LogSource } from "./client.js";
import { sleep } from "./sleep.js";

/** How much of each pod's log is kept for the failure reason (the last `churn: ...` line is near the end). */
const TAIL_BYTES = 8192;

/** Follows each pod's container log once, copying it into the step log with a header per pod. */
export class PodLogs {
  private readonly followed = new Map<string, { text: string; done: Promise<void> }>();
  private readonly controllers: AbortController[] = [];

  constructor(
    private readonly source: LogSource,
    private readonly log: Writable,
  ) {}

  /** Starts following each pod's log once its container has started (no-op for pods already followed). */
  followAll(pods: V1Pod[]): void {
    for (const pod of pods) this.follow(pod);
  }

  /** Starts following a pod's log when its container has started (no-op when already followed). */
  follow(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name || this.followed.has(name)) return;
    const started = pod.status?.containerStatuses?.some((s) => s.state?.running || s.state?.terminated);
    if (!started) return;
    const entry = { text: "", done: Promise.resolve() };
    this.followed.set(name, entry);
    const stream = new PassThrough();
    let header = false;
    stream.on("data", (chunk: Buffer) => {
      if (!header) {
        this.log.write(`--- pod ${name}\n`);
        header = true;
      }
      entry.text = (entry.text + chunk.toString("utf8")).slice(-TAIL_BYTES);
      if (this.log.writable) this.log.write(chunk);
    });
    entry.done = new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", () => resolve());
      this.source(name, stream)
        .then((controller) => this.controllers.push(controller))
        .catch((error) => {
          if (this.log.writable) this.log.write(`(no log for pod ${name}: ${messageOf(error)})\n`);
          resolve();
        });
    });
  }

  /** The last 8 KiB of a pod's log. */
  textOf(pod: string): string {
    return this.followed.get(pod)?.text ?? "";
  }

  /** Waits (at most timeoutMs) for every followed log to end, then stops the rest. */
  async drain(timeoutMs: number): Promise<void> {
    const timer = new AbortController();
    await Promise.race([
      Promise.all([...this.followed.values()].map((e) => e.done)),
      sleep(timeoutMs, timer.signal),
    ]);
    // The logs ended first: no timer left to keep the process alive.
    timer.abort();
    for (const controller of this.controllers) controller.abort();
  }
}
