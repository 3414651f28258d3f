import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENT } from "../components/common/environment.js";
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

describe("churn validate says which schema it checked against", () => {
  it("before the first model: the schema the next training infers from the history", async () => {
    const result = await spawnChurn(["validate", "weekly/2026-W48.csv", "--bucket", bucket]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "checked against the schema the next training infers from input/history.csv (no champion yet)",
    );
    const json = JSON.parse(
      (await spawnChurn(["validate", "weekly/2026-W48.csv", "--bucket", bucket, "--json"])).stdout,
    );
    expect(json.schema_from).toContain("input/history.csv");
  });
});

describe("--runner kubernetes checks the cluster before the first step", () => {
  const kubeconfig = async (name: string, server: string) => {
    const path = join(base, name);
    await writeFile(
      path,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\nusers: [{name: u, user: {token: abc}}]\n`,
    );
    return path;
  };
  it.each([
    [
      "a KUBECONFIG that does not exist",
      async () => ({ KUBECONFIG: join(base, "no-such-kubeconfig") }),
      2,
      "cannot read the kubeconfig",
    ],
    [
      "no kubeconfig at all",
      async () => ({ KUBECONFIG: "", HOME: join(base, "empty-home") }),
      2,
      "no Kubernetes cluster to run on",
    ],
    [
      "a plain-HTTP server",
      async () => ({ KUBECONFIG: await kubeconfig("kc-http", "http://127.0.0.1:9") }),
      2,
      "is plain HTTP (http://127.0.0.1:9)",
    ],
    [
      "a server that does not answer",
      async () => ({ KUBECONFIG: await kubeconfig("kc-down", "https://127.0.0.1:9") }),
      1,
      "the connection to the server https://127.0.0.1:9 failed",
    ],
  ])("%s: a kubectl-like message, and no attempt left behind", async (_label, env, code, message) => {
    const before = JSON.parse(
      (await spawnChurn(["runs", "list", "--bucket", bucket, "--json"])).stdout,
    ).length;
    const result = await spawnChurn(
      ["pipeline", "run", "--bucket", bucket, "--runner", "kubernetes"],
      await env(),
    );
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("HTTP protocol is not allowed");
    const after = JSON.parse(
      (await spawnChurn(["runs", "list", "--bucket", bucket, "--json"])).stdout,
    ).length;
    expect(after).toBe(before);
  });
});

describe("models by version prefix, and a refused model needs --force", () => {
  let models: string;
  let champion: string;
  let refused: string;
  const json = async (args: string[]) => JSON.parse((await spawnChurn([...args, "--json"])).stdout);
  beforeAll(async () => {
    models = join(base, "models");
    expect(
      (await spawnChurn(["init", "--bucket", models, "--rows", "400", "--weekly-rows", "50"])).code,
    ).toBe(0);
    const configPath = join(models, "churn.yaml");
    const yaml = await readFile(configPath, "utf8");
    // A first model passes a low bar; the next candidate, on changed history, meets an impossible one.
    await writeFile(
      configPath,
      yaml
        .replace("families: [logistic, gbdt, mlp]", "families: [logistic]")
        .replace(/min_roc_auc: 0\.80/, "min_roc_auc: 0.5"),
    );
    expect((await spawnChurn(["pipeline", "run", "--bucket", models])).code).toBe(0);
    await writeFile(
      configPath,
      (await readFile(configPath, "utf8")).replace(/min_roc_auc: 0\.5/, "min_roc_auc: 0.999"),
    );
    const history = join(models, "input", "history.csv");
    const lines = (await readFile(history, "utf8")).trimEnd().split("\n");
    await writeFile(history, `${lines.slice(0, -20).join("\n")}\n`);
    // The same weekly file: a new attempt (the history changed, so train misses the cache).
    expect((await spawnChurn(["pipeline", "run", "--bucket", models, "--force"])).code).toBe(0);
    const listing = await json(["models", "list", "--bucket", models]);
    champion = listing.champion.version;
    refused = listing.models.find((m: { version: string }) => m.version !== champion).version;
  }, 180_000);

  it("shows a model by a unique prefix, and lists the known versions for an unknown one", async () => {
    const shown = await spawnChurn(["models", "show", champion.slice(0, 6), "--bucket", models]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`model ${champion}  (champion)`);
    expect(shown.stdout).toMatch(/ROC-AUC\s+0\.\d{4} held out/);
    const unknown = await spawnChurn(["models", "show", "abcdef", "--bucket", models]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("known versions, newest first:");
    expect(unknown.stderr).toContain(champion);
    expect(unknown.stderr).toContain(refused);
  });

  it.each(["serve", "ui"])("churn %s on a port in use exits 2 with the same message", async (command) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const result = await spawnChurn([command, "--bucket", models, "--port", String(port)]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        `cannot listen on 127.0.0.1:${port} (EADDRINUSE): pick another --port or --host`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("refuses to promote a model the gate refused unless --force", async () => {
    const plain = await spawnChurn(["models", "promote", refused.slice(0, 8), "--bucket", models]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`model ${refused} was not promoted by the quality gate`);
    expect(plain.stderr).toContain("Pass --force");
    expect((await json(["models", "list", "--bucket", models])).champion.version).toBe(champion);
    const forced = await spawnChurn([
      "models",
      "promote",
      refused.slice(0, 8),
      "--bucket",
      models,
      "--force",
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await json(["models", "list", "--bucket", models])).champion.version).toBe(refused);
  });
});

describe("conventions of the tools people know", () => {
  it("churn --version prints the package version, as text and with --json", async () => {
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, "..", "package.json"), "utf8"));
    const text = await spawnChurn(["--version"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`churn ${version}\n`);
    const json = await spawnChurn(["--version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version });
  });

  it("--help lists the exit codes and every environment variable with its rule", async () => {
    const help = await spawnChurn(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*\b130\s+interrupted/);
    for (const name of Object.keys(ENVIRONMENT)) expect(help.stdout).toContain(name);
    expect(help.stdout).toContain("a whole number of milliseconds from 500 to 3600000");
  });

  it("a variable that breaks its rule fails every command with exit 2 naming it", async () => {
    const result = await spawnChurn(["runs", "list", "--bucket", bucket], { CHURN_LEASE_TTL_MS: "soon" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "environment variable CHURN_LEASE_TTL_MS must be a whole number of milliseconds",
    );
  });

  it("errors in --json carry snake_case keys", async () => {
    const result = await spawnChurn(["runs", "list", "--bucket", join(base, "nope"), "--json"]);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, exit_code: 2 });
  });

  it("churn completion bash completes commands, sub-commands and flags in a real bash", async () => {
    const script = await spawnChurn(["completion", "bash"]);
    expect(script.code, script.stderr).toBe(0);
    const path = join(base, "churn.bash");
    await writeFile(path, script.stdout);
    const complete = (words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          `source ${path}; COMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _churn; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: "utf8" },
      ).trim();
    expect(complete(["churn", "mo"])).toBe("models");
    expect(complete(["churn", "models", "pro"])).toBe("promote");
    expect(complete(["churn", "pipeline", "run", "--no-c"])).toBe("--no-cache");
    expect(complete(["churn", "runs", "list", "--st"])).toBe("--state");
  });

  it.each(["zsh", "fish"])("churn completion %s names every command", async (shell) => {
    const script = await spawnChurn(["completion", shell]);
    expect(script.code, script.stderr).toBe(0);
    for (const command of ["pipeline", "runs", "models", "validate", "serve", "completion"])
      expect(script.stdout).toContain(command);
  });

  it("an unknown shell is a usage error", async () => {
    const result = await spawnChurn(["completion", "powershell"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown shell "powershell": choose bash, zsh, fish');
  });
});
