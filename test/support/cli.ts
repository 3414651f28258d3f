import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
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

/** One line of a long command's stderr when it is not a terminal (cli/event-lines.ts). */
export interface StderrEvent {
  time: string;
  level: string;
  message: string;
  event: string;
  [field: string]: unknown;
}

/**
 * Every line of a piped long command's stderr (`pipeline run`, `score`,
 * `train`, `serve`, ...) as its JSON event; throws naming the first line that
 * is not one, so a test of the stream fails on any stray text.
 */
export function stderrEvents(stderr: string): StderrEvent[] {
  return stderr
    .split("\n")
    .filter((line) => line !== "")
    .map((line, i) => {
      let event: Partial<StderrEvent>;
      try {
        event = JSON.parse(line);
      } catch {
        throw new Error(`stderr line ${i + 1} is not JSON: ${line}`);
      }
      if (typeof event.event !== "string" || typeof event.message !== "string")
        throw new Error(`stderr line ${i + 1} has no event or message: ${line}`);
      return event as StderrEvent;
    });
}

/**
 * A CLI's stderr as people read it: a JSON event line (a piped long command)
 * as its message, any other line as it is; so one expected sentence is
 * checked the same way on `validate` (text) and `pipeline run` (events).
 */
export function stderrMessages(stderr: string): string {
  return stderr
    .split("\n")
    .map((line) => {
      if (!line.startsWith("{")) return line;
      try {
        const message = (JSON.parse(line) as { message?: unknown }).message;
        return typeof message === "string" ? message : line;
      } catch {
        return line;
      }
    })
    .join("\n");
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

/**
 * Makes a `churn init` bucket train quick models: logistic regression only,
 * behind a low gate (min_roc_auc 0.5), so a first model is there in seconds
 * for tests about what happens around models rather than about their quality.
 */
export async function useQuickModels(bucket: string): Promise<void> {
  const config = join(bucket, "churn.yaml");
  const yaml = await readFile(config, "utf8");
  const quick = yaml
    .replace("families: [logistic, gbdt, mlp]", "families: [logistic]")
    .replace(/min_roc_auc: 0\.80/, "min_roc_auc: 0.5");
  if (quick === yaml) throw new Error(`${config}: no families or gate line to make quick`);
  await writeFile(config, quick);
}
