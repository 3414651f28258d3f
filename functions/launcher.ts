import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What a launcher needs to start one weekly run. */
export interface LaunchRequest {
  runId: string;
  pipeline: "weekly";
  /** The bucket URI the runner opens (`gs://bucket` or `file:///path`). */
  bucketUri: string;
  /** The triggering object, e.g. `weekly/2024-W18.csv`. */
  object: string;
  generation: string;
}

/** Where a started run went, for the trigger marker and the logs. */
export interface LaunchResult {
  kind: string;
  /** Process id (local) or Job name (Kubernetes). */
  handle: string;
}

/**
 * Starts a run and returns without waiting for it (functions must return
 * quickly). Implementations must be safe to call twice for one run id: the
 * runner's lease makes a second local runner wait and then report; a second
 * driver Job of the same name is refused by the API server.
 */
export interface RunLauncher {
  launch(request: LaunchRequest): Promise<LaunchResult>;
}

/** The compiled CLI next to this file's compiled copy (dist/functions → dist/cli/bin.js). */
export function defaultCliPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "cli", "bin.js");
}

export interface LocalProcessLauncherOptions {
  /** Path of the compiled `churn` bin (default: dist/cli/bin.js beside this module). */
  cliPath?: string;
  /** Append the runner's stdout and stderr here; default: discarded. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Local stand-in for the in-cluster driver Job: spawns
 * `node dist/cli/bin.js pipeline run weekly --bucket <uri> --weekly <object>`
 * detached, so the function's process can answer the event at once.
 */
export class LocalProcessLauncher implements RunLauncher {
  constructor(private readonly options: LocalProcessLauncherOptions = {}) {}

  /** Spawn the runner and return its pid once it has started. */
  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const out = this.options.logFile ? openSync(this.options.logFile, "a") : "ignore";
    const child = spawn(
      process.execPath,
      [
        this.options.cliPath ?? defaultCliPath(),
        "pipeline",
        "run",
        request.pipeline,
        "--bucket",
        request.bucketUri,
        "--weekly",
        request.object,
        "--json",
      ],
      { detached: true, stdio: ["ignore", out, out], env: this.options.env ?? process.env },
    );
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    child.unref();
    return { kind: "local-process", handle: String(child.pid) };
  }
}
