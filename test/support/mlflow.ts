import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** A running MLflow tracking server (sqlite backend, proxied file artifacts) on loopback. */
export interface MlflowServer {
  /** http://127.0.0.1:<port>: what mlflow.tracking_uri would say. */
  readonly url: string;
  /** Seconds from spawn to a healthy /health. */
  readonly startSeconds: number;
  stop(): Promise<void>;
}

/** The mlflow executable test/services/install-mlflow.sh installs. */
export function mlflowPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(
    env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"),
    "venv-mlflow",
    "bin",
    "mlflow",
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Start `mlflow server` with a fresh sqlite store; throws with its output if it does not come up. */
export async function startMlflow(timeoutMs = 120_000): Promise<MlflowServer> {
  const binary = mlflowPath();
  if (!existsSync(binary)) throw new Error(`${binary} missing: run bash test/services/install-mlflow.sh`);
  const dir = await mkdtemp(join(tmpdir(), "churn-mlflow-"));
  const port = await freePort();
  const started = Date.now();
  const child = spawn(
    binary,
    [
      "server",
      "--backend-store-uri",
      `sqlite:///${join(dir, "mlflow.db")}`,
      "--serve-artifacts",
      "--artifacts-destination",
      `file://${join(dir, "artifacts")}`,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, MLFLOW_TRACKING_URI: "" } },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output = (output + c).slice(-20_000)));
  child.stderr!.on("data", (c) => (output = (output + c).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // The server forks workers (uvicorn/gunicorn): stop the whole process group.
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }, 5000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`mlflow server exited with ${child.exitCode}:\n${output}`);
    }
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`mlflow server did not become healthy in ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, startSeconds: (Date.now() - started) / 1000, stop };
}
