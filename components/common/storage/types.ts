import type { Readable } from "node:stream";

/**
 * The storage contract every part of the product uses. A bucket is addressed
 * by URI (`gs://bucket[/prefix]` or `file:///abs/path`); object names are
 * relative to it, `/`-separated, never starting with `/`.
 */
export interface ObjectInfo {
  /** Object name relative to the bucket root, e.g. `weekly/2024-01.csv`. */
  name: string;
  size: number;
  /**
   * Opaque generation string. For gs:// the object generation; for file://
   * derived from modification time (ns) and size, so a rewrite changes it.
   */
  generation: string;
  /** Last modification (upload) time. */
  updated: Date;
  /** Custom metadata, e.g. `{ "churn-writer": "ingest" }`. */
  metadata: Record<string, string>;
}

export interface WriteOptions {
  /** Custom metadata stored with the object (DESIGN: `churn-writer: <component>`). */
  metadata?: Record<string, string>;
  contentType?: string;
  /**
   * Conditional write: `0` means "only if absent"; a generation string means
   * "only if the current generation is exactly this". A lost race throws
   * ConflictError.
   */
  ifGenerationMatch?: string | 0;
  /** Compress with gzip. Default: true when the name ends with `.gz`. */
  gzip?: boolean;
}

export interface ReadOptions {
  /** Decompress gzip. Default: true when the name ends with `.gz`. */
  gunzip?: boolean;
}

export interface ListOptions {
  /** Only direct children of the prefix (no recursion into `/`). */
  delimiter?: boolean;
}

export interface Storage {
  /** The bucket URI this storage was opened on, without trailing slash. */
  readonly uri: string;
  /**
   * Whether the bucket itself exists (local: the folder). Commands that only
   * read refuse a bucket that does not (exit 2) instead of answering "no runs yet".
   */
  exists(): Promise<boolean>;
  /** Metadata of one object, or null when absent. */
  stat(name: string): Promise<ObjectInfo | null>;
  /** Objects whose names start with `prefix`, sorted by name. */
  list(prefix: string, options?: ListOptions): Promise<ObjectInfo[]>;
  /** Stream an object's bytes (gunzipped by extension). Missing objects error with NotFoundError. */
  createReadStream(name: string, options?: ReadOptions): Readable;
  /** Whole object as bytes (gunzipped by extension). Throws NotFoundError when absent. */
  readBytes(name: string, options?: ReadOptions): Promise<Buffer>;
  /** Whole object as UTF-8 text. */
  readText(name: string, options?: ReadOptions): Promise<string>;
  /**
   * Write an object atomically: readers see either the previous object or the
   * complete new one, never a partial write. Accepts bytes, text or a stream
   * of any size.
   */
  write(
    name: string,
    data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<ObjectInfo>;
  /** Write only if absent; returns null (no throw) when the object already exists. */
  createIfAbsent(name: string, data: string | Uint8Array, options?: WriteOptions): Promise<ObjectInfo | null>;
  /** Copy within the bucket (server-side for gs://), honouring ifGenerationMatch on the target. */
  copy(source: string, target: string, options?: WriteOptions): Promise<ObjectInfo>;
  /**
   * Delete an object. With `allVersions`, noncurrent versions go too (gs://
   * buckets with versioning). Deleting an absent object is not an error.
   * With `ifGenerationMatch`, only that generation is deleted (ConflictError otherwise).
   */
  delete(name: string, options?: { allVersions?: boolean; ifGenerationMatch?: string }): Promise<void>;
  /** Delete every object under a prefix. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Versioned buckets only (gs:// with versioning; drivers without versions
   * leave these out): the noncurrent versions of objects under a prefix,
   * including those of deleted objects, sorted by name then generation.
   */
  listNoncurrent?(prefix: string): Promise<ObjectInfo[]>;
  /** Versioned buckets only: stream one generation's bytes (gunzipped by extension unless told). */
  createVersionReadStream?(name: string, generation: string, options?: ReadOptions): Readable;
  /** Versioned buckets only: delete exactly one generation (absent is not an error). */
  deleteVersion?(name: string, generation: string): Promise<void>;
  /**
   * Local driver only: delete temp files left by writes whose process died
   * (they may hold any object's data); returns how many (counted only with dryRun).
   */
  purgeOrphans?(options?: { dryRun?: boolean }): Promise<number>;
}
