import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, gzipSync } from "node:zlib";
import { type Bucket, type File, type FileMetadata, Storage as GoogleStorage } from "@google-cloud/storage";
import {
  ChurnError,
  ConflictError,
  CredentialsError,
  InputError,
  NotFoundError,
  TransientError,
} from "../errors.js";
import { collect, mapLimit, readerOf, toReadable } from "./streams.js";
import type { ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";
import { checkObjectName, isGzipName } from "./uri.js";

/** Payloads up to this size are uploaded in one request; bigger ones and streams go resumable. */
const SINGLE_REQUEST_MAX = 8 * 1024 * 1024;
/** Resumable chunk size (a multiple of 256 KiB); also the memory one streaming upload buffers. */
const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** The real Cloud Storage JSON API. */
const GCS_ENDPOINT = "https://storage.googleapis.com";

/** Options of the gs:// driver; tests shrink the chunk size to exercise multi-chunk uploads quickly. */
export interface GcsStorageOptions {
  client?: GoogleStorage;
  chunkSize?: number;
}

/**
 * The Google client for this environment. With STORAGE_EMULATOR_HOST set
 * (fake-gcs-server in tests) it talks to the emulator without credentials.
 */
export function createGcsClient(env: NodeJS.ProcessEnv = process.env): GoogleStorage {
  const emulator = env.STORAGE_EMULATOR_HOST;
  // Set but empty means "no emulator"; the Google client would still take the variable for a
  // custom endpoint and skip authentication, so say both explicitly.
  if (!emulator)
    return new GoogleStorage(
      emulator === "" ? { apiEndpoint: GCS_ENDPOINT, useAuthWithCustomEndpoint: true } : {},
    );
  // Accept "host:port", "http://host:port" and ".../storage/v1" alike.
  const origin = (/^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`)
    .replace(/\/+$/, "")
    .replace(/\/storage\/v1$/, "");
  const client = new GoogleStorage({
    apiEndpoint: origin,
    projectId: env.GOOGLE_CLOUD_PROJECT ?? "churn-emulator",
  });
  // The client takes the variable verbatim as its JSON API base URL, without the
  // /storage/v1 path that fake-gcs-server (and any real endpoint) serves it under.
  client.baseUrl = `${origin}/storage/v1`;
  return client;
}

/** HTTP status of a client error, or undefined for network and other failures. */
function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | undefined;
  for (const value of [e?.code, e?.status, e?.response?.status]) {
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^\d{3}$/.test(value)) return Number(value);
  }
  return undefined;
}

function isNetworkError(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** What to do about missing, broken or insufficient credentials: every such message ends with it. */
const CREDENTIALS_FIX =
  "Sign in with `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file; the account needs roles/storage.objectAdmin on the bucket (roles/storage.objectViewer to only read)";

/**
 * Errors google-auth-library raises before any request: no default
 * credentials, a key file that is missing or not a key. Retrying cannot help.
 */
function isCredentialsError(error: unknown): boolean {
  const message = (error as Error)?.message ?? "";
  return (
    /Could not load the default credentials|GOOGLE_APPLICATION_CREDENTIALS|does not contain a client_email|does not contain a private_key|The file at .* does not exist|Unable to detect a Project Id|invalid_grant|error:1E08010C|DECODER routines|PEM/i.test(
      message,
    ) ||
    (error instanceof SyntaxError && /JSON/.test(message))
  );
}

/** One place that turns a client error into our hierarchy, naming the gs:// URI. */
export function mapGcsError(error: unknown, action: string, uri: string): Error {
  if (error instanceof ChurnError) return error;
  const status = statusOf(error);
  const detail = (error as Error)?.message ?? String(error);
  if (status === 404) return new NotFoundError(`${uri} does not exist (${detail})`, { cause: error });
  if (status === 412) {
    return new ConflictError(`${action} ${uri}: the object changed (generation precondition failed)`, {
      cause: error,
    });
  }
  if (status === 429 || (status !== undefined && status >= 500) || isNetworkError(error)) {
    return new TransientError(`${action} ${uri} failed, a retry may help: ${detail}`, { cause: error });
  }
  if (isCredentialsError(error)) {
    return new CredentialsError(
      `${action} ${uri}: no usable Google credentials (${detail}). ${CREDENTIALS_FIX}`,
      { cause: error },
    );
  }
  if (status === 401 || status === 403) {
    return new CredentialsError(`${action} ${uri}: permission denied (${detail}). ${CREDENTIALS_FIX}`, {
      cause: error,
    });
  }
  return new ChurnError(`${action} ${uri} failed: ${detail}`, { cause: error });
}

/** gs://bucket[/prefix] through @google-cloud/storage; the prefix is prepended to object names. */
export class GcsStorage implements Storage {
  private readonly client: GoogleStorage;
  private readonly gcsBucket: Bucket;
  private readonly chunkSize: number;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
    readonly uri: string,
    options: GcsStorageOptions = {},
  ) {
    this.client = options.client ?? createGcsClient();
    this.gcsBucket = this.client.bucket(bucket);
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  private objectUri(name: string): string {
    return `${this.uri}/${name}`;
  }

  /** Full object name in the bucket. */
  private key(name: string): string {
    checkObjectName(name);
    return this.prefix ? `${this.prefix}/${name}` : name;
  }

  private file(name: string, generation?: string): File {
    return this.gcsBucket.file(
      this.key(name),
      generation === undefined ? {} : { generation: Number(generation) },
    );
  }

  private toInfo(metadata: FileMetadata, name?: string): ObjectInfo {
    const key = metadata.name ?? "";
    const custom: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata.metadata ?? {})) {
      if (v !== null && v !== undefined) custom[k] = String(v);
    }
    return {
      name: name ?? (this.prefix ? key.slice(this.prefix.length + 1) : key),
      size: Number(metadata.size ?? 0),
      generation: String(metadata.generation),
      updated: new Date(metadata.updated ?? metadata.timeCreated ?? 0),
      metadata: custom,
    };
  }

  async exists(): Promise<boolean> {
    try {
      const [exists] = await this.gcsBucket.exists();
      return exists;
    } catch (error) {
      throw mapGcsError(error, "open", this.uri);
    }
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    try {
      const [metadata] = await this.file(name).getMetadata();
      return this.toInfo(metadata, name);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw mapGcsError(error, "stat", this.objectUri(name));
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const full = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let files: File[];
    try {
      [files] = await this.gcsBucket.getFiles({
        prefix: full,
        autoPaginate: true,
        ...(options.delimiter ? { delimiter: "/" } : {}),
      });
    } catch (error) {
      throw mapGcsError(error, "list", this.objectUri(prefix));
    }
    return (
      files
        // Console-made "folder" placeholders end with / and are not objects here.
        .filter((f) => !f.name.endsWith("/"))
        .map((f) => this.toInfo({ ...f.metadata, name: f.name }))
        // Same order as the file driver (UTF-16 code units), whatever the server returned.
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    );
  }

  createReadStream(name: string, options: ReadOptions = {}): Readable {
    const uri = this.objectUri(name);
    // decompress:false: we never store Content-Encoding ourselves, and gzip is ours to undo by extension.
    const raw = this.file(name).createReadStream({ decompress: false });
    return readerOf(raw, {
      gunzip: options.gunzip ?? isGzipName(name),
      sourceError: (error) => mapGcsError(error, "read", uri),
      gzipError: (error) => new InputError(`${uri}: gzip data is corrupt or truncated (${error.message})`),
    });
  }

  async readBytes(name: string, options?: ReadOptions): Promise<Buffer> {
    return collect(this.createReadStream(name, options));
  }

  async readText(name: string, options?: ReadOptions): Promise<string> {
    return (await this.readBytes(name, options)).toString("utf8");
  }

  private preconditions(name: string, options: WriteOptions): { ifGenerationMatch?: number | string } {
    const expected = options.ifGenerationMatch;
    if (expected === undefined) return {};
    if (expected !== 0 && !/^\d+$/.test(expected)) {
      // Not a GCS generation (e.g. one from a file:// bucket): it can never match.
      throw new ConflictError(`${this.objectUri(name)}: "${expected}" is not a generation of this bucket`);
    }
    return { ifGenerationMatch: expected };
  }

  async write(
    name: string,
    data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<ObjectInfo> {
    const uri = this.objectUri(name);
    const file = this.file(name);
    const gzip = options.gzip ?? isGzipName(name);
    const preconditionOpts = this.preconditions(name, options);
    const metadata = {
      contentType: options.contentType ?? (gzip ? "application/gzip" : "application/octet-stream"),
      metadata: { ...(options.metadata ?? {}) },
    };
    try {
      if (typeof data === "string" || data instanceof Uint8Array) {
        const raw =
          typeof data === "string"
            ? Buffer.from(data, "utf8")
            : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        if (raw.length <= SINGLE_REQUEST_MAX) {
          // One multipart request: the object appears only when the request completes.
          await file.save(gzip ? gzipSync(raw) : raw, { resumable: false, metadata, preconditionOpts });
          return this.toInfo(file.metadata, name);
        }
        // Bigger payloads take the streaming path below (gzip there, off the event loop).
      }
      // Chunked resumable upload: the server finalises the object only with the last
      // chunk, which the client sends only after the source ended cleanly; a source that
      // fails destroys the upload first, so no partial object ever appears (the contract
      // test checks this). Chunks are also retried from the client's buffer on 5xx.
      const upload = file.createWriteStream({
        resumable: true,
        chunkSize: this.chunkSize,
        metadata,
        preconditionOpts,
      });
      if (gzip) await pipeline(toReadable(data), createGzip(), upload);
      else await pipeline(toReadable(data), upload);
      return this.toInfo(file.metadata, name);
    } catch (error) {
      throw mapGcsError(error, "write", uri);
    }
  }

  async createIfAbsent(
    name: string,
    data: string | Uint8Array,
    options: WriteOptions = {},
  ): Promise<ObjectInfo | null> {
    try {
      return await this.write(name, data, { ...options, ifGenerationMatch: 0 });
    } catch (error) {
      if (error instanceof ConflictError) return null;
      throw error;
    }
  }

  /**
   * fake-gcs-server (1.56) ignores preconditions on copy and delete, so check
   * the target first as well: the server-side precondition closes the race on
   * real GCS, this check makes the emulator and error messages agree.
   */
  private async checkPrecondition(
    name: string,
    expected: string | 0 | undefined,
    action: string,
  ): Promise<void> {
    if (expected === undefined) return;
    const current = await this.stat(name);
    if (expected === 0 && current)
      throw new ConflictError(`${action} ${this.objectUri(name)}: it already exists`);
    if (expected !== 0 && current && current.generation !== expected) {
      throw new ConflictError(
        `${action} ${this.objectUri(name)}: expected generation ${expected}, found ${current.generation}`,
      );
    }
    if (expected !== 0 && !current && action === "copy to") {
      throw new ConflictError(
        `${action} ${this.objectUri(name)}: expected generation ${expected}, found no object`,
      );
    }
  }

  async copy(source: string, target: string, options: WriteOptions = {}): Promise<ObjectInfo> {
    const preconditionOpts = this.preconditions(target, options);
    await this.checkPrecondition(target, options.ifGenerationMatch, "copy to");
    const destination = this.file(target);
    try {
      // Server-side rewrite (the client follows rewrite tokens for large objects). Custom
      // metadata and content type are kept from the source unless the caller gives new ones.
      const [, response] = await this.file(source).copy(destination, {
        preconditionOpts,
        ...(options.contentType ? { contentType: options.contentType } : {}),
        ...(options.metadata ? { metadata: { ...options.metadata } } : {}),
      });
      const resource = (response as { resource?: FileMetadata } | undefined)?.resource;
      const metadata = resource?.generation ? resource : (await destination.getMetadata())[0];
      return this.toInfo(metadata, target);
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new NotFoundError(`copy ${this.objectUri(source)} to ${target}: the source does not exist`, {
          cause: error,
        });
      }
      throw mapGcsError(error, "copy to", this.objectUri(target));
    }
  }

  async delete(
    name: string,
    options: { allVersions?: boolean; ifGenerationMatch?: string } = {},
  ): Promise<void> {
    const uri = this.objectUri(name);
    if (options.ifGenerationMatch !== undefined) {
      if (!/^\d+$/.test(options.ifGenerationMatch)) {
        throw new ConflictError(
          `delete ${uri}: "${options.ifGenerationMatch}" is not a generation of this bucket`,
        );
      }
      await this.checkPrecondition(name, options.ifGenerationMatch, "delete");
    }
    try {
      await this.file(name).delete({
        ignoreNotFound: true,
        ...(options.ifGenerationMatch !== undefined ? { ifGenerationMatch: options.ifGenerationMatch } : {}),
      });
      if (!options.allVersions) return;
      // On a versioned bucket the delete above made the live object noncurrent; remove every generation.
      const key = this.key(name);
      const [versions] = await this.gcsBucket.getFiles({ prefix: key, versions: true, autoPaginate: true });
      await mapLimit(
        versions.filter((v) => v.name === key),
        8,
        async (v) => {
          await this.gcsBucket
            .file(key, { generation: Number(v.metadata.generation) })
            .delete({ ignoreNotFound: true });
        },
      );
    } catch (error) {
      throw mapGcsError(error, "delete", uri);
    }
  }

  async listNoncurrent(prefix: string): Promise<ObjectInfo[]> {
    const full = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let all: File[];
    try {
      [all] = await this.gcsBucket.getFiles({ prefix: full, versions: true, autoPaginate: true });
    } catch (error) {
      throw mapGcsError(error, "list versions of", this.objectUri(prefix));
    }
    // The live generation of each name; every other generation is noncurrent.
    const live = new Map((await this.list(prefix)).map((o) => [o.name, o.generation]));
    return all
      .filter((f) => !f.name.endsWith("/"))
      .map((f) => this.toInfo({ ...f.metadata, name: f.name }))
      .filter((o) => live.get(o.name) !== o.generation)
      .sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : Number(BigInt(a.generation) - BigInt(b.generation)),
      );
  }

  createVersionReadStream(name: string, generation: string, options: ReadOptions = {}): Readable {
    const uri = `${this.objectUri(name)}#${generation}`;
    const raw = this.file(name, generation).createReadStream({ decompress: false });
    return readerOf(raw, {
      gunzip: options.gunzip ?? isGzipName(name),
      sourceError: (error) => mapGcsError(error, "read", uri),
      gzipError: (error) => new InputError(`${uri}: gzip data is corrupt or truncated (${error.message})`),
    });
  }

  async deleteVersion(name: string, generation: string): Promise<void> {
    try {
      await this.file(name, generation).delete({ ignoreNotFound: true });
    } catch (error) {
      throw mapGcsError(error, "delete", `${this.objectUri(name)}#${generation}`);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    await mapLimit(objects, 16, (object) => this.delete(object.name));
    return objects.length;
  }
}
