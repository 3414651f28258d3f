import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

/** A running fake-gcs-server on loopback, with one bucket created. */
export interface GcsEmulator {
  /** Base URL, also put into STORAGE_EMULATOR_HOST while running. */
  readonly host: string;
  readonly port: number;
  /** The bucket created at start. */
  readonly bucket: string;
  /** Create another bucket (versioned unless told otherwise). */
  createBucket(name: string, options?: { versioning?: boolean }): Promise<void>;
  /** Stop the server and restore STORAGE_EMULATOR_HOST. */
  stop(): Promise<void>;
}

/** Where test/services/install.sh puts the binary. */
export function fakeGcsServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "bin", "fake-gcs-server");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function createBucketAt(host: string, name: string, versioning: boolean): Promise<void> {
  const response = await fetch(`${host}/storage/v1/b`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, versioning: { enabled: versioning } }),
  });
  if (!response.ok)
    throw new Error(
      `fake-gcs-server: creating bucket ${name} failed: ${response.status} ${await response.text()}`,
    );
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

async function launch(binary: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const host = `127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      "-scheme",
      "http",
      "-host",
      "127.0.0.1",
      "-port",
      String(port),
      "-backend",
      "memory",
      "-public-host",
      host,
      "-external-url",
      `http://${host}`,
      "-log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `fake-gcs-server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
      );
    }
    try {
      const response = await fetch(`http://${host}/storage/v1/b`);
      if (response.ok) return { child, output: () => output };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`fake-gcs-server did not answer on ${host} within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Start fake-gcs-server (memory backend) on a free loopback port, wait until
 * it answers, create a versioned bucket and point STORAGE_EMULATOR_HOST at it.
 * Fails, never skips, when the binary is missing.
 */
export async function startGcsEmulator(options: { bucket?: string } = {}): Promise<GcsEmulator> {
  const binary = fakeGcsServerPath();
  if (!existsSync(binary)) {
    throw new Error(
      `fake-gcs-server is not installed at ${binary}: run \`bash test/services/install.sh\` first (it builds the emulator once with go install)`,
    );
  }
  let started: { child: ChildProcess; output: () => string } | undefined;
  let port = 0;
  // The port is free when probed but could be taken before the server binds it: retry.
  for (let attempt = 1; !started; attempt++) {
    port = await freePort();
    try {
      started = await launch(binary, port);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
  const { child } = started;
  const host = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? "churn-test";
  try {
    await createBucketAt(host, bucket, true);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const previous = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = host;
  // If the test process dies without calling stop(), do not leave the server running.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    host,
    port,
    bucket,
    createBucket: (name, opts = {}) => createBucketAt(host, name, opts.versioning ?? true),
    async stop() {
      process.removeListener("exit", killOnExit);
      if (previous === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = previous;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
