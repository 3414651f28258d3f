import { randomUUID } from "node:crypto";

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
