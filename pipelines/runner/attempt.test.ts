import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExitCode } from "../../components/common/errors.js";
import { stepLogObject } from "../../components/common/layout/index.js";
import { silentLogger } from "../../components/common/log.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { runAttempts } from "./attempt.js";
import type { StepExecutor } from "./executor.js";

/** A fake executor that answers the given exit codes in turn and logs one line per attempt. */
function scripted(codes: ExitCode[]): StepExecutor & { calls: number[] } {
  const calls: number[] = [];
  return {
    name: "fake",
    calls,
    async execute(invocation, log) {
      calls.push(invocation.attempt);
      const exitCode = codes[invocation.attempt] ?? 0;
      log.write(`attempt ${invocation.attempt} says ${exitCode}\n`);
      return { exitCode, error: exitCode === 0 ? null : `failed with ${exitCode}` };
    },
  };
}

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "attempt-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const attempts = (executor: StepExecutor, retries: number, signal = new AbortController().signal) => {
  const numbers: number[] = [];
  const result = runAttempts({
    storage,
    executor,
    invocation: { runId: "r1", step: "train", component: "train", timeoutSeconds: 5 },
    retries,
    signal,
    logger: silentLogger,
    onAttempt: (n) => numbers.push(n),
    backoffMs: () => 1,
  });
  return { result, numbers };
};

describe("step attempts", () => {
  it("retries exit 1 until it succeeds, and the log holds every attempt under its header", async () => {
    const executor = scripted([1, 1, 0]);
    const { result, numbers } = attempts(executor, 2);
    const { outcome, log } = await result;
    expect(outcome).toEqual({ exitCode: 0, error: null });
    expect(numbers).toEqual([1, 2, 3]);
    expect(log).toBe(stepLogObject("r1", "train"));
    const text = await storage.readText(log);
    expect(text.match(/^--- attempt \d of step train \(fake\)/gm)).toHaveLength(3);
    expect(text).toContain("attempt 2 says 0");
  });

  it("never retries bad input (2) or a gate refusal (3)", async () => {
    for (const code of [2, 3] as const) {
      const executor = scripted([code, 0]);
      const { outcome } = await attempts(executor, 2).result;
      expect(outcome.exitCode).toBe(code);
      expect(executor.calls).toEqual([0]);
    }
  });

  it("gives up after the retries with the last failure", async () => {
    const executor = scripted([1, 1, 1, 1]);
    const { outcome } = await attempts(executor, 1).result;
    expect(outcome).toEqual({ exitCode: 1, error: "failed with 1" });
    expect(executor.calls).toEqual([0, 1]);
  });

  it("does not retry once the run was aborted", async () => {
    const abort = new AbortController();
    abort.abort();
    const executor = scripted([1, 0]);
    const { outcome } = await attempts(executor, 3, abort.signal).result;
    expect(outcome.exitCode).toBe(1);
    expect(executor.calls).toEqual([0]);
  });

  it("writes a running step's log while it runs, and forwards its progress lines", async () => {
    let seenWhileRunning = "";
    const progress: string[] = [];
    const executor: StepExecutor = {
      name: "slow",
      async execute(_invocation, log) {
        log.write(
          `${JSON.stringify({ time: "t", level: "info", message: "gbdt: fold 1/5", event: "progress" })}\n`,
        );
        for (let i = 0; i < 50 && !seenWhileRunning.includes("fold 1/5"); i++) {
          await new Promise((r) => setTimeout(r, 20));
          const name = stepLogObject("r1", "train");
          if (await storage.stat(name)) seenWhileRunning = await storage.readText(name);
        }
        return { exitCode: 0, error: null };
      },
    };
    await runAttempts({
      storage,
      executor,
      invocation: { runId: "r1", step: "train", component: "train", timeoutSeconds: 5 },
      retries: 0,
      signal: new AbortController().signal,
      logger: silentLogger,
      onAttempt: () => {},
      onProgress: (m) => progress.push(m),
      flushMs: 10,
    });
    expect(seenWhileRunning).toContain("fold 1/5");
    expect(progress).toEqual(["gbdt: fold 1/5"]);
  });
});
