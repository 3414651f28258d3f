import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, type Stats } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { ConflictError, InputError, NotFoundError } from "../errors.js";
import { collect, toReadable } from "./streams.js";
import type { ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";
import { checkObjectName, isGzipName } from "./uri.js";

/** Hidden folder for temp files and metadata sidecars; never listed as objects. */
const INTERNAL = ".churn-storage";

interface Sidecar {
  generation: string;
  metadata: Record<string, string>;
  contentType?: string;
}

function generationOf(stats: { mtimeNs: bigint; size: bigint }): string {
  // DESIGN: for file:// the generation is derived from modification time and size.
  return `${stats.mtimeNs}${String(stats.size).padStart(12, "0")}`;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}

/**
 * The embedded local driver: a folder is a bucket. Writes go to a temp file
 * in the same filesystem and are renamed into place, so readers never see a
 * partial object; create-if-absent uses link(2), which fails atomically when
 * the target exists; conditional replace holds a short lock file.
 */
export class FileStorage implements Storage {
  readonly uri: string;
  constructor(
    readonly root: string,
    uri: string,
  ) {
    this.uri = uri;
  }

  private path(name: string): string {
    return join(this.root, checkObjectName(name));
  }

  private sidecarPath(name: string): string {
    return join(this.root, INTERNAL, "meta", `${name}.json`);
  }

  private async tempPath(): Promise<string> {
    const dir = join(this.root, INTERNAL, "tmp");
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}-${randomBytes(8).toString("hex")}`);
  }

  private async info(
    name: string,
    stats: Stats | { mtimeNs: bigint; size: bigint; mtime: Date },
  ): Promise<ObjectInfo> {
    const s = stats as { mtimeNs: bigint; size: bigint; mtime: Date };
    const generation = generationOf(s);
    let metadata: Record<string, string> = {};
    try {
      const sidecar = JSON.parse(await readFile(this.sidecarPath(name), "utf8")) as Sidecar;
      // A sidecar describes exactly one generation; a file replaced by hand loses it.
      if (sidecar.generation === generation) metadata = sidecar.metadata;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { name, size: Number(s.size), generation, updated: s.mtime, metadata };
  }

  async stat(name: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.path(name), { bigint: true });
      if (!s.isFile()) return null;
      return this.info(name, { mtimeNs: s.mtimeNs, size: s.size, mtime: s.mtime });
    } catch (error) {
      if (isNotFound(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return null;
      throw error;
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf("/");
    const baseDir = slash >= 0 ? prefix.slice(0, slash) : "";
    const names: string[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(join(this.root, relDir), { withFileTypes: true });
      } catch (error) {
        if (isNotFound(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
        throw error;
      }
      for (const entry of entries) {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        if (rel === INTERNAL) continue;
        if (entry.isDirectory()) {
          // Descend only where the prefix can still match.
          if (!(rel.startsWith(prefix) || prefix.startsWith(`${rel}/`))) continue;
          if (options.delimiter && rel.startsWith(prefix) && rel.slice(prefix.length).length > 0) continue;
          await walk(rel);
        } else if (entry.isFile() && rel.startsWith(prefix)) {
          names.push(rel);
        }
      }
    };
    await walk(baseDir);
    names.sort();
    const infos = await Promise.all(names.map((name) => this.stat(name)));
    return infos.filter((info): info is ObjectInfo => info !== null);
  }

  createReadStream(name: string, options: ReadOptions = {}): Readable {
    const raw = createReadStream(this.path(name));
    const out = new PassThrough();
    // .pipe() does not forward errors: map each source's error onto the returned stream.
    raw.on("error", (error) =>
      out.destroy(isNotFound(error) ? new NotFoundError(`${this.uri}/${name} does not exist`) : error),
    );
    if (options.gunzip ?? isGzipName(name)) {
      const gunzip = createGunzip();
      gunzip.on("error", (error) =>
        out.destroy(new InputError(`${name}: gzip data is corrupt or truncated (${error.message})`)),
      );
      raw.pipe(gunzip).pipe(out);
    } else {
      raw.pipe(out);
    }
    return out;
  }

  async readBytes(name: string, options?: ReadOptions): Promise<Buffer> {
    return collect(this.createReadStream(name, options));
  }

  async readText(name: string, options?: ReadOptions): Promise<string> {
    return (await this.readBytes(name, options)).toString("utf8");
  }

  /** Write to a temp file (gzipped if asked) and return its path. */
  private async stage(
    data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>,
    name: string,
    options: WriteOptions,
  ): Promise<string> {
    const temp = await this.tempPath();
    const gzip = options.gzip ?? isGzipName(name);
    try {
      if (gzip) await pipeline(toReadable(data), createGzip(), createWriteStream(temp));
      else await pipeline(toReadable(data), createWriteStream(temp));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return temp;
  }

  private async writeSidecar(name: string, temp: string, options: WriteOptions): Promise<void> {
    const s = await stat(temp, { bigint: true });
    const sidecar: Sidecar = { generation: generationOf(s), metadata: options.metadata ?? {} };
    if (options.contentType) sidecar.contentType = options.contentType;
    const path = this.sidecarPath(name);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(4).toString("hex")}`;
    await writeFile(tmp, JSON.stringify(sidecar));
    await rename(tmp, path);
  }

  async write(
    name: string,
    data: string | Uint8Array | Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<ObjectInfo> {
    const target = this.path(name);
    const temp = await this.stage(data, name, options);
    try {
      await mkdir(dirname(target), { recursive: true });
      if (options.ifGenerationMatch === 0) {
        await this.writeSidecar(name, temp, options);
        try {
          await link(temp, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") {
            throw new ConflictError(`${this.uri}/${name} already exists`);
          }
          throw error;
        }
      } else if (options.ifGenerationMatch !== undefined) {
        const expected = options.ifGenerationMatch;
        await this.withLock(name, async () => {
          const current = await this.stat(name);
          if (!current || current.generation !== expected) {
            throw new ConflictError(
              `${this.uri}/${name} changed: expected generation ${expected}, found ${current?.generation ?? "none"}`,
            );
          }
          await this.writeSidecar(name, temp, options);
          await rename(temp, target);
        });
      } else {
        await this.writeSidecar(name, temp, options);
        await rename(temp, target);
      }
    } finally {
      await rm(temp, { force: true });
    }
    const info = await this.stat(name);
    if (!info) throw new ConflictError(`${this.uri}/${name} vanished right after it was written`);
    return info;
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

  async copy(source: string, target: string, options: WriteOptions = {}): Promise<ObjectInfo> {
    const info = await this.stat(source);
    if (!info) throw new NotFoundError(`${this.uri}/${source} does not exist`);
    // Copy the stored bytes as they are: no gunzip/gzip round trip.
    return this.write(target, createReadStream(this.path(source)), {
      metadata: info.metadata,
      ...options,
      gzip: false,
    });
  }

  async delete(
    name: string,
    options: { allVersions?: boolean; ifGenerationMatch?: string } = {},
  ): Promise<void> {
    const remove = async () => {
      await rm(this.path(name), { force: true });
      await rm(this.sidecarPath(name), { force: true });
    };
    if (options.ifGenerationMatch === undefined) return remove();
    const expected = options.ifGenerationMatch;
    await this.withLock(name, async () => {
      const current = await this.stat(name);
      if (current && current.generation !== expected) {
        throw new ConflictError(
          `${this.uri}/${name} changed: expected generation ${expected}, found ${current.generation}`,
        );
      }
      await remove();
    });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    for (const object of objects) await this.delete(object.name);
    return objects.length;
  }

  /**
   * Serialise compare-and-swap on one object across processes with an
   * exclusive lock file. A lock older than 10 s belongs to a dead process.
   */
  private async withLock<T>(name: string, body: () => Promise<T>): Promise<T> {
    const lockPath = join(this.root, INTERNAL, "locks", `${name.replaceAll("/", "%2F")}.lock`);
    await mkdir(dirname(lockPath), { recursive: true });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const handle = await open(lockPath, "wx");
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        try {
          const s = await stat(lockPath);
          if (Date.now() - s.mtimeMs > 10_000) await unlink(lockPath).catch(() => {});
        } catch {}
        if (Date.now() > deadline)
          throw new ConflictError(`timed out waiting for the lock on ${this.uri}/${name}`);
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20)));
      }
    }
    try {
      return await body();
    } finally {
      await unlink(lockPath).catch(() => {});
    }
  }
}
