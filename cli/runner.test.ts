import { describe, expect, it } from "vitest";
import { UsageError } from "../components/common/errors.js";
import { type RunnerFlags, runnerChoice } from "./runner.js";

describe("runnerChoice (--runner, --namespace, --in-cluster of churn pipeline run, score and train)", () => {
  it.each<[RunnerFlags, ReturnType<typeof runnerChoice>]>([
    [{}, { runner: "local" }],
    [{ runner: "local" }, { runner: "local" }],
    [{ runner: "kubernetes" }, { runner: "kubernetes", namespace: undefined, inCluster: false }],
    [
      { runner: "kubernetes", namespace: "churn", inCluster: true },
      { runner: "kubernetes", namespace: "churn", inCluster: true },
    ],
  ])("%j is %j", (flags, choice) => {
    expect(runnerChoice(flags)).toEqual(choice);
  });

  it.each<[RunnerFlags, string]>([
    [{ runner: "in-process" }, "--runner must be local or kubernetes, not in-process"],
    [{ runner: "docker" }, "--runner must be local or kubernetes, not docker"],
    [
      { runner: "local", namespace: "churn" },
      "--in-cluster and --namespace apply to --runner kubernetes only",
    ],
    [{ inCluster: true }, "--in-cluster and --namespace apply to --runner kubernetes only"],
  ])("%j is a usage error: %s", (flags, message) => {
    expect(() => runnerChoice(flags)).toThrow(UsageError);
    expect(() => runnerChoice(flags)).toThrow(message);
  });
});
