import { describe, expect, it } from "vitest";
import { weeklyPipeline } from "../../definitions/weekly.js";
import { driverJob } from "../kubernetes-driver.js";
import { stepJob } from "./manifest.js";
import { CONTAINER, LABELS } from "./names.js";
import { podTemplate } from "./pod-template.js";

const identity = { runId: "r-0123456789abcdef", pipeline: "weekly", step: "train", role: "step" as const };

describe("podTemplate", () => {
  const pod = podTemplate({ identity, image: "img:1", serviceAccount: "sa", args: ["version"] });

  it("runs one container named CONTAINER, never restarted in place, with the entrypoint's arguments", () => {
    expect(pod.spec?.restartPolicy).toBe("Never");
    expect(pod.spec?.containers.map((c) => c.name)).toEqual([CONTAINER]);
    expect(pod.spec?.containers[0]?.command).toBeUndefined();
    expect(pod.spec?.containers[0]?.args).toEqual(["version"]);
    expect(pod.spec?.serviceAccountName).toBe("sa");
  });

  it("is non-root and read-only with scratch space on an emptyDir at /tmp", () => {
    expect(pod.spec?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.spec?.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.spec?.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
    expect(pod.spec?.containers[0]?.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  it("labels the pod with its run, pipeline, step and role", () => {
    expect(pod.metadata?.labels).toEqual({
      [LABELS.runId]: "r-0123456789abcdef",
      [LABELS.pipeline]: "weekly",
      [LABELS.step]: "train",
      "app.kubernetes.io/name": "churn",
      "app.kubernetes.io/component": "step",
    });
  });

  it("leaves the pull policy, service account, env and resources to the cluster's defaults when not given", () => {
    const bare = podTemplate({ identity, image: "img:1", args: [] });
    const container = bare.spec?.containers[0];
    expect(bare.spec?.serviceAccountName).toBeUndefined();
    expect(container?.imagePullPolicy).toBeUndefined();
    expect(container?.env).toBeUndefined();
    expect(container?.envFrom).toBeUndefined();
    expect(container?.resources).toBeUndefined();
    const pulled = podTemplate({ identity, image: "img:1", args: [], imagePullPolicy: "Always" });
    expect(pulled.spec?.containers[0]?.imagePullPolicy).toBe("Always");
  });

  it("returns fresh objects: changing one pod never changes the next", () => {
    const first = podTemplate({ identity, image: "img:1", args: [] });
    first.spec!.securityContext!.runAsUser = 0;
    first.spec!.containers[0]!.securityContext!.capabilities!.drop!.pop();
    first.spec!.volumes!.push({ name: "extra", emptyDir: {} });
    const next = podTemplate({ identity, image: "img:1", args: [] });
    expect(next.spec?.securityContext).toEqual(pod.spec?.securityContext);
    expect(next.spec?.securityContext?.runAsUser).toBe(65534);
    expect(next.spec?.containers[0]?.securityContext).toEqual(pod.spec?.containers[0]?.securityContext);
    expect(next.spec?.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
  });

  it("is the pod of every step Job and of the driver Job, security and scratch space alike", () => {
    const owner = { apiVersion: "v1", kind: "ConfigMap", name: "r", uid: "u" };
    const step = weeklyPipeline.steps[0]!;
    const pods = [
      stepJob(
        { runId: "r", step: step.name, component: step.component, timeoutSeconds: 60, attempt: 0 },
        {
          namespace: "churn",
          image: "img:1",
          bucketUri: "gs://b",
          pipeline: "weekly",
          steps: weeklyPipeline.steps,
          credentialsSecret: "k",
        },
        owner,
      ).spec?.template.spec,
      driverJob({
        runId: "r",
        bucket: "gs://b",
        weekly: "weekly/w.csv",
        config: { kubernetes: { namespace: "churn", image: "img:1", service_account: "churn-runner" } },
      }).spec?.template.spec,
    ];
    for (const spec of pods) {
      expect(spec?.securityContext).toEqual(pod.spec?.securityContext);
      expect(spec?.containers[0]?.securityContext).toEqual(pod.spec?.containers[0]?.securityContext);
      expect(spec?.volumes?.[0]).toEqual({ name: "tmp", emptyDir: {} });
      expect(spec?.containers[0]?.volumeMounts?.[0]).toEqual({ name: "tmp", mountPath: "/tmp" });
      expect(spec?.restartPolicy).toBe("Never");
    }
  });
});
