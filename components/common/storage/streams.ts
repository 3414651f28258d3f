import { PassThrough, Readable, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import {
  type GzipPosition,
  gzipError,
  gzipHeaderError,
  gzipHeaderProblem,
  isGzip,
} from "../csv/compression.js";

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
 * source and gzip failures into our error types (gzip's in the words of
 * csv/compression.ts, naming `uri`), and release the source when the caller
 * stops reading early (plain `.pipe()` does neither).
 */
export function readerOf(
  source: Readable,
  options: { gunzip: boolean; uri: string; sourceError: (error: unknown) => Error },
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
    const at: GzipPosition = { decoded: 0, fed: 0, ended: false, magic: false };
    // A second "data" listener beside pipe's only counts: pipe still does the backpressure.
    source.on("data", (chunk: Buffer) => {
      if (at.fed === 0 && chunk.length > 0) {
        at.magic = isGzip(chunk);
        const header = at.magic ? gzipHeaderProblem(chunk) : null;
        if (header) fail(gzipHeaderError(options.uri, header));
      }
      at.fed += chunk.length;
    });
    source.on("end", () => {
      at.ended = true;
    });
    gunzip.on("error", (error) => {
      at.decoded = gunzip.bytesWritten;
      fail(gzipError(options.uri, error, at));
    });
    tail = source.pipe(gunzip);
  }
  tail.pipe(out);
  out.on("close", () => {
    if (!out.readableEnded) for (const stage of stages) stage.destroy();
  });
  return out;
}

/**
 * Wait until a writable that refused a write takes more, or fail when it can
 * never: a destroyed or failed stream emits no "drain", and waiting for one
 * alone is a promise that never settles (Node then exits 13, silently).
 */
export function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) {
    return Promise.reject(
      stream.errored ?? new Error("the output stream was closed before all data was written"),
    );
  }
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () =>
      done(stream.errored ?? new Error("the output stream was closed before all data was written"));
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
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
