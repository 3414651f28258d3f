import type { V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { weeklyPipeline } from "../../definitions/weekly.js";
import type { StepInvocation } from "../executor.js";
import { driverJob } from "../kubernetes-driver.js";
import { failurePolicy, runOwnerConfigMap, type StepJobSettings, stepJob } from "./manifest.js";
import { LABELS } from "./names.js";

// The rendered manifests, checked as files (review a change to what the
// cluster receives as a diff of __snapshots__/*.yaml). The fixtures are the
// real weekly pipeline's steps and the settings `churn pipeline run --runner
// kubernetes` passes.

const runId = "r-0123456789abcdef";
const owner = { apiVersion: "v1", kind: "ConfigMap", name: runId, uid: "u-1", blockOwnerDeletion: false };

const settings: StepJobSettings = {
  namespace: "churn",
  image: "ghcr.io/churn-pipeline/churn:1.0",
  bucketUri: "gs://acme-churn",
  pipeline: "weekly",
  steps: weeklyPipeline.steps,
  serviceAccount: "churn-runner",
  // Only the listed plain variables pass through: SECRET_TOKEN must not appear.
  env: { STORAGE_EMULATOR_HOST: "http://gcs:4443", CHURN_LOG_LEVEL: "info", SECRET_TOKEN: "nope" },
};

function invocation(step: string, timeoutSeconds = 900): StepInvocation {
  const definition = weeklyPipeline.steps.find((s) => s.name === step);
  if (!definition) throw new Error(`the weekly pipeline has no step ${step}`);
  return { runId, step, component: definition.component, timeoutSeconds, attempt: 0 };
}

const yaml = (job: V1Job) => stringify(job, { lineWidth: 0 });

describe("stepJob (snapshots)", () => {
  it("an ordinary step: labelled, owned, the step's resources, retries, failure policy and pod template", async () => {
    await expect(yaml(stepJob(invocation("train"), settings, owner))).toMatchFileSnapshot(
      "./__snapshots__/step-job.train.yaml",
    );
  });

  it("a sharded step: an Indexed Job whose pods each run their shard", async () => {
    await expect(yaml(stepJob(invocation("score"), settings, owner, 4))).toMatchFileSnapshot(
      "./__snapshots__/step-job.score-sharded.yaml",
    );
  });

  it("a step with a credentials Secret and environment from a ConfigMap and a Secret", async () => {
    const job = stepJob(
      invocation("ingest-weekly"),
      {
        ...settings,
        serviceAccount: null,
        credentialsSecret: "churn-gcp-key",
        envConfigMap: "churn-env",
        envSecret: "churn-secrets",
        ttlSecondsAfterFinished: 600,
      },
      owner,
    );
    await expect(yaml(job)).toMatchFileSnapshot("./__snapshots__/step-job.credentials-env.yaml");
  });

  it("the driver Job", async () => {
    const job = driverJob({
      runId,
      bucket: "gs://acme-churn",
      weekly: "weekly/2024-W18.csv",
      config: {
        kubernetes: {
          namespace: "churn",
          image: "ghcr.io/churn-pipeline/churn:1.0",
          service_account: "churn-runner",
        },
      },
      env: { GOOGLE_CLOUD_PROJECT: "acme" },
    });
    await expect(yaml(job)).toMatchFileSnapshot("./__snapshots__/driver-job.yaml");
  });

  it("the run's owner ConfigMap", async () => {
    await expect(stringify(runOwnerConfigMap(runId, "weekly"))).toMatchFileSnapshot(
      "./__snapshots__/run-owner.yaml",
    );
  });
});

describe("stepJob", () => {
  it("uses each step's own resources and retries, and the defaults for a step without them", () => {
    for (const step of weeklyPipeline.steps) {
      const job = stepJob(invocation(step.name), settings, owner);
      const container = job.spec?.template.spec?.containers[0];
      expect(job.spec?.backoffLimit, step.name).toBe(step.retries ?? 2);
      expect(container?.resources?.limits?.memory, step.name).toBe(step.resources?.memory);
      expect(container?.resources?.limits?.cpu, `${step.name}: no CPU limit`).toBeUndefined();
      expect(job.spec?.template.metadata?.labels?.[LABELS.step]).toBe(step.name);
    }
  });

  it("mounts the credentials read-only and names them by GOOGLE_APPLICATION_CREDENTIALS, only when given", () => {
    const plain = stepJob(invocation("feature"), settings, owner).spec?.template.spec;
    expect(plain?.volumes?.map((v) => v.name)).toEqual(["tmp"]);
    expect(plain?.containers[0]?.envFrom).toBeUndefined();
    const withKey = stepJob(invocation("feature"), { ...settings, credentialsSecret: "k" }, owner).spec
      ?.template.spec;
    expect(withKey?.volumes).toContainEqual({ name: "gcp-credentials", secret: { secretName: "k" } });
    expect(withKey?.containers[0]?.volumeMounts).toContainEqual({
      name: "gcp-credentials",
      mountPath: "/var/run/secrets/churn/gcp",
      readOnly: true,
    });
    expect(withKey?.containers[0]?.env).toContainEqual({
      name: "GOOGLE_APPLICATION_CREDENTIALS",
      value: "/var/run/secrets/churn/gcp/key.json",
    });
  });

  it("gives steps and the driver the same failure policy", () => {
    const driver = driverJob({
      runId,
      bucket: "gs://b",
      weekly: "weekly/w.csv",
      config: { kubernetes: { namespace: "churn", image: "img:1", service_account: "churn-runner" } },
    });
    expect(stepJob(invocation("train"), settings, owner).spec?.podFailurePolicy).toEqual(failurePolicy());
    expect(driver.spec?.podFailurePolicy).toEqual(failurePolicy());
  });
});
