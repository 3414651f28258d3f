import { FileStorage } from "./file.js";
import type { Storage } from "./types.js";
import { parseBucketUri } from "./uri.js";

export type { ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";
export { checkObjectName, isGzipName, parseBucketUri } from "./uri.js";

/**
 * Open the bucket at `uri`: `gs://bucket[/prefix]`, `file:///path`, or a plain
 * folder path. The gs driver is loaded lazily so local runs never pay for the
 * Google client's import time.
 */
export async function openStorage(uri: string, cwd = process.cwd()): Promise<Storage> {
  const location = parseBucketUri(uri, cwd);
  if (location.scheme === "file") return new FileStorage(location.root, location.uri);
  const { GcsStorage } = await import("./gcs.js");
  return new GcsStorage(location.bucket, location.prefix, location.uri);
}
