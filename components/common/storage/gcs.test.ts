import { describe, expect, it } from "vitest";
import { ChurnError, ConflictError, CredentialsError, NotFoundError, TransientError } from "../errors.js";
import { createGcsClient, mapGcsError } from "./gcs.js";

// The gs:// driver itself runs against fake-gcs-server in test/storage.contract.test.ts;
// these cover the pure parts: error mapping and emulator configuration.
describe("mapGcsError", () => {
  const uri = "gs://b/p/x.csv";
  const apiError = (code: number, message = "boom") => Object.assign(new Error(message), { code });
  it.each([
    ["404", apiError(404, "No such object"), NotFoundError, 2],
    ["412", apiError(412, "conditionNotMet"), ConflictError, 1],
    ["429", apiError(429), TransientError, 1],
    ["500", apiError(500), TransientError, 1],
    [
      "503 as response.status",
      Object.assign(new Error("x"), { response: { status: 503 } }),
      TransientError,
      1,
    ],
    ["ECONNREFUSED", Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), TransientError, 1],
    [
      "ECONNRESET as cause",
      new Error("request failed", { cause: Object.assign(new Error("hang up"), { code: "ECONNRESET" }) }),
      TransientError,
      1,
    ],
    ["403: the role is missing, retrying cannot help", apiError(403, "forbidden"), CredentialsError, 2],
    ["401", apiError(401, "unauthenticated"), CredentialsError, 2],
    [
      "no default credentials",
      new Error(
        "Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication",
      ),
      CredentialsError,
      2,
    ],
    [
      "a key file that is not a key",
      new Error("The incoming JSON object does not contain a client_email field"),
      CredentialsError,
      2,
    ],
    ["400", apiError(400, "bad request"), ChurnError, 1],
  ])("%s", (_label, error, type, exitCode) => {
    const mapped = mapGcsError(error, "read", uri);
    expect(mapped).toBeInstanceOf(type);
    expect((mapped as ChurnError).exitCode).toBe(exitCode);
    expect(mapped.message).toContain(uri);
    expect((mapped as ChurnError).cause).toBe(error);
  });

  it("names the fix for credential problems", () => {
    const mapped = mapGcsError(apiError(403, "forbidden"), "read", uri);
    expect(mapped.message).toContain("gcloud auth application-default login");
    expect(mapped.message).toContain("roles/storage.objectAdmin");
  });

  it("passes our own errors through unchanged", () => {
    const own = new ConflictError("already there");
    expect(mapGcsError(own, "write", uri)).toBe(own);
  });
});

describe("createGcsClient", () => {
  it.each([
    ["http://127.0.0.1:4443", "http://127.0.0.1:4443"],
    ["http://127.0.0.1:4443/", "http://127.0.0.1:4443"],
    ["127.0.0.1:4443", "http://127.0.0.1:4443"],
    ["http://localhost:9000/storage/v1", "http://localhost:9000"],
  ])("points the client at the emulator given as %s", (host, origin) => {
    const client = createGcsClient({ STORAGE_EMULATOR_HOST: host });
    expect(client.apiEndpoint).toBe(origin);
    expect(client.baseUrl).toBe(`${origin}/storage/v1`);
  });

  it("uses the real endpoint without the variable", () => {
    // The Google client also reads the variable itself, so clear it for this check.
    const saved = process.env.STORAGE_EMULATOR_HOST;
    delete process.env.STORAGE_EMULATOR_HOST;
    try {
      expect(createGcsClient({}).apiEndpoint).toBe("https://storage.googleapis.com");
    } finally {
      if (saved !== undefined) process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });
});
