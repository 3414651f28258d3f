import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { JobEventHandler, JobEventSource } from "./client.js";
import { type JobWaitRequest, waitForJob } from "./watch.js";

function job(resourceVersion: string, done?: "Complete" | "Failed"): V1Job {
  return {
    metadata: { name: "r-1-train", resourceVersion },
    status: done ? { conditions: [{ type: done, status: "True" }] } : {},
  };
}

function pod(name: string, phase: string, waitingReason?: string): V1Pod {
  return {
    metadata: { name },
    status: {
      phase,
      containerStatuses: [
        {
          name: "churn",
          image: "img:1",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: waitingReason
            ? { waiting: { reason: waitingReason, message: "not found" } }
            : { running: {} },
        },
      ],
    },
  };
}

/**
 * An apiserver in memory: `job` is what readJob returns, `pods` what podsOf
 * returns (one list per look, the last repeated), and `onOpen` decides what
 * each opened watch does (by its 0-based number).
 */
function fakeApi(options: {
  job: V1Job;
  pods?: V1Pod[][];
  onOpen?: (n: number, emit: JobEventHandler, done: () => void, state: { job: V1Job }) => void;
}) {
  const state = { job: options.job };
  const deleted: string[] = [];
  const opened: Array<string | undefined> = [];
  let looks = 0;
  const watchJob: JobEventSource = async (query, onEvent, onDone) => {
    const n = opened.length;
    opened.push(query.resourceVersion);
    // The real client delivers events after the watch is open.
    setImmediate(() => options.onOpen?.(n, onEvent, onDone, state));
    return new AbortController();
  };
  const api: JobWaitRequest["api"] = {
    readJob: async () => state.job,
    deleteJob: async (name) => {
      deleted.push(name);
    },
    podsOf: async () => {
      const lists = options.pods ?? [[]];
      return lists[Math.min(looks++, lists.length - 1)] ?? [];
    },
    watchJob,
  };
  return { api, state, deleted, opened };
}

function request(
  api: JobWaitRequest["api"],
  initial: V1Job,
  extra: Partial<JobWaitRequest> = {},
): JobWaitRequest {
  return {
    api,
    job: initial,
    pollMs: 60_000,
    pendingGraceMs: 60_000,
    watchTimeoutSeconds: 300,
    signal: new AbortController().signal,
    ...extra,
  };
}

describe("waitForJob", () => {
  it("wakes on the watch event that shows the Job finished (not on the poll)", async () => {
    const fake = fakeApi({
      job: job("5"),
      pods: [[pod("p", "Running")]],
      onOpen: (_n, emit) => emit("MODIFIED", job("6", "Complete")),
    });
    const seen: string[][] = [];
    const started = Date.now();
    const end = await waitForJob(
      request(fake.api, job("5"), { onPods: (pods) => seen.push(pods.map((p) => p.metadata?.name ?? "")) }),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(end).toMatchObject({
      state: "finished",
      condition: { type: "Complete" },
      job: job("6", "Complete"),
    });
    expect(fake.opened).toEqual(["5"]);
    // The pods are handed over on every look, the last one included.
    expect(seen).toEqual([["p"], ["p"]]);
  });

  it("re-reads the Job after pollMs when no event comes", async () => {
    const fake = fakeApi({ job: job("5", "Failed") });
    const end = await waitForJob(request(fake.api, job("4"), { pollMs: 20 }));
    expect(end).toMatchObject({ state: "finished", condition: { type: "Failed" } });
  });

  it("reopens a dropped watch from the last resourceVersion, and from a fresh read after 410 Gone", async () => {
    const fake = fakeApi({
      job: job("5"),
      onOpen: (n, emit, done, state) => {
        if (n === 0) {
          state.job = job("7");
          emit("MODIFIED", state.job);
          emit("BOOKMARK", { metadata: { resourceVersion: "7" } });
          done();
        } else if (n === 1) {
          // The version is too old: the watch reports ERROR; the re-read gives a newer one.
          state.job = job("12");
          emit("ERROR", undefined);
          done();
        } else emit("MODIFIED", job("13", "Complete"));
      },
    });
    let opens = 0;
    const end = await waitForJob(request(fake.api, job("5"), { pollMs: 50, onWatchOpened: () => opens++ }));
    expect(end).toMatchObject({ state: "finished", job: job("13", "Complete") });
    expect(fake.opened).toEqual(["5", "7", "12"]);
    expect(opens).toBe(3);
  });

  describe("pending grace (on a clock that moves 50 ms per look)", () => {
    let clock = 0;
    beforeEach(() => {
      clock = 0;
      vi.spyOn(Date, "now").mockImplementation(() => clock);
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });
    const tick = () => {
      clock += 50;
    };

    it("gives up on a pod stuck on its image once the grace period passed, and deletes the Job", async () => {
      const fake = fakeApi({ job: job("5"), pods: [[pod("p", "Pending", "ErrImagePull")]] });
      let looks = 0;
      const end = await waitForJob(
        request(fake.api, job("5"), {
          pollMs: 5,
          pendingGraceMs: 100,
          onPods: () => {
            looks++;
            tick();
          },
        }),
      );
      expect(end).toEqual({
        state: "stuck",
        problem: "image img:1 could not be pulled (ErrImagePull: not found)",
      });
      // Seen stuck at 50, still within the grace at 100, given up at 150.
      expect(looks).toBe(3);
      expect(fake.deleted).toEqual(["r-1-train"]);
    });

    it("restarts the grace period when a stuck pod recovers", async () => {
      const stuck = [pod("p", "Pending", "ImagePullBackOff")];
      // Stuck for 100 ms in all, but never for the whole grace period in one go.
      const fake = fakeApi({ job: job("5"), pods: [stuck, stuck, [pod("p", "Running")], stuck, stuck] });
      let looks = 0;
      const end = await waitForJob(
        request(fake.api, job("5"), {
          pollMs: 5,
          pendingGraceMs: 100,
          onPods: () => {
            tick();
            if (++looks === 5) fake.state.job = job("6", "Complete");
          },
        }),
      );
      expect(end).toMatchObject({ state: "finished" });
      expect(fake.deleted).toEqual([]);
    });
  });

  it("deletes the Job and reports cancelled when the signal aborts", async () => {
    const fake = fakeApi({ job: job("5") });
    const abort = new AbortController();
    const end = waitForJob(request(fake.api, job("5"), { signal: abort.signal }));
    setTimeout(() => abort.abort(), 20);
    expect(await end).toEqual({ state: "cancelled" });
    expect(fake.deleted).toEqual(["r-1-train"]);
  });
});
