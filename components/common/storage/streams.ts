import { PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";

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

/**
 * Wrap a driver's raw object stream for callers: optionally gunzip it, turn
 * source and gzip failures into our error types, and release the source when
 * the caller stops reading early (plain `.pipe()` does neither).
 */
export function readerOf(
  source: Readable,
  options: { gunzip: boolean; sourceError: (error: unknown) => Error; gzipError: (error: Error) => Error },
): Readable {
  const out = new PassThrough();
  const stages: Readable[] = [source];
  const fail = (error: Error) => {
    for (const stage of stages) stage.destroy();
    if (!out.destroyed) out.destroy(error);
  };
  source.on("error", (error) => fail(options.sourceError(error)));
  let tail: Readable = source;
  if (options.gunzip) {
    const gunzip = createGunzip();
    stages.push(gunzip);
    gunzip.on("error", (error) => fail(options.gzipError(error)));
    tail = source.pipe(gunzip);
  }
  tail.pipe(out);
  out.on("close", () => {
    if (!out.readableEnded) for (const stage of stages) stage.destroy();
  });
  return out;
}

/** Map over items with at most `limit` promises in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
