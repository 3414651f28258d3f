import type { V1Job, V1JobCondition, V1Pod } from "@kubernetes/client-node";
import type { ExitCode } from "../../../components/common/errors.js";
import { reasonFromLog, type StepOutcome } from "../executor.js";
import { exitCodeOfPod, podProblem } from "./pod-problem.js";

/** What the outcome needs from the logs module: the pods' log tails, once they are complete. */
export interface LogTails {
  drain(timeoutMs: number): Promise<void>;
  textOf(pod: string): string;
}

/**
 * A finished Job as the step's outcome: exit 0 when it completed; otherwise
 * the exit code of the pod that decided its fate (2 and 3 kept, anything else
 * 1, which a retry may fix) and one sentence, the most specific found: the
 * deadline, the pod's status (OOM, eviction...), the step's own `churn:` line,
 * its exit code, the pod's Warning events, the Job's condition.
 */
export async function finishedJobOutcome(
  job: V1Job,
  condition: V1JobCondition,
  pods: V1Pod[],
  logs: LogTails,
  warnings: (pod: string) => Promise<string | null>,
): Promise<StepOutcome> {
  const name = job.metadata?.name ?? "";
  if (condition.type === "Complete") return { exitCode: 0, error: null };
  const { reason, message } = condition;
  // The pod that decided the Job's fate is the last one that failed.
  const failed = pods.filter((p) => p.status?.phase === "Failed");
  const last = failed[failed.length - 1] ?? pods[pods.length - 1];
  await logs.drain(10_000);
  const code = last ? exitCodeOfPod(last) : null;
  const exitCode: ExitCode = code === 2 || code === 3 ? code : 1;
  const fromLog = last ? reasonFromLog(logs.textOf(last.metadata?.name ?? "")) : null;
  const fromPod = last ? podProblem(last) : null;
  let error: string;
  if (reason === "DeadlineExceeded")
    error = `step Job ${name} ran past its deadline of ${job.spec?.activeDeadlineSeconds} s and was stopped`;
  else if (fromPod) error = fromPod;
  else if (fromLog) error = fromLog;
  else if (code !== null) error = `exited with code ${code}`;
  else
    error =
      (last?.metadata?.name ? await warnings(last.metadata.name) : null) ??
      `Job ${name} failed (${reason ?? "unknown"}: ${message ?? ""})`;
  if (reason === "BackoffLimitExceeded" && (job.status?.failed ?? 0) > 1)
    error = `${error} (after ${job.status?.failed} attempts)`;
  return { exitCode, error };
}
