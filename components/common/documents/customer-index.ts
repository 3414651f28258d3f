import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { endianness } from "node:os";
import { z } from "zod";
import { CsvParser } from "../csv/parse.js";
import { InputError } from "../errors.js";
import { parseDocument } from "./parse.js";

/**
 * The customer index of a published week (`output/<stem>/lookup.index`,
 * issue 20 item 4): id -> the byte range of that customer's line in the
 * week's published `scores.csv`, plus what scores.csv does not hold (the
 * contact list's rank and group, P(alive) of the lifetime output). The
 * scores themselves are not copied: the index points into the published
 * file, whose sha256 it records, so the two are one set of the `_SUCCESS`
 * manifest and a reader can refuse a scores.csv that is not the one indexed.
 *
 * Why this shape (10M customers: p99 < 5 ms at 500 req/s, build <= 10 s,
 * server RSS growth < 400 MB; figures in bench/README.md):
 * - building is one byte scan of scores.csv (no string per row unless a
 *   contact list or lifetime output is joined), a counting sort by hash
 *   bucket and one sequential write;
 * - a reader keeps only the bucket table in memory (4 bytes per bucket,
 *   one bucket per 2-4 customers: 16 MB at 10M) and answers with two
 *   positional reads: the bucket's few entries, then the line of scores.csv;
 *   the rest stays in the page cache, outside the process's RSS.
 *
 * Layout (little endian): `CHURNLK1`, u32 length of the header JSON, the
 * header JSON (`indexHeaderSchema`), zero padding to a multiple of 8, the
 * bucket table (2^bucket_bits + 1 u32: first entry of each bucket), then
 * `count` entries of ENTRY_BYTES grouped by bucket (the top bucket_bits of
 * h1), in scores.csv order within a bucket. An entry:
 * h1 u32 @0, h2 u32 @4, offset f64 @8, length u32 @16, rank u32 @20 (0: not
 * on the contact list), group u8 @24 (GROUPS), padding, prob_alive f64 @32
 * (NaN: no lifetime value). The id is hashed as its UTF-8 bytes (idHash);
 * a match is confirmed by the id of the line read, so a hash collision
 * never answers with another customer.
 */

const MAGIC = Buffer.from("CHURNLK1", "latin1");
export const ENTRY_BYTES = 40;
/** Group codes of an entry (0: not on the contact list). */
const GROUPS = [null, "contact", "control"] as const;
export type ContactGroup = Exclude<(typeof GROUPS)[number], null>;

export const indexHeaderSchema = z.strictObject({
  format: z.literal(1),
  week: z.string().min(1),
  count: z.int().min(0),
  bucket_bits: z.int().min(0).max(24),
  entry_bytes: z.literal(ENTRY_BYTES),
  /** The indexed file, as published beside the index. */
  scores: z.strictObject({
    name: z.string().min(1),
    size: z.int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  /** scores.csv's header fields (the reader finds its columns by these names). */
  columns: z.array(z.string()).min(1),
  contact_list: z.boolean(),
  /** The lifetime output P(alive) comes from (`output/lifetime/<stem>/`), or null. */
  lifetime: z.string().nullable(),
});
export type IndexHeader = z.output<typeof indexHeaderSchema>;

/** What scores.csv does not hold, for one customer. */
export interface IndexExtras {
  rank?: number;
  group?: ContactGroup;
  probAlive?: number;
}

let hashHi = 0;
let hashLo = 0;
/** 64-bit hash of bytes [start, end) into hashHi/hashLo (cyrb53's mixing, both 32-bit halves kept). */
function hashRange(bytes: Uint8Array, start: number, end: number): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  hashHi = h1 >>> 0;
  hashLo = h2 >>> 0;
}

/** The index's hash of an id: [h1, h2] of its UTF-8 bytes. */
export function idHash(id: string): [number, number] {
  const bytes = Buffer.from(id, "utf8");
  hashRange(bytes, 0, bytes.length);
  return [hashHi, hashLo];
}

/** Bits of the bucket table: about 4 entries per bucket. */
function bucketBits(count: number): number {
  let bits = 0;
  while (bits < 24 && 2 ** bits * 4 < count) bits++;
  return bits;
}

/** A bucket is the top `bits` bits of h1. */
const bucketOf = (h1: number, bits: number) => (bits === 0 ? 0 : h1 >>> (32 - bits));

/** Growable columns of the entries while scores.csv is scanned. */
class Entries {
  count = 0;
  h1 = new Uint32Array(1024);
  h2 = new Uint32Array(1024);
  offset = new Float64Array(1024);
  length = new Uint32Array(1024);
  rank: Uint32Array | null = null;
  group: Uint8Array | null = null;
  alive: Float64Array | null = null;

  constructor(withExtras: boolean) {
    if (withExtras) {
      this.rank = new Uint32Array(1024);
      this.group = new Uint8Array(1024);
      this.alive = new Float64Array(1024).fill(Number.NaN);
    }
  }

  add(h1: number, h2: number, offset: number, length: number): number {
    if (this.count === this.h1.length) this.grow();
    const i = this.count++;
    this.h1[i] = h1;
    this.h2[i] = h2;
    this.offset[i] = offset;
    this.length[i] = length;
    return i;
  }

  private grow(): void {
    const size = this.h1.length * 2;
    const bigger = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.h1 = bigger(this.h1, (n) => new Uint32Array(n));
    this.h2 = bigger(this.h2, (n) => new Uint32Array(n));
    this.offset = bigger(this.offset, (n) => new Float64Array(n));
    this.length = bigger(this.length, (n) => new Uint32Array(n));
    if (this.rank) this.rank = bigger(this.rank, (n) => new Uint32Array(n));
    if (this.group) this.group = bigger(this.group, (n) => new Uint8Array(n));
    if (this.alive) {
      const old = this.alive.length;
      this.alive = bigger(this.alive, (n) => new Float64Array(n));
      this.alive.fill(Number.NaN, old);
    }
  }
}

/** The fields of one CSV record text (the one CSV rule of components/common/csv). */
export function csvFields(text: string, source: string): string[] {
  let fields: string[] | null = null;
  const parser = new CsvParser(
    { delimiter: ",", source },
    (f) => {
      fields ??= [...f];
    },
    (line, field, reason) => {
      throw new InputError(`${source} line ${line}, field ${field + 1}: ${reason}`);
    },
  );
  parser.push(text);
  parser.end();
  if (!fields) throw new InputError(`${source}: an empty line where a record was expected`);
  return fields;
}

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

/**
 * Scans scores.csv bytes record by record (a quoted line break stays inside
 * its record; CR before LF and empty lines are dropped as the CSV rule
 * does), keeping the header and calling `onLine` for each other record with
 * its range in the buffer (no line break), the range of its id's bytes
 * (unquoted; in a separate buffer when the id was quoted) and its offset in
 * the file. No object or string is made per record: at 10M rows those
 * allocations were most of the build.
 */
class LineScanner {
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0]. */
  private base = 0;
  header: Buffer | null = null;
  /** Position of the next quote in the current buffer (-2: not searched yet, -1: none). */
  private nextQuote = -2;

  constructor(
    private readonly onLine: (
      buf: Buffer,
      start: number,
      end: number,
      id: Buffer,
      idStart: number,
      idEnd: number,
      offset: number,
    ) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const buf = this.carry.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.carry, chunk]);
    let pos = 0;
    this.nextQuote = -2;
    for (;;) {
      const end = this.recordEnd(buf, pos);
      if (end < 0) break;
      this.line(buf, pos, end);
      pos = end + 1;
    }
    this.carry = buf.subarray(pos);
    this.base += pos;
  }

  end(): void {
    if (this.carry.length > 0) this.line(this.carry, 0, this.carry.length);
    this.carry = Buffer.alloc(0);
  }

  /** Index of the LF ending the record starting at pos, or -1 when it is not complete yet. */
  private recordEnd(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) return -1;
    // The next quote is searched once and kept until passed: a file with few quotes is not rescanned per line.
    if (this.nextQuote !== -1 && this.nextQuote < pos) this.nextQuote = buf.indexOf(QUOTE, pos);
    if (this.nextQuote < 0 || this.nextQuote > lf) return lf;
    // Quotes on this line: walk it, a line break inside quotes belongs to the record.
    let inQuote = false;
    for (let i = pos; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === QUOTE) inQuote = !inQuote;
      else if (c === LF && !inQuote) return i;
    }
    return -1;
  }

  private line(buf: Buffer, start: number, lfAt: number): void {
    let end = lfAt;
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return; // empty lines are not records (the CSV rule)
    if (this.header === null) {
      this.header = Buffer.from(buf.subarray(start, end));
      return;
    }
    if (buf[start] === QUOTE) {
      // A quoted id (it holds a comma or a quote): unquote it, "" -> ".
      const parts: number[] = [];
      for (let i = start + 1; i < end; i++) {
        if (buf[i] === QUOTE) {
          if (buf[i + 1] !== QUOTE) break;
          parts.push(QUOTE);
          i++;
        } else parts.push(buf[i]!);
      }
      const id = Buffer.from(parts);
      this.onLine(buf, start, end, id, 0, id.length, this.base + start);
      return;
    }
    const comma = buf.indexOf(COMMA, start);
    this.onLine(buf, start, end, buf, start, comma < 0 || comma > end ? end : comma, this.base + start);
  }
}

/**
 * Extras by id, found by the hash the scan computes anyway: only a row whose
 * 64-bit hash matches one of them has its id bytes compared, so joining a
 * contact list costs one Map probe per row and no string.
 */
class ExtrasByHash {
  private readonly byH1 = new Map<number, Array<{ h2: number; id: Buffer; extras: IndexExtras }>>();
  /**
   * One bit per low 23 bits of h1 (1 MB): most rows are on no contact list,
   * and this test turns them away before the Map probe (which cost about
   * 50 ns a row, half a second at 10M).
   */
  private readonly seen = new Uint8Array(1 << 20);

  constructor(extras: ReadonlyMap<string, IndexExtras>) {
    for (const [id, value] of extras) {
      const bytes = Buffer.from(id, "utf8");
      hashRange(bytes, 0, bytes.length);
      this.seen[(hashHi & 0x7fffff) >>> 3]! |= 1 << (hashHi & 7);
      const list = this.byH1.get(hashHi);
      const item = { h2: hashLo, id: bytes, extras: value };
      if (list) list.push(item);
      else this.byH1.set(hashHi, [item]);
    }
  }

  find(h1: number, h2: number, buf: Buffer, start: number, end: number): IndexExtras | undefined {
    if ((this.seen[(h1 & 0x7fffff) >>> 3]! & (1 << (h1 & 7))) === 0) return undefined;
    const list = this.byH1.get(h1);
    if (!list) return undefined;
    for (const item of list)
      if (
        item.h2 === h2 &&
        item.id.length === end - start &&
        buf.compare(item.id, 0, item.id.length, start, end) === 0
      )
        return item.extras;
    return undefined;
  }
}

export interface BuildOptions {
  /** scores.csv's bytes, exactly as published. */
  scores: AsyncIterable<Uint8Array>;
  /** Its name in the folder and (for messages) where it comes from. */
  scoresName: string;
  source: string;
  week: string;
  /** The index file to write (a local path). */
  path: string;
  /**
   * scores.csv's sha256 when the caller already knows it (publish: the
   * step input's recorded hash, which reading it checks); computed otherwise.
   */
  scoresSha256?: string;
  /** What scores.csv does not hold, by id (the contact list, P(alive)). */
  extras?: ReadonlyMap<string, IndexExtras>;
  contactList?: boolean;
  /** The lifetime output folder the extras' P(alive) come from. */
  lifetime?: string | null;
}

export interface BuiltIndex {
  header: IndexHeader;
  size: number;
  sha256: string;
}

/** Build the index of a scores.csv into `options.path`, streaming (memory: ~30 bytes per customer). */
export async function buildCustomerIndex(options: BuildOptions): Promise<BuiltIndex> {
  const entries = new Entries(options.extras !== undefined);
  const scoresHash = options.scoresSha256 === undefined ? createHash("sha256") : null;
  let scoresSize = 0;
  const extras = options.extras ? new ExtrasByHash(options.extras) : null;
  const scanner = new LineScanner((_buf, start, end, id, idStart, idEnd, offset) => {
    hashRange(id, idStart, idEnd);
    const i = entries.add(hashHi, hashLo, offset, end - start);
    if (extras) {
      const extra = extras.find(hashHi, hashLo, id, idStart, idEnd);
      if (extra) {
        if (extra.rank !== undefined) entries.rank![i] = extra.rank;
        if (extra.group !== undefined) entries.group![i] = GROUPS.indexOf(extra.group);
        if (extra.probAlive !== undefined) entries.alive![i] = extra.probAlive;
      }
    }
  });
  for await (const chunk of options.scores) {
    scoresHash?.update(chunk);
    scoresSize += chunk.length;
    scanner.push(chunk);
  }
  scanner.end();
  if (scanner.header === null) throw new InputError(`${options.source} is empty: it has no header`);
  const header: IndexHeader = {
    format: 1,
    week: options.week,
    count: entries.count,
    bucket_bits: bucketBits(entries.count),
    entry_bytes: ENTRY_BYTES,
    scores: {
      name: options.scoresName,
      size: scoresSize,
      sha256: options.scoresSha256 ?? scoresHash!.digest("hex"),
    },
    columns: csvFields(scanner.header.toString("utf8"), options.source),
    contact_list: options.contactList ?? false,
    lifetime: options.lifetime ?? null,
  };
  const { table, bytes } = layOut(entries, header.bucket_bits);
  return writeIndex(options.path, header, table, bytes);
}

/**
 * The entries in their file layout, by a stable two-pass radix sort on the
 * bucket: first into 256 ranges by the top 8 bits of h1 (256 sequential
 * write streams), then each range, copied aside (a few MB, in cache),
 * scattered back by its remaining bucket bits. Within a bucket entries stay
 * in scores.csv order, so the same file always gives the same bytes, and a
 * reader scans the bucket's few entries. One random scatter over the whole
 * 400 MB of a 10M-entry index was 4.8 s of CPU (a cache and TLB miss per
 * entry); gathering fields through a sorted index array was worse still.
 */
function layOut(entries: Entries, bits: number): { table: Uint32Array; bytes: Uint8Array } {
  // The typed views write the platform's byte order; the format is little endian.
  if (endianness() !== "LE") throw new Error("the customer index is written on little-endian machines only");
  const n = entries.count;
  const { h1, h2, offset, length, rank, group, alive } = entries;
  const table = new Uint32Array(2 ** bits + 1);
  for (let i = 0; i < n; i++) table[bucketOf(h1[i]!, bits) + 1]!++;
  for (let b = 1; b < table.length; b++) table[b]! += table[b - 1]!;
  const W32 = ENTRY_BYTES / 4;
  const W64 = ENTRY_BYTES / 8;
  const buffer = new ArrayBuffer(n * ENTRY_BYTES);
  const u32 = new Uint32Array(buffer);
  const f64 = new Float64Array(buffer);
  const u8 = new Uint8Array(buffer);
  const coarse = Math.min(bits, 8);
  const shift = bits - coarse;
  // Pass 1: each entry whole into its coarse range, in file order.
  const next = new Uint32Array(2 ** coarse);
  for (let c = 0; c < next.length; c++) next[c] = table[c << shift]!;
  for (let i = 0; i < n; i++) {
    const e = next[bucketOf(h1[i]!, coarse)]!++;
    u32[e * W32] = h1[i]!;
    u32[e * W32 + 1] = h2[i]!;
    f64[e * W64 + 1] = offset[i]!;
    u32[e * W32 + 4] = length[i]!;
    u32[e * W32 + 5] = rank ? rank[i]! : 0;
    u8[e * ENTRY_BYTES + 24] = group ? group[i]! : 0;
    f64[e * W64 + 4] = alive ? alive[i]! : Number.NaN;
  }
  if (shift === 0) return { table, bytes: u8 };
  // Pass 2: each coarse range scattered back by its fine buckets (stable).
  let aside = new ArrayBuffer(0);
  const fine = new Uint32Array(2 ** shift);
  for (let c = 0; c < 2 ** coarse; c++) {
    const lo = table[c << shift]!;
    const hi = table[(c + 1) << shift]!;
    if (hi - lo < 2) continue;
    if (aside.byteLength < (hi - lo) * ENTRY_BYTES) aside = new ArrayBuffer((hi - lo) * ENTRY_BYTES * 2);
    const a8 = new Uint8Array(aside);
    const a32 = new Uint32Array(aside);
    const a64 = new Float64Array(aside);
    a8.set(u8.subarray(lo * ENTRY_BYTES, hi * ENTRY_BYTES));
    for (let f = 0; f < fine.length; f++) fine[f] = table[(c << shift) + f]!;
    const mask = 2 ** shift - 1;
    for (let k = 0; k < hi - lo; k++) {
      const e = fine[bucketOf(a32[k * W32]!, bits) & mask]!++;
      u32[e * W32] = a32[k * W32]!;
      u32[e * W32 + 1] = a32[k * W32 + 1]!;
      f64[e * W64 + 1] = a64[k * W64 + 1]!;
      u32[e * W32 + 4] = a32[k * W32 + 4]!;
      u32[e * W32 + 5] = a32[k * W32 + 5]!;
      u32[e * W32 + 6] = a32[k * W32 + 6]!;
      u32[e * W32 + 7] = a32[k * W32 + 7]!;
      f64[e * W64 + 4] = a64[k * W64 + 4]!;
    }
  }
  return { table, bytes: u8 };
}

/** Bytes before the bucket table: magic, header length, header JSON, padding to 8. */
function preamble(header: IndexHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const size = Math.ceil((12 + json.length) / 8) * 8;
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  return out;
}

async function writeIndex(
  path: string,
  header: IndexHeader,
  table: Uint32Array,
  entries: Uint8Array,
): Promise<BuiltIndex> {
  const hash = createHash("sha256");
  let size = 0;
  const out = createWriteStream(path);
  const failed = once(out, "error").then(([error]) => {
    throw error;
  });
  failed.catch(() => {});
  const put = async (bytes: Uint8Array) => {
    hash.update(bytes);
    size += bytes.length;
    if (!out.write(bytes)) await Promise.race([once(out, "drain"), failed]);
  };
  await put(preamble(header));
  await put(new Uint8Array(table.buffer, table.byteOffset, table.byteLength));
  const SLICE = 8 << 20;
  for (let at = 0; at < entries.length; at += SLICE) await put(entries.subarray(at, at + SLICE));
  out.end();
  await Promise.race([once(out, "finish"), failed]);
  return { header, size, sha256: hash.digest("hex") };
}

/** One customer as the index answers: their line of scores.csv with the joined extras. */
export interface IndexedCustomer {
  /** scores.csv's fields of the customer's line, by its header's column names. */
  fields: Record<string, string>;
  rank: number | null;
  group: ContactGroup | null;
  probAlive: number | null;
}

/**
 * A customer index opened for lookups: the bucket table in memory, entries
 * and scores.csv read with positional reads. The caller gives the local
 * copies of both files; `open` refuses a scores.csv whose size is not the
 * indexed one (its sha256 was checked when it was copied).
 */
export class CustomerIndex {
  private constructor(
    readonly header: IndexHeader,
    private readonly table: Uint32Array,
    private readonly entriesAt: number,
    private readonly index: FileHandle,
    private readonly scores: FileHandle,
    private readonly where: string,
  ) {}

  static async open(indexPath: string, scoresPath: string, where = indexPath): Promise<CustomerIndex> {
    const index = await open(indexPath, "r");
    let scores: FileHandle | null = null;
    try {
      const head = Buffer.alloc(12);
      await index.read(head, 0, 12, 0);
      if (!head.subarray(0, 8).equals(MAGIC)) throw new InputError(`${where} is not a customer index`);
      const length = head.readUInt32LE(8);
      const json = Buffer.alloc(length);
      await index.read(json, 0, length, 12);
      const header = parseDocument(indexHeaderSchema, json.toString("utf8"), where);
      const tableAt = Math.ceil((12 + length) / 8) * 8;
      const table = new Uint32Array(2 ** header.bucket_bits + 1);
      const tableBytes = Buffer.from(table.buffer);
      await index.read(tableBytes, 0, tableBytes.length, tableAt);
      const entriesAt = tableAt + tableBytes.length;
      const expected = entriesAt + header.count * ENTRY_BYTES;
      const { size } = await index.stat();
      if (size !== expected || table[table.length - 1] !== header.count)
        throw new InputError(`${where} is truncated or damaged (${size} bytes, expected ${expected})`);
      scores = await open(scoresPath, "r");
      const scoresSize = (await scores.stat()).size;
      if (scoresSize !== header.scores.size)
        throw new InputError(
          `${where} indexes a ${header.scores.name} of ${header.scores.size} bytes, the one beside it has ${scoresSize}`,
        );
      return new CustomerIndex(header, table, entriesAt, index, scores, where);
    } catch (error) {
      await scores?.close();
      await index.close();
      throw error;
    }
  }

  /** The customer with this id, or null when the week has none. */
  async find(id: string): Promise<IndexedCustomer | null> {
    const [h1, h2] = idHash(id);
    const bucket = bucketOf(h1, this.header.bucket_bits);
    const first = this.table[bucket]!;
    const count = this.table[bucket + 1]! - first;
    if (count === 0) return null;
    const entries = Buffer.alloc(count * ENTRY_BYTES);
    // Synchronous positional reads: both files were just copied, so the reads hit the page cache
    // (microseconds), and a trip through libuv's thread pool per read was what set the p99 on a
    // busy machine (each one waits for another thread to be scheduled).
    readSync(this.index.fd, entries, 0, entries.length, this.entriesAt + first * ENTRY_BYTES);
    for (let k = 0; k < count; k++) {
      const at = k * ENTRY_BYTES;
      if (entries.readUInt32LE(at) !== h1 || entries.readUInt32LE(at + 4) !== h2) continue;
      const offset = entries.readDoubleLE(at + 8);
      const length = entries.readUInt32LE(at + 16);
      const line = Buffer.alloc(length);
      readSync(this.scores.fd, line, 0, length, offset);
      const values = csvFields(line.toString("utf8"), this.header.scores.name);
      if (values[0] !== id) continue; // a hash collision: another customer
      const fields: Record<string, string> = {};
      this.header.columns.forEach((name, i) => {
        fields[name] = values[i] ?? "";
      });
      const rank = entries.readUInt32LE(at + 20);
      const group = GROUPS[entries.readUInt8(at + 24)] ?? null;
      const alive = entries.readDoubleLE(at + 32);
      return {
        fields,
        rank: rank === 0 ? null : rank,
        group,
        probAlive: Number.isNaN(alive) ? null : alive,
      };
    }
    return null;
  }

  /** Close both files (lookups running meanwhile fail; the caller swaps first). */
  async close(): Promise<void> {
    await Promise.allSettled([this.index.close(), this.scores.close()]);
  }

  toString(): string {
    return this.where;
  }
}
