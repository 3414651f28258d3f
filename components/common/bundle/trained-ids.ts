import { createHmac, randomBytes } from "node:crypto";
import { z } from "zod";
import { parseDocument } from "../documents/parse.js";
import { InputError } from "../errors.js";
import { sha256Hex } from "../hash.js";
import { ID_KEY_OBJECT, modelSideObject, TRAINED_IDS_FILE, writtenBy } from "../layout/index.js";
import type { Storage } from "../storage/index.js";

/**
 * Which customers a model trained on (issue 17 item 3), so the gate never
 * compares a champion on rows it learnt from. Ids are stored only as keyed
 * hashes: HMAC-SHA256 with the bucket's own key (`models/_id_key`, created
 * once, so the same ids give the same hashes run after run and versions stay
 * reproducible), truncated to 64 bits. With a million customers the chance
 * that any two collide is ~3e-8, and a collision can only make a fresh row
 * look seen (it is left out of the comparison), never the other way round.
 *
 * The file is the sorted hashes as one run of hex digits in a small JSON
 * document (16 bytes a customer; hex rather than base64 because base64's
 * `/` and `+` would split it into short words that `churn forget`'s scan for
 * ids in model objects could mistake for an id), written beside the bundle
 * before bundle.json, and rewritten by `churn forget` without the forgotten ids.
 */
export const TRAINED_IDS_FORMAT = "churn-trained-ids/1";
const HASH_BYTES = 8;
const KEY_BYTES = 32;

export const trainedIdsDocumentSchema = z.strictObject({
  format: z.literal(TRAINED_IDS_FORMAT),
  /** sha256 of the key that made the hashes (16 hex digits): a set made with another key cannot be used. */
  key_fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  hash_bytes: z.literal(HASH_BYTES),
  count: z.int().min(0),
  /** The sorted hashes, 2 x hash_bytes hex digits each, concatenated. */
  hashes: z.string().regex(/^[0-9a-f]*$/),
});
export type TrainedIdsDocument = z.output<typeof trainedIdsDocumentSchema>;

/** Hashes customer ids with the bucket's key. */
export class IdHasher {
  readonly fingerprint: string;
  constructor(private readonly key: Buffer) {
    this.fingerprint = sha256Hex(key).slice(0, 16);
  }
  hash(id: string): bigint {
    return createHmac("sha256", this.key).update(id, "utf8").digest().readBigUInt64BE(0);
  }
}

/** A sorted set of id hashes. */
export class TrainedIdSet {
  private constructor(
    readonly keyFingerprint: string,
    private readonly sorted: BigUint64Array,
  ) {}

  static of(keyFingerprint: string, hashes: Iterable<bigint>): TrainedIdSet {
    const all = BigUint64Array.from(new Set(hashes)).sort();
    return new TrainedIdSet(keyFingerprint, all);
  }

  /** The hashes of `ids` (duplicates counted once). */
  static fromIds(hasher: IdHasher, ids: Iterable<string>): TrainedIdSet {
    const hashes: bigint[] = [];
    for (const id of ids) hashes.push(hasher.hash(id));
    return TrainedIdSet.of(hasher.fingerprint, hashes);
  }

  get size(): number {
    return this.sorted.length;
  }

  has(hash: bigint): boolean {
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.sorted[mid]!;
      if (v === hash) return true;
      if (v < hash) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** This set without the given hashes. */
  without(hashes: Iterable<bigint>): TrainedIdSet {
    const drop = new Set(hashes);
    return new TrainedIdSet(
      this.keyFingerprint,
      this.sorted.filter((h) => !drop.has(h)),
    );
  }

  toDocument(): TrainedIdsDocument {
    const bytes = Buffer.alloc(this.sorted.length * HASH_BYTES);
    this.sorted.forEach((h, i) => {
      bytes.writeBigUInt64BE(h, i * HASH_BYTES);
    });
    return {
      format: TRAINED_IDS_FORMAT,
      key_fingerprint: this.keyFingerprint,
      hash_bytes: HASH_BYTES,
      count: this.sorted.length,
      hashes: bytes.toString("hex"),
    };
  }

  serialize(): string {
    return `${JSON.stringify(this.toDocument())}\n`;
  }

  /** Parses and checks a stored set (`where` names it in errors). */
  static parse(text: string, where: string): TrainedIdSet {
    const doc = parseDocument(trainedIdsDocumentSchema, text, where);
    const bytes = Buffer.from(doc.hashes, "hex");
    if (doc.hashes.length !== doc.count * HASH_BYTES * 2) {
      throw new InputError(
        `${where}: holds ${doc.hashes.length / 2} bytes of hashes, not ${doc.count} x ${HASH_BYTES} as it says`,
      );
    }
    const sorted = new BigUint64Array(doc.count);
    for (let i = 0; i < doc.count; i++) sorted[i] = bytes.readBigUInt64BE(i * HASH_BYTES);
    for (let i = 1; i < doc.count; i++) {
      if (sorted[i - 1]! >= sorted[i]!) throw new InputError(`${where}: hashes are not sorted and distinct`);
    }
    return new TrainedIdSet(doc.key_fingerprint, sorted);
  }
}

/**
 * The bucket's id-hash key, created on first use (create-if-absent: two runs
 * starting at once end up with the same key). Without `create`, null when
 * there is none yet.
 */
export async function readIdKey(storage: Storage, options: { create: boolean }): Promise<IdHasher | null> {
  if (!(await storage.stat(ID_KEY_OBJECT))) {
    if (!options.create) return null;
    await storage.createIfAbsent(ID_KEY_OBJECT, `${randomBytes(KEY_BYTES).toString("hex")}\n`, {
      metadata: writtenBy("train"),
    });
  }
  const text = (await storage.readText(ID_KEY_OBJECT)).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new InputError(
      `${ID_KEY_OBJECT} is not a ${KEY_BYTES}-byte hex key (delete it to start a new one)`,
    );
  }
  return new IdHasher(Buffer.from(text, "hex"));
}

/** The object of a model's trained-id set. */
export function trainedIdsObject(version: string): string {
  return modelSideObject(version, TRAINED_IDS_FILE);
}

/** A model's trained-id set, or null for a model stored before sets were recorded. */
export async function readTrainedIds(storage: Storage, version: string): Promise<TrainedIdSet | null> {
  const name = trainedIdsObject(version);
  if (!(await storage.stat(name))) return null;
  return TrainedIdSet.parse(await storage.readText(name), name);
}
