import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn } from "./support/cli.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";

// Issue 18, the operator's mistakes, through the built CLI: a mistyped bucket,
// a bad filter and broken credentials get exit 2 and a message that says
// what to fix, never an empty "no runs yet" or "a retry may help".
let base: string;
let bucket: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "operator-cli-"));
  bucket = join(base, "bucket");
  const init = await spawnChurn(["init", "--bucket", bucket, "--rows", "300", "--weekly-rows", "50"]);
  expect(init.code, init.stderr).toBe(0);
  // One run to list (it fails at the gate on so few rows: a failed run is a run all the same).
  await spawnChurn(["pipeline", "run", "--bucket", bucket]);
});
afterAll(() => rm(base, { recursive: true, force: true }));

/** Without the emulator (set but empty counts as unset): the real Google client and its credential lookup. */
const noEmulator = { STORAGE_EMULATOR_HOST: "" };

describe("mistakes get exit 2 and say what to fix", () => {
  it.each([
    ["runs list on a folder that does not exist", ["runs", "list", "--bucket", "MISSING"], "no bucket at"],
    [
      "models list on a folder that does not exist",
      ["models", "list", "--bucket", "MISSING"],
      "the folder does not exist",
    ],
    [
      "runs show on a folder that does not exist",
      ["runs", "show", "r-0123456789abcdef", "--bucket", "MISSING"],
      "no bucket at",
    ],
    [
      "a mistyped state",
      ["runs", "list", "--bucket", "BUCKET", "--state", "failde"],
      "state must be one of running, interrupted, succeeded, failed",
    ],
    [
      "a limit that is no number",
      ["runs", "list", "--bucket", "BUCKET", "--limit", "abc"],
      '--limit must be a whole number of at least 1, got "abc"',
    ],
    [
      "a limit of 0",
      ["runs", "list", "--bucket", "BUCKET", "--limit", "0"],
      "--limit must be a whole number",
    ],
    ["gs:/ with one slash", ["runs", "list", "--bucket", "gs:/foo"], "is not a gs:// URI: write gs://foo"],
    ["gs: without slashes", ["models", "list", "--bucket", "gs:foo"], "write gs://foo"],
  ])("%s", async (_label, args, message) => {
    const resolved = args.map((a) =>
      a === "MISSING" ? join(base, "no-such-folder") : a === "BUCKET" ? bucket : a,
    );
    const result = await spawnChurn(resolved);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).not.toContain("no runs yet");
  });

  it("a valid filter that matches nothing says so, not 'no runs yet'", async () => {
    const result = await spawnChurn(["runs", "list", "--bucket", bucket, "--state", "interrupted"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("no runs match --state interrupted");
    const all = await spawnChurn(["runs", "list", "--bucket", bucket, "--json"]);
    expect(JSON.parse(all.stdout).length).toBeGreaterThan(0);
  });

  it.each([
    ["a key file that does not exist", async () => join(base, "missing-key.json")],
    [
      "a key file that is not a key",
      async () => {
        const path = join(base, "broken-key.json");
        await writeFile(path, "{}\n");
        return path;
      },
    ],
    [
      "a key file that is not JSON",
      async () => {
        const path = join(base, "garbage-key.json");
        await writeFile(path, "this is not json\n");
        return path;
      },
    ],
  ])("credentials: %s -> exit 2 naming the fix", async (_label, keyFile) => {
    const result = await spawnChurn(["runs", "list", "--bucket", "gs://churn-credentials-test"], {
      ...noEmulator,
      GOOGLE_APPLICATION_CREDENTIALS: await keyFile(),
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("gcloud auth application-default login");
    expect(result.stderr).toContain("GOOGLE_APPLICATION_CREDENTIALS");
    expect(result.stderr).toContain("roles/storage.objectAdmin");
    expect(result.stderr).not.toContain("a retry may help");
  });
});

describe("a gs:// bucket that does not exist (GCS emulator)", () => {
  let emulator: GcsEmulator;
  beforeAll(async () => {
    emulator = await startGcsEmulator();
  }, 60_000);
  afterAll(() => emulator?.stop());

  it("is refused with exit 2 instead of listing nothing", async () => {
    const env = { STORAGE_EMULATOR_HOST: emulator.host };
    const missing = await spawnChurn(["runs", "list", "--bucket", "gs://no-such-bucket-here"], env);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain("bucket gs://no-such-bucket-here does not exist");
    const present = await spawnChurn(["runs", "list", "--bucket", `gs://${emulator.bucket}`], env);
    expect(present.code, present.stderr).toBe(0);
    expect(present.stdout).toContain("no runs yet");
  });
});
