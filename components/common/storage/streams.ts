import { Readable } from "node:stream";

/** Normalise every accepted write payload to a Readable. */
export function toReadable(data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>): Readable {
  if (typeof data === "string") return Readable.from([Buffer.from(data, "utf8")]);
  if (data instanceof Uint8Array)
    return Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  if (data instanceof Readable) return data;
  return Readable.from(data);
}

/** Collect a stream into one Buffer. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
