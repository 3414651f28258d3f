import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
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
 *   about one bucket per 4 customers: 10 MB at 10M) and answers with two
 *   positional reads: the bucket's few entries, then the line of scores.csv;
 *   the rest stays in the page cache, outside the process's RSS.
 *
 * Layout (little endian): `CHURNLK1`, u32 length of the header JSON, the
 * header JSON (`indexHeaderSchema`), zero padding to a multiple of 8, the
 * bucket table (2^bucket_bits + 1 u32: first entry of each bucket), then
 * `count` entries of ENTRY_BYTES sorted by (h1, h2, offset). An entry:
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
 * does), keeping the header and calling `onLine(line, id, offset)` for each
 * other record: its bytes without the line break, the id's bytes (unquoted)
 * and the record's offset in the file. No string is made per record.
 */
class LineScanner {
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0]. */
  private base = 0;
  header: Buffer | null = null;
  /** Position of the next quote in the current buffer (-2: not searched yet, -1: none). */
  private nextQuote = -2;

  constructor(private readonly onLine: (line: Buffer, id: Buffer, offset: number) => void) {}

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
    const line = buf.subarray(start, end);
    if (this.header === null) {
      this.header = Buffer.from(line);
      return;
    }
    let id: Buffer;
    if (line[0] === QUOTE) {
      // A quoted id (it holds a comma or a quote): unquote it, "" -> ".
      const parts: number[] = [];
      let i = 1;
      for (; i < line.length; i++) {
        if (line[i] === QUOTE) {
          if (line[i + 1] === QUOTE) {
            parts.push(QUOTE);
            i++;
          } else break;
        } else parts.push(line[i]!);
      }
      id = Buffer.from(parts);
    } else {
      const comma = line.indexOf(COMMA);
      id = line.subarray(0, comma < 0 ? line.length : comma);
    }
    this.onLine(line, id, this.base + start);
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
  /** What scores.csv does not hold, by id (the contact list, P(alive)); called once per customer. */
  extras?: (id: string) => IndexExtras | undefined;
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
  const scoresHash = createHash("sha256");
  let scoresSize = 0;
  const extras = options.extras;
  const scanner = new LineScanner((line, id, offset) => {
    hashRange(id, 0, id.length);
    const i = entries.add(hashHi, hashLo, offset, line.length);
    if (extras) {
      const extra = extras(id.toString("utf8"));
      if (extra) {
        if (extra.rank !== undefined) entries.rank![i] = extra.rank;
        if (extra.group !== undefined) entries.group![i] = GROUPS.indexOf(extra.group);
        if (extra.probAlive !== undefined) entries.alive![i] = extra.probAlive;
      }
    }
  });
  for await (const chunk of options.scores) {
    scoresHash.update(chunk);
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
    scores: { name: options.scoresName, size: scoresSize, sha256: scoresHash.digest("hex") },
    columns: csvFields(scanner.header.toString("utf8"), options.source),
    contact_list: options.contactList ?? false,
    lifetime: options.lifetime ?? null,
  };
  const { order, table } = sortByBucket(entries, header.bucket_bits);
  return writeIndex(options.path, header, entries, order, table);
}

/** Counting sort by bucket, then (h1, h2, offset) within each bucket (a few entries: insertion sort). */
function sortByBucket(entries: Entries, bits: number): { order: Uint32Array; table: Uint32Array } {
  const n = entries.count;
  const { h1, h2, offset } = entries;
  const table = new Uint32Array(2 ** bits + 1);
  for (let i = 0; i < n; i++) table[bucketOf(h1[i]!, bits) + 1]!++;
  for (let b = 1; b < table.length; b++) table[b]! += table[b - 1]!;
  const next = table.slice(0, table.length - 1);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[next[bucketOf(h1[i]!, bits)]!++] = i;
  const before = (a: number, b: number) =>
    h1[a]! !== h1[b]! ? h1[a]! < h1[b]! : h2[a]! !== h2[b]! ? h2[a]! < h2[b]! : offset[a]! < offset[b]!;
  for (let b = 0; b + 1 < table.length; b++) {
    for (let i = table[b]! + 1; i < table[b + 1]!; i++) {
      const x = order[i]!;
      let j = i - 1;
      while (j >= table[b]! && before(x, order[j]!)) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = x;
    }
  }
  return { order, table };
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
  entries: Entries,
  order: Uint32Array,
  table: Uint32Array,
): Promise<BuiltIndex> {
  const hash = createHash("sha256");
  let size = 0;
  const out = createWriteStream(path);
  const failed = once(out, "error").then(([error]) => {
    throw error;
  });
  failed.catch(() => {});
  const put = async (bytes: Buffer) => {
    hash.update(bytes);
    size += bytes.length;
    if (!out.write(bytes)) await Promise.race([once(out, "drain"), failed]);
  };
  await put(preamble(header));
  await put(Buffer.from(table.buffer, table.byteOffset, table.byteLength));
  const BATCH = 65_536;
  for (let start = 0; start < order.length; start += BATCH) {
    const end = Math.min(order.length, start + BATCH);
    const chunk = Buffer.alloc((end - start) * ENTRY_BYTES);
    for (let k = start; k < end; k++) {
      const i = order[k]!;
      const at = (k - start) * ENTRY_BYTES;
      chunk.writeUInt32LE(entries.h1[i]!, at);
      chunk.writeUInt32LE(entries.h2[i]!, at + 4);
      chunk.writeDoubleLE(entries.offset[i]!, at + 8);
      chunk.writeUInt32LE(entries.length[i]!, at + 16);
      chunk.writeUInt32LE(entries.rank?.[i] ?? 0, at + 20);
      chunk.writeUInt8(entries.group?.[i] ?? 0, at + 24);
      chunk.writeDoubleLE(entries.alive?.[i] ?? Number.NaN, at + 32);
    }
    await put(chunk);
  }
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
    await this.index.read(entries, 0, entries.length, this.entriesAt + first * ENTRY_BYTES);
    for (let k = 0; k < count; k++) {
      const at = k * ENTRY_BYTES;
      if (entries.readUInt32LE(at) !== h1 || entries.readUInt32LE(at + 4) !== h2) continue;
      const offset = entries.readDoubleLE(at + 8);
      const length = entries.readUInt32LE(at + 16);
      const line = Buffer.alloc(length);
      await this.scores.read(line, 0, length, offset);
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
