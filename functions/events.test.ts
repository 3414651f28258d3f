import { describe, expect, it } from "vitest";
import { bucketUriFor, gkeClusterOf, parseFunctionsEnv } from "./config.js";
import { parseStorageEvent } from "./events.js";
import { classifyModelObject } from "./on-model-published.js";
import { ignoreReason } from "./on-weekly-upload.js";

const type = "google.cloud.storage.object.v1.finalized";

describe("parseStorageEvent", () => {
  it.each([
    [{ type, data: { bucket: "b", name: "weekly/a.csv", generation: "12" } }, true, ""],
    [{ type, data: { bucket: "b", name: "weekly/a.csv", generation: 12 } }, true, ""],
    [{ type, data: JSON.stringify({ bucket: "b", name: "n", generation: "1" }) }, true, ""],
    [{ type, data: Buffer.from(JSON.stringify({ bucket: "b", name: "n", generation: "1" })) }, true, ""],
    [{ type, data: { bucket: "b", generation: "1" } }, false, "name"],
    [{ type, data: { bucket: "b", name: "n", generation: "-1" } }, false, "generation"],
    [{ type, data: { bucket: "b", name: "n", generation: "1", metadata: { a: 1 } } }, false, "metadata"],
    [{ type, data: "{not json" }, false, "not JSON"],
    [{ type: "google.cloud.storage.object.v1.deleted", data: {} }, false, "unexpected event type"],
    [{ type }, false, "data"],
  ])("%j → ok=%s", (event, ok, reason) => {
    const parsed = parseStorageEvent(event);
    expect(parsed.ok).toBe(ok);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
    else expect(typeof parsed.data.generation).toBe("string");
  });

  it("null metadata reads as no metadata", () => {
    const parsed = parseStorageEvent({
      type,
      data: { bucket: "b", name: "n", generation: "1", metadata: null },
    });
    expect(parsed.ok && parsed.data.metadata).toEqual({});
  });
});

describe("ignoreReason", () => {
  it.each([
    ["weekly/2024-W18.csv", {}, null],
    ["weekly/2024-W18.CSV.gz", {}, null],
    ["input/history.csv", {}, "outside weekly/"],
    ["weekly/readme.txt", {}, "not a .csv"],
    ["weekly/a/b.csv", {}, "subfolder"],
    ["weekly/x.csv", { "churn-writer": "publish" }, "churn-writer: publish"],
    ["weekly/lifetime.csv", {}, "reserved"],
    ["weekly/bad name.csv", {}, "letters, digits"],
  ])("%s %j", (name, metadata, reason) => {
    const got = ignoreReason(name, metadata as Record<string, string>);
    if (reason === null) expect(got).toBeNull();
    else expect(got).toContain(reason);
  });
});

describe("classifyModelObject", () => {
  it.each([
    ["models/champion", { kind: "champion" }],
    ["models/0123456789abcdef/bundle.json", { kind: "bundle", version: "0123456789abcdef" }],
    ["models/0123456789abcdef/evaluation.json", { kind: "other" }],
    ["models/0123456789ABCDEF/bundle.json", { kind: "other" }],
    ["models/champion.bak", { kind: "other" }],
  ])("%s", (name, want) => expect(classifyModelObject(name)).toEqual(want));
});

describe("functions configuration", () => {
  it.each([
    ["b", undefined, "gs://b"],
    ["b", "gs://b/prefix/", "gs://b/prefix"],
    ["other", "gs://b", null],
    ["anything", "file:///tmp/bucket", "file:///tmp/bucket"],
  ])("bucket %s with %s → %s", (bucket, configured, want) =>
    expect(bucketUriFor(bucket, configured)).toBe(want),
  );

  it("names every bad variable", () => {
    expect(() => parseFunctionsEnv({ CHURN_LAUNCHER: "ssh", CHURN_MODEL_SERVER_DEPLOYMENT: "nope" })).toThrow(
      /CHURN_LAUNCHER.*CHURN_MODEL_SERVER_DEPLOYMENT/,
    );
    expect(parseFunctionsEnv({}).CHURN_LAUNCHER).toBe("local");
  });

  const ca = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");
  it.each([
    [{ CHURN_GKE_ENDPOINT: "172.16.0.34", CHURN_GKE_CA_CERT: ca }, "https://172.16.0.34"],
    [{ CHURN_GKE_ENDPOINT: "https://172.16.0.34/", CHURN_GKE_CA_CERT: ca }, "https://172.16.0.34"],
    [{ CHURN_GKE_ENDPOINT: "https://127.0.0.1:6443", CHURN_GKE_CA_CERT: ca }, "https://127.0.0.1:6443"],
    [{}, null],
  ])("GKE cluster from %j → %s", (env, server) => {
    expect(gkeClusterOf(parseFunctionsEnv(env))?.server ?? null).toBe(server);
  });

  it.each([
    [{ CHURN_GKE_ENDPOINT: "172.16.0.34" }, /CHURN_GKE_CA_CERT: required when CHURN_GKE_ENDPOINT is set/],
    [{ CHURN_GKE_CA_CERT: ca }, /CHURN_GKE_ENDPOINT: required when CHURN_GKE_CA_CERT is set/],
    [
      { CHURN_GKE_ENDPOINT: "http://172.16.0.34", CHURN_GKE_CA_CERT: ca },
      /CHURN_GKE_ENDPOINT: want an https/,
    ],
    [
      { CHURN_GKE_ENDPOINT: "172.16.0.34", CHURN_GKE_CA_CERT: "-----BEGIN" },
      /CHURN_GKE_CA_CERT: want base64 of a PEM/,
    ],
  ])("refuses %j, naming the variable", (env, message) => {
    expect(() => parseFunctionsEnv(env)).toThrow(message);
  });
});
