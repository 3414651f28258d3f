/**
 * Schemathesis (PyPI, pinned; venv from test/services/install-schemathesis.sh)
 * against serving/openapi.yaml and a real model server process (the fake churn
 * model and a BG/NBD lifetime model, serving/testing/serve-fake.ts): every
 * phase (examples, coverage, fuzzing, stateful) under `--checks all`, bounded
 * to a few hundred cases, must end with zero failures and zero errors. The
 * settings the spec cannot carry are test/schemathesis.toml, each with why.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeServer } from "./support/cli.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VENV = join(
  process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"),
  "venv-schemathesis",
);
let child: ChildProcess;
let address: string;

beforeAll(async () => {
  await run("bash", ["test/services/install-schemathesis.sh"], { cwd: ROOT, timeout: 600_000 });
  ({ child, address } = await startFakeServer(["--port", "0", "--lifetime"]));
}, 660_000);
afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

describe("schemathesis against serving/openapi.yaml", () => {
  it("runs every phase, stateful included, with zero failures under --checks all", async () => {
    expect(existsSync(join(VENV, "bin", "st"))).toBe(true);
    const args = [
      "--config-file",
      join(ROOT, "test/schemathesis.toml"),
      "run",
      join(ROOT, "serving/openapi.yaml"),
      "--url",
      address,
      "--checks",
      "all",
      "--phases",
      "examples,coverage,fuzzing,stateful",
      "--max-examples",
      "4",
      "--seed",
      "20",
      "--no-color",
    ];
    // Its own working folder: schemathesis keeps a cache of findings in ./.schemathesis.
    const cwd = await mkdtemp(join(tmpdir(), "schemathesis-"));
    const result = await run(join(VENV, "bin", "st"), args, { cwd, timeout: 600_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? 1,
        out: `${e.stdout ?? ""}${e.stderr ?? ""}`,
      }),
    );
    await rm(cwd, { recursive: true, force: true });
    const summary = result.out.slice(result.out.lastIndexOf("SUMMARY"));
    expect(result.code, result.out.slice(-6000)).toBe(0);
    for (const phase of ["Examples", "Coverage", "Fuzzing", "Stateful"])
      expect(summary).toContain(`✅ ${phase}`);
    const cases = /(\d+) generated, (\d+) passed/.exec(summary);
    expect(cases, summary).not.toBeNull();
    expect(Number(cases![1])).toBeGreaterThanOrEqual(200);
    expect(cases![2]).toBe(cases![1]);
    console.log(`schemathesis: ${cases![1]} cases, all passed`);
  }, 600_000);
});
