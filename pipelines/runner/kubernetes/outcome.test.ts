import type { V1Job, V1JobCondition, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { StepOutcome } from "../executor.js";
import { finishedJobOutcome, type LogTails } from "./outcome.js";

function pod(name: string, phase: string, terminated?: { exitCode: number; reason?: string }): V1Pod {
  return {
    metadata: { name },
    spec: { containers: [{ name: "churn", resources: { limits: { memory: "1Gi" } } }] },
    status: {
      phase,
      containerStatuses: terminated
        ? [
            {
              name: "churn",
              image: "img:1",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { terminated },
            },
          ]
        : undefined,
    },
  };
}

function job(failed = 1): V1Job {
  return {
    metadata: { name: "r-1-feature" },
    spec: { activeDeadlineSeconds: 60, template: {} },
    status: { failed },
  };
}

const failedBy = (reason: string, message = "m"): V1JobCondition => ({
  type: "Failed",
  status: "True",
  reason,
  message,
});

function tails(logs: Record<string, string> = {}): LogTails & { drained: number } {
  return {
    drained: 0,
    async drain() {
      this.drained++;
    },
    textOf: (name) => logs[name] ?? "",
  };
}

const noWarnings = async () => null;

describe("finishedJobOutcome", () => {
  it("is success for a Complete Job, without waiting on the logs", async () => {
    const logs = tails();
    const outcome = await finishedJobOutcome(
      job(0),
      { type: "Complete", status: "True" },
      [pod("p", "Succeeded", { exitCode: 0 })],
      logs,
      noWarnings,
    );
    expect(outcome).toEqual({ exitCode: 0, error: null });
    expect(logs.drained).toBe(0);
  });

  it.each<{
    what: string;
    condition: V1JobCondition;
    pods: V1Pod[];
    logs: Record<string, string>;
    expected: StepOutcome;
  }>([
    {
      what: "the deadline, whatever the pods say",
      condition: failedBy("DeadlineExceeded"),
      pods: [pod("p", "Failed", { exitCode: 137 })],
      logs: { p: "churn: something else\n" },
      expected: { exitCode: 1, error: "step Job r-1-feature ran past its deadline of 60 s and was stopped" },
    },
    {
      what: "the pod's status before its log",
      condition: failedBy("BackoffLimitExceeded"),
      pods: [pod("p", "Failed", { exitCode: 137, reason: "OOMKilled" })],
      logs: { p: "churn: never printed\n" },
      expected: { exitCode: 1, error: "ran out of memory and was killed (OOMKilled, limit 1Gi)" },
    },
    {
      what: "the step's own last churn: line, and its exit code 2 kept",
      condition: failedBy("PodFailurePolicy"),
      pods: [pod("p", "Failed", { exitCode: 2 })],
      logs: { p: "reading\nchurn: first\nchurn: 12% of rows rejected (limit 5%)\n" },
      expected: { exitCode: 2, error: "12% of rows rejected (limit 5%)" },
    },
    {
      what: "exit code 3 kept",
      condition: failedBy("PodFailurePolicy"),
      pods: [pod("p", "Failed", { exitCode: 3 })],
      logs: { p: "churn: no model passed the gate\n" },
      expected: { exitCode: 3, error: "no model passed the gate" },
    },
    {
      what: "the exit code when the log says nothing; any other code is 1",
      condition: failedBy("PodFailurePolicy"),
      pods: [pod("p", "Failed", { exitCode: 7 })],
      logs: {},
      expected: { exitCode: 1, error: "exited with code 7" },
    },
    {
      what: "the last failed pod, not the last pod",
      condition: failedBy("PodFailurePolicy"),
      pods: [pod("a", "Failed", { exitCode: 2 }), pod("b", "Running")],
      logs: { a: "churn: from a\n", b: "churn: from b\n" },
      expected: { exitCode: 2, error: "from a" },
    },
    {
      what: "the Job's condition when nothing else is known",
      condition: failedBy("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
      pods: [],
      logs: {},
      expected: {
        exitCode: 1,
        error: "Job r-1-feature failed (BackoffLimitExceeded: Job has reached the specified backoff limit)",
      },
    },
  ])("names $what", async ({ condition, pods, logs, expected }) => {
    expect(await finishedJobOutcome(job(), condition, pods, tails(logs), noWarnings)).toEqual(expected);
  });

  it("counts the attempts of a Job that ran out of retries", async () => {
    const outcome = await finishedJobOutcome(
      job(3),
      failedBy("BackoffLimitExceeded"),
      [pod("p1", "Failed", { exitCode: 1 }), pod("p2", "Failed", { exitCode: 1 })],
      tails({ p2: "churn: connection reset\n" }),
      noWarnings,
    );
    expect(outcome).toEqual({ exitCode: 1, error: "connection reset (after 3 attempts)" });
  });

  it("falls back to the pod's Warning events when its container never ran, after the logs are drained", async () => {
    const logs = tails();
    const asked: string[] = [];
    const outcome = await finishedJobOutcome(
      job(),
      failedBy("BackoffLimitExceeded"),
      [pod("p", "Failed")],
      logs,
      async (name) => {
        asked.push(name);
        return "FailedMount: secret churn-gcp-key not found";
      },
    );
    expect(outcome).toEqual({ exitCode: 1, error: "FailedMount: secret churn-gcp-key not found" });
    expect(asked).toEqual(["p"]);
    expect(logs.drained).toBe(1);
  });
});
