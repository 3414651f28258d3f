import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CustomerIndex } from "../../components/common/documents/customer-index.js";
import { type LatestPointer, parseLatest } from "../../components/common/documents/latest.js";
import { type ManifestFile, readPublishState } from "../../components/common/documents/manifest.js";
import { messageOf } from "../../components/common/errors.js";
import { LATEST_OBJECT, OUTPUT_FILES } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/types.js";

/**
 * Where the customer lookup's answers come from: the week `output/_latest.json`
 * points at, followed the way championSource follows `models/champion` (one
 * stat of the pointer per interval, the same on gs:// and file://). A load
 * reads the week's `_SUCCESS` manifest, copies the two files the lookup
 * reads (`lookup.index` and the `scores.csv` it indexes) into a local folder
 * with their size and sha256 checked against the manifest as they stream
 * (at the listed generation where the store keeps old ones), opens the
 * index, then swaps it in; the previous week keeps answering until then and
 * is closed once requests still reading it are done. Local copies make the
 * positional reads of the index possible on every store, and keep a publish
 * replacing the bucket's files from changing an open set.
 */

const LOADING = "the customer lookup is loading the newest week; try again shortly";
const UNPUBLISHED = "no week has been published with a customer index yet (output/_latest.json is absent)";

/** The week being served. */
export interface ServedWeek {
  pointer: LatestPointer;
  index: CustomerIndex;
  modelVersion: string | null;
  /** The manifest's run (the publish the answers come from). */
  runId: string;
}

export interface LookupSourceOptions {
  /** How often to look at the pointer, in milliseconds. */
  pollMs?: number;
  /** Folder for the local copies (default: a new one under the OS temp folder, removed on close). */
  cacheDir?: string;
  /** Told of each load: the week now served, or why the load failed (the served week stays). */
  onLoad?: (event: { week: string; customers: number; seconds: number } | { error: string }) => void;
}

/** Copy one listed file of a folder into `path`, checking its size and sha256; a problem sentence, or null. */
async function copyListed(
  storage: Storage,
  prefix: string,
  file: ManifestFile,
  path: string,
): Promise<string | null> {
  const name = `${prefix}${file.name}`;
  const hash = createHash("sha256");
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = storage.createVersionReadStream
    ? storage.createVersionReadStream(name, file.generation, { gunzip: false })
    : storage.createReadStream(name, { gunzip: false });
  await pipeline(source, count, createWriteStream(path));
  if (size !== file.size || hash.digest("hex") !== file.sha256)
    return `${name} is not the file its manifest lists (a publish is replacing it)`;
  return null;
}

/** Follows `output/_latest.json` and serves the week it names. */
export class LookupSource {
  private served: ServedWeek | null = null;
  private problem: string | null = LOADING;
  private seen: string | null | undefined;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;
  private again = false;
  private dir: string | null = null;
  private loads = 0;
  private closed = false;
  /** Requests reading each open index; an index replaced while read is closed by its last reader. */
  private readonly readers = new Map<CustomerIndex, number>();
  private readonly retired = new Set<CustomerIndex>();
  /** The local folder of each open index's copies. */
  private readonly folders = new Map<CustomerIndex, string>();

  constructor(
    private readonly storage: Storage,
    private readonly options: LookupSourceOptions = {},
  ) {}

  /**
   * The week served now; or null with the reason, `published: false` when
   * the bucket has no pointer (nothing to find: 404), true when a week is
   * published but not loaded yet or its load failed (try again: 503).
   */
  current(): { week: ServedWeek } | { week: null; reason: string; published: boolean } {
    if (this.served) return { week: this.served };
    if (this.seen === null && this.problem === UNPUBLISHED)
      return { week: null, reason: UNPUBLISHED, published: false };
    return { week: null, reason: this.problem ?? LOADING, published: true };
  }

  /** Run `read` against the served index; the index stays open until it settles. */
  async read<T>(read: (week: ServedWeek) => Promise<T>): Promise<T | null> {
    const week = this.served;
    if (!week) return null;
    this.readers.set(week.index, (this.readers.get(week.index) ?? 0) + 1);
    try {
      return await read(week);
    } finally {
      const left = (this.readers.get(week.index) ?? 1) - 1;
      if (left > 0) this.readers.set(week.index, left);
      else {
        this.readers.delete(week.index);
        if (this.retired.delete(week.index)) void this.dispose(week.index);
      }
    }
  }

  /** First load, then poll the pointer (the timer does not keep the process alive). */
  start(): Promise<void> {
    const first = this.reload();
    const pollMs = this.options.pollMs ?? 5_000;
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
    return first;
  }

  private async poll(): Promise<void> {
    if (this.loading) return;
    try {
      const generation = (await this.storage.stat(LATEST_OBJECT))?.generation ?? null;
      if (generation !== this.seen) await this.reload();
    } catch (error) {
      this.options.onLoad?.({ error: `could not check ${LATEST_OBJECT}: ${messageOf(error)}` });
    }
  }

  /** Load the pointed week again; calls during a load coalesce into one more load after it. Never rejects. */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load()
      .catch((error) => {
        this.problem = `the customer lookup could not load the newest week: ${messageOf(error)}`;
        this.options.onLoad?.({ error: this.problem });
      })
      .finally(() => {
        this.loading = null;
        if (this.again && !this.closed) {
          this.again = false;
          void this.reload();
        }
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    const started = performance.now();
    // The generation is taken before reading: a change during the load triggers another one.
    const info = await this.storage.stat(LATEST_OBJECT);
    if (!info) {
      this.seen = null;
      this.problem = UNPUBLISHED;
      return;
    }
    const where = `${this.storage.uri}/${LATEST_OBJECT}`;
    const pointer = parseLatest(await this.storage.readText(LATEST_OBJECT), where);
    const state = await readPublishState(this.storage, pointer.prefix);
    if (state.status !== "complete")
      throw new Error(
        `${pointer.prefix} is not a complete publish (${state.status}${"reason" in state ? `: ${state.reason}` : ""})`,
      );
    const listed = (name: string) => {
      const file = state.manifest.files.find((f) => f.name === name);
      if (!file) throw new Error(`${pointer.prefix}${OUTPUT_FILES.success} lists no ${name}`);
      return file;
    };
    const indexFile = listed(pointer.index);
    const scoresFile = listed(OUTPUT_FILES.scores);
    this.dir ??= this.options.cacheDir ?? (await mkdtemp(join(tmpdir(), "churn-lookup-")));
    const folder = join(this.dir, `${++this.loads}`);
    await mkdir(folder, { recursive: true });
    const indexPath = join(folder, OUTPUT_FILES.lookupIndex);
    const scoresPath = join(folder, OUTPUT_FILES.scores);
    try {
      for (const [file, path] of [
        [indexFile, indexPath],
        [scoresFile, scoresPath],
      ] as const) {
        const problem = await copyListed(this.storage, pointer.prefix, file, path);
        if (problem) throw new Error(problem);
      }
      const index = await CustomerIndex.open(indexPath, scoresPath, `${pointer.prefix}${pointer.index}`);
      if (this.closed) {
        await index.close();
        return;
      }
      this.folders.set(index, folder);
      const previous = this.served;
      this.served = {
        pointer,
        index,
        modelVersion: state.manifest.model_version,
        runId: state.manifest.run_id,
      };
      this.problem = null;
      this.seen = info.generation;
      if (previous) this.retire(previous.index);
      this.options.onLoad?.({
        week: pointer.stem,
        customers: index.header.count,
        seconds: (performance.now() - started) / 1000,
      });
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** An index no longer served: closed now, or by its last reader. */
  private retire(index: CustomerIndex): void {
    if ((this.readers.get(index) ?? 0) > 0) this.retired.add(index);
    else void this.dispose(index);
  }

  private async dispose(index: CustomerIndex): Promise<void> {
    await index.close();
    const folder = this.folders.get(index);
    this.folders.delete(index);
    if (folder) await rm(folder, { recursive: true, force: true });
  }

  /** Stop polling, close the served index and remove the local copies. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.loading;
    if (this.served) await this.dispose(this.served.index);
    this.served = null;
    for (const index of this.retired) await this.dispose(index);
    this.retired.clear();
    if (this.dir && !this.options.cacheDir) await rm(this.dir, { recursive: true, force: true });
  }
}
