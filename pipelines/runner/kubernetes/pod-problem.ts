import type { V1Pod } from "@kubernetes/client-node";
import { CONTAINER } from "./names.js";

/** Plain-words reasons for a failed or stuck pod, from its status (OOMKilled, pull errors, evictions...). */
export function podProblem(pod: V1Pod): string | null {
  const name = pod.metadata?.name ?? "pod";
  if (pod.status?.reason === "Evicted")
    return `pod ${name} was evicted from its node${pod.status.message ? `: ${pod.status.message}` : ""}`;
  if (pod.status?.reason === "DeadlineExceeded") return `pod ${name} ran past its deadline and was stopped`;
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason)) {
      return `image ${status.image} could not be pulled (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""})`;
    }
    if (waiting?.reason && /CreateContainerConfigError|CreateContainerError/.test(waiting.reason)) {
      return `the container could not be created (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""})`;
    }
    const terminated = status.state?.terminated ?? status.lastState?.terminated;
    if (terminated?.reason === "OOMKilled") {
      const limit = pod.spec?.containers.find((c) => c.name === status.name)?.resources?.limits?.memory;
      return `ran out of memory and was killed (OOMKilled${limit ? `, limit ${limit}` : ""})`;
    }
    if (terminated?.reason === "DeadlineExceeded") return `pod ${name} ran past its deadline and was stopped`;
  }
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === "DisruptionTarget" && c.status === "True",
  );
  if (disruption) return `pod ${name} was disrupted (${disruption.reason ?? "DisruptionTarget"})`;
  return null;
}

/** The exit code of the pod's step container once it terminated, else null. */
export function exitCodeOfPod(pod: V1Pod): number | null {
  const status = pod.status?.containerStatuses?.find((s) => s.name === CONTAINER);
  return status?.state?.terminated?.exitCode ?? null;
}
