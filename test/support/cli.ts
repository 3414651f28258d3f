import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

/** The built CLI (npm run build). */
export const churnBin = join(resolve(import.meta.dirname, "..", ".."), "dist", "cli", "bin.js");

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
