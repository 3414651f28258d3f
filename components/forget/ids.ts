import { createHash, createHmac, randomBytes } from "node:crypto";
import { UsageError } from "../common/errors.js";

/**
 * The set of customer ids to forget, and the two ways objects are checked
 * against it: exact field matches (an id column) and mentions inside free text
 * (JSON strings, logs, a rejected row's raw text).
 *
 * Text is handled as latin1 so every byte maps to one character and rewritten
 * objects keep the bytes of what they keep; an id is compared in the same form
 * (its UTF-8 bytes read as latin1), so non-ASCII ids match UTF-8 files.
 */
const WORD = /[A-Za-z0-9_]/;
const TOKEN = /[A-Za-z0-9_]+/g;

function isWord(c: string | undefined): boolean {
  return c !== undefined && WORD.test(c);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** UTF-8 bytes of a string, read back as latin1 (one character per byte). */
export function asLatin1(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

export class ForgetIds {
  /** Ids as given (trimmed), in latin1 form for matching. */
  private readonly set: Set<string>;
  /** Ids made of word characters only: found by tokenising the text once. */
  private readonly wordIds: Set<string>;
  /** Other ids (with spaces, dashes...): found with indexOf, one by one. */
  private readonly otherIds: string[];

  constructor(ids: Iterable<string>) {
    const clean = new Set<string>();
    for (const raw of ids) {
      const id = raw.trim();
      if (id !== "") clean.add(asLatin1(id));
    }
    if (clean.size === 0)
      throw new UsageError("no customer id to forget: pass --customer-id ID or --ids-file FILE");
    this.set = clean;
    this.wordIds = new Set([...clean].filter((id) => /^[A-Za-z0-9_]+$/.test(id)));
    this.otherIds = [...clean].filter((id) => !this.wordIds.has(id));
  }

  get size(): number {
    return this.set.size;
  }

  /** The ids in latin1 form (for hashing into the record). */
  values(): string[] {
    return [...this.set];
  }

  /** True when a field value (latin1, surrounding blanks ignored) is one of the ids. */
  has(value: string): boolean {
    return this.set.has(value.trim());
  }

  /** Like `has`, for a value decoded from UTF-8 (an Arrow string, a parsed JSON string). */
  hasText(value: string): boolean {
    return this.has(/^[^\u0080-\uffff]*$/.test(value) ? value : asLatin1(value));
  }

  /**
   * Where ids are mentioned in free text, as [start, end) ranges. A mention is
   * the id not glued to a word character on either side, and not part of a
   * decimal number (`0.822465293` does not mention id `822465293`).
   */
  mentions(text: string): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    const bounded = (start: number, end: number) => {
      const before = text[start - 1];
      const after = text[end];
      if (isWord(before) || isWord(after)) return false;
      if (before === "." && isDigit(text[start - 2])) return false;
      if (after === "." && isDigit(text[end + 1])) return false;
      return true;
    };
    if (this.wordIds.size > 0) {
      TOKEN.lastIndex = 0;
      for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
        const end = m.index + m[0].length;
        if (this.wordIds.has(m[0]) && bounded(m.index, end)) found.push([m.index, end]);
      }
    }
    for (const id of this.otherIds) {
      for (let i = text.indexOf(id); i >= 0; i = text.indexOf(id, i + 1)) {
        if (bounded(i, i + id.length)) found.push([i, i + id.length]);
      }
    }
    return found.sort((a, b) => a[0] - b[0]);
  }

  /** True when free text mentions any id. */
  mentioned(text: string): boolean {
    return this.mentions(text).length > 0;
  }

  /** Replace every mention with `replacement`; returns the text and how many were replaced. */
  redact(text: string, replacement = "[forgotten]"): { text: string; count: number } {
    const ranges = this.mentions(text);
    if (ranges.length === 0) return { text, count: 0 };
    let out = "";
    let at = 0;
    for (const [start, end] of ranges) {
      if (start < at) continue;
      out += text.slice(at, start) + replacement;
      at = end;
    }
    return { text: out + text.slice(at), count: ranges.length };
  }
}

/** How the forget record stores ids: never in clear. */
export interface IdHashing {
  /**
   * `hmac-sha256`: keyed with a secret the operator keeps (CHURN_FORGET_KEY),
   * not in the record. `sha256-salted`: sha256(salt + NUL + id) with a random
   * per-record salt that is stored in the record.
   */
  scheme: "hmac-sha256" | "sha256-salted";
  salt?: string;
}

/**
 * The record's id hasher: with a key, HMAC-SHA256 (the key is never stored);
 * without, sha256(salt, NUL, id) with a fresh random salt kept in the record,
 * so whoever holds an id can check the record, and the record alone does not
 * list ids (an id space small enough to enumerate is still guessable: give a key).
 */
export function idHasher(key?: string): { hashing: IdHashing; hash: (id: string) => string } {
  if (key) {
    return {
      hashing: { scheme: "hmac-sha256" },
      hash: (id) => createHmac("sha256", key).update(Buffer.from(id, "latin1")).digest("hex"),
    };
  }
  const salt = randomBytes(16).toString("hex");
  return {
    hashing: { scheme: "sha256-salted", salt },
    hash: (id) =>
      createHash("sha256").update(salt).update("\0").update(Buffer.from(id, "latin1")).digest("hex"),
  };
}
