import { describe, expect, it } from "vitest";
import { schedule } from "./scheduler.js";

// A fake DAG: a -> b, a -> c, {b, c} -> d. Steps finish when their promise resolves.
type Step = { name: string; deps: string[] };
const dag: Step[] = [
  { name: "a", deps: [] },
  { name: "b", deps: ["a"] },
  { name: "c", deps: ["a"] },
  { name: "d", deps: ["b", "c"] },
];

function harness(options: { concurrency: number; failOn?: string }) {
  const states = new Map(dag.map((s) => [s.name, "pending"]));
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  let failed = false;
  const run = async (step: Step) => {
    states.set(step.name, "running");
    running++;
    peak = Math.max(peak, running);
    log.push(`start ${step.name}`);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    log.push(`end ${step.name}`);
    if (step.name === options.failOn) {
      states.set(step.name, "failed");
      failed = true;
    } else states.set(step.name, "done");
  };
  const go = () =>
    schedule({
      order: dag,
      dependenciesOf: (s) => s.deps,
      isPending: (n) => states.get(n) === "pending",
      isDone: (n) => states.get(n) === "done",
      shouldStop: () => failed,
      concurrency: options.concurrency,
      run,
    });
  return { go, log, states, peak: () => peak };
}

describe("scheduler", () => {
  it("starts a step only after its dependencies, and runs independent steps together", async () => {
    const h = harness({ concurrency: 2 });
    await h.go();
    expect(h.log.indexOf("start b")).toBeGreaterThan(h.log.indexOf("end a"));
    expect(h.log.indexOf("start d")).toBeGreaterThan(
      Math.max(h.log.indexOf("end b"), h.log.indexOf("end c")),
    );
    expect(h.peak()).toBe(2);
    expect([...h.states.values()]).toEqual(["done", "done", "done", "done"]);
  });

  it("never runs more than `concurrency` steps at once", async () => {
    const h = harness({ concurrency: 1 });
    await h.go();
    expect(h.peak()).toBe(1);
    expect(h.log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c", "start d", "end d"]);
  });

  it("stops starting steps once told to, and lets running ones finish", async () => {
    const h = harness({ concurrency: 2, failOn: "b" });
    await h.go();
    expect(h.states.get("b")).toBe("failed");
    expect(h.states.get("c")).toBe("done");
    expect(h.states.get("d")).toBe("pending");
  });

  it("a step that rejects rejects the schedule, after the other running steps settled", async () => {
    const settled: string[] = [];
    const promise = schedule({
      order: [
        { name: "x", deps: [] },
        { name: "y", deps: [] },
      ],
      dependenciesOf: (s: Step) => s.deps,
      isPending: (n) => !settled.includes(n),
      isDone: () => false,
      shouldStop: () => false,
      concurrency: 2,
      run: async (step) => {
        if (step.name === "x") throw new Error("record write failed");
        await new Promise((r) => setTimeout(r, 20));
        settled.push(step.name);
      },
    });
    await expect(promise).rejects.toThrow("record write failed");
    expect(settled).toEqual(["y"]);
  });
});
