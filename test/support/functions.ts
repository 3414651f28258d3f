import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { waitFor } from "./wait.js";

const root = resolve(import.meta.dirname, "..", "..");

/** A storage finalized CloudEvent, as Eventarc would deliver it. */
export interface StorageEventInput {
  bucket: string;
  name: string;
  generation: string;
  metadata?: Record<string, string>;
  id?: string;
}

const TYPE = "google.cloud.storage.object.v1.finalized";

function envelope(input: StorageEventInput) {
  return {
    specversion: "1.0",
    id: input.id ?? randomUUID(),
    type: TYPE,
    source: `//storage.googleapis.com/projects/_/buckets/${input.bucket}`,
    subject: `objects/${input.name}`,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
  };
}

function data(input: StorageEventInput) {
  return {
    bucket: input.bucket,
    name: input.name,
    generation: input.generation,
    metageneration: "1",
    contentType: "text/csv",
    ...(input.metadata ? { metadata: input.metadata } : {}),
  };
}

/** POST a CloudEvent in structured mode (the whole event is the JSON body). */
export async function postStructured(url: string, input: StorageEventInput): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json" },
    body: JSON.stringify({ ...envelope(input), data: data(input) }),
  });
}

/** POST a CloudEvent in binary mode (envelope in ce- headers, data as the body): what Eventarc sends. */
export async function postBinary(
  url: string,
  input: StorageEventInput | { raw: unknown },
): Promise<Response> {
  const env =
    "raw" in input
      ? envelope({ bucket: "b", name: "x", generation: "1" })
      : envelope(input as StorageEventInput);
  const headers: Record<string, string> = { "content-type": "application/json" };
  for (const [key, value] of Object.entries(env)) {
    if (key !== "datacontenttype") headers[`ce-${key}`] = value;
  }
  return fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify("raw" in input ? input.raw : data(input as StorageEventInput)),
  });
}

/** A functions-framework process serving one function of the built dist/functions/main.js. */
export interface FunctionsProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output: () => string;
}

/**
 * Starts the real functions-framework (the Cloud Functions runtime's own
 * entry) on a random port with `target` from dist/functions/main.js, and
 * waits until it answers. `env` is the whole environment of the process.
 */
export async function startFunctionsFramework(
  target: string,
  env: NodeJS.ProcessEnv,
  signatureType: "cloudevent" | "http" = "cloudevent",
): Promise<FunctionsProcess> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const main = join(root, "node_modules", "@google-cloud", "functions-framework", "build", "src", "main.js");
  const child = spawn(
    process.execPath,
    [
      main,
      "--source",
      join(root, "dist", "functions", "main.js"),
      "--target",
      target,
      "--signature-type",
      signatureType,
      "--port",
      String(port),
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const url = `http://127.0.0.1:${port}/`;
  await waitFor("functions-framework to listen", () => fetch(url).then(() => true), {
    timeoutMs: 60_000,
    intervalMs: 200,
    abortIf: () =>
      child.exitCode === null && child.signalCode === null
        ? null
        : `functions-framework exited (${child.exitCode ?? child.signalCode}):\n${output}`,
    context: () => output,
  });
  return { url, child, output: () => output };
}
