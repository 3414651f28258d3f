import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** The built CLI (npm run build). */
export const churnBin = join(ROOT, "dist", "cli", "bin.js");

/** What a CLI process printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as its own process, as a user or the runner would;
 * `env` is added to this process's environment. The child is exposed so a
 * test can signal it (detached: it leads its own process group, so the
 * test can kill the steps it started too).
 */
export function spawnChurn(
  args: string[],
  env: Record<string, string> = {},
  options: { detached?: boolean } = {},
): Promise<CliResult> & { child: ChildProcess } {
  const child = spawn(process.execPath, [churnBin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  const result = new Promise<CliResult>((done) =>
    child.on("close", (code) => done({ code, stdout, stderr })),
  );
  return Object.assign(result, { child });
}

/** A running `churn serve` process and the address it listens on. */
export interface ServeProcess {
  child: ChildProcess;
  address: string;
  /** Everything it printed so far. */
  log: () => string;
}

/**
 * Starts `churn serve <args>` (the built CLI) and resolves once it logs
 * `line` (default: the server is ready), with the address from that log line;
 * rejects with the output when it exits first or takes longer than `timeoutMs`.
 */
export function startChurnServe(
  args: string[],
  options: { line?: string; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  return startLogged("churn serve", [churnBin, "serve", ...args], options);
}

/**
 * Starts the model server on its fake models (serving/testing/serve-fake.ts,
 * run from the sources) and resolves once it is ready, as startChurnServe.
 */
export function startFakeServer(args: string[]): Promise<ServeProcess> {
  return startLogged("serve-fake", ["--import", "tsx", "serving/testing/serve-fake.ts", ...args], {});
}

/** Runs node with `argv` from the repository root until it logs `line`. */
function startLogged(
  what: string,
  argv: string[],
  options: { line?: string; timeoutMs?: number },
): Promise<ServeProcess> {
  const { line = '"model server ready"', timeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${what} did not log ${line}:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const found = out.split("\n").find((l) => l.includes(line));
      if (!found) return;
      clearTimeout(timer);
      const address = String(JSON.parse(found).address);
      done({ child, address: address.startsWith("http") ? address : `http://${address}`, log: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}
