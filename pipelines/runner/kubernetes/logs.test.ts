import { PassThrough, type Writable } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { PodLogs } from "./logs.js";

function pod(name: string | undefined, state: "running" | "terminated" | "waiting"): V1Pod {
  const states = {
    running: { running: {} },
    terminated: { terminated: { exitCode: 0 } },
    waiting: { waiting: { reason: "ContainerCreating" } },
  };
  return {
    metadata: { name },
    status: {
      containerStatuses: [
        { name: "churn", image: "img:1", imageID: "", ready: true, restartCount: 0, state: states[state] },
      ],
    },
  };
}

/** A log source whose streams the test writes and ends by pod name. */
function fakeSource() {
  const streams = new Map<string, Writable>();
  const controllers: AbortController[] = [];
  const calls: string[] = [];
  const source = async (name: string, out: Writable) => {
    calls.push(name);
    if (name === "broken") throw new Error('pods "broken" is forbidden');
    streams.set(name, out);
    const controller = new AbortController();
    controllers.push(controller);
    return controller;
  };
  return { source, streams, controllers, calls };
}

function stepLog() {
  const log = new PassThrough();
  let text = "";
  log.on("data", (c: Buffer) => (text += c.toString("utf8")));
  return { log, text: () => text };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("PodLogs", () => {
  it("copies each started pod's log once into the step log, under a header per pod", async () => {
    const fake = fakeSource();
    const { log, text } = stepLog();
    const logs = new PodLogs(fake.source, log);
    logs.followAll([pod("a", "running"), pod("b", "terminated")]);
    logs.followAll([pod("a", "running"), pod("b", "terminated")]);
    await tick();
    expect(fake.calls).toEqual(["a", "b"]);
    fake.streams.get("a")?.write("hello from a\n");
    fake.streams.get("b")?.write("hello from b\n");
    fake.streams.get("a")?.end();
    fake.streams.get("b")?.end();
    await logs.drain(1_000);
    expect(text()).toBe("--- pod a\nhello from a\n--- pod b\nhello from b\n");
    expect(logs.textOf("a")).toBe("hello from a\n");
  });

  it("waits for a pod whose container has not started, and skips pods without a name", async () => {
    const fake = fakeSource();
    const logs = new PodLogs(fake.source, stepLog().log);
    logs.followAll([pod("a", "waiting"), pod(undefined, "running")]);
    await tick();
    expect(fake.calls).toEqual([]);
    logs.follow(pod("a", "running"));
    await tick();
    expect(fake.calls).toEqual(["a"]);
  });

  it("keeps the last 8 KiB of each pod's log for the failure reason", async () => {
    const fake = fakeSource();
    const logs = new PodLogs(fake.source, stepLog().log);
    logs.follow(pod("a", "running"));
    await tick();
    fake.streams.get("a")?.write("x".repeat(10_000));
    fake.streams.get("a")?.write("\nchurn: the reason\n");
    fake.streams.get("a")?.end();
    await logs.drain(1_000);
    expect(logs.textOf("a")).toHaveLength(8192);
    expect(logs.textOf("a").endsWith("churn: the reason\n")).toBe(true);
    expect(logs.textOf("unknown")).toBe("");
  });

  it("says when a pod's log cannot be read, and does not wait for it", async () => {
    const fake = fakeSource();
    const { log, text } = stepLog();
    const logs = new PodLogs(fake.source, log);
    logs.follow(pod("broken", "running"));
    const started = Date.now();
    await logs.drain(5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(text()).toBe('(no log for pod broken: pods "broken" is forbidden)\n');
  });

  it("stops following the logs that have not ended when the drain times out", async () => {
    const fake = fakeSource();
    const logs = new PodLogs(fake.source, stepLog().log);
    logs.follow(pod("a", "running"));
    await tick();
    const started = Date.now();
    await logs.drain(50);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.controllers[0]?.signal.aborted).toBe(true);
  });
});
