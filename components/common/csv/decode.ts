import { isAscii, isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors.js";

/**
 * Byte-level reading of a CSV source: gzip detection, encoding detection and
 * streaming decoding to string chunks. Nothing here holds more than one chunk
 * (plus a few bytes of a split multi-byte character).
 */
export type Encoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";

export interface DecodeOptions {
  /** "auto" sniffs a BOM, then UTF-8, falling back to Windows-1252 when the bytes are not UTF-8. */
  encoding?: Encoding | "auto";
  /** Name of the source, for error messages. */
  source: string;
}

/** What the decoder found out; filled in as soon as the first bytes are seen. */
export interface DecodeInfo {
  encoding: Encoding;
  bom: boolean;
  gzip: boolean;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** True when the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** The encoding announced by a byte order mark, and the BOM's length. */
export function sniffBom(bytes: Uint8Array): { encoding: Encoding; length: number } | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { encoding: "utf-8", length: 3 };
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf-16le", length: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: "utf-16be", length: 2 };
  return null;
}

/**
 * Heuristic for "this is not a text file": NUL bytes in an 8-bit encoding, or a
 * high share of control characters. UTF-16 text is full of NULs, so callers only
 * ask this for 8-bit encodings.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return n > 0 && control / n > 0.1;
}

/**
 * True when the bytes hold well-formed UTF-8 multi-byte sequences. Windows-1252
 * text almost never does (it would need pairs like "Ã©"), so a chunk that has
 * them and is still not valid UTF-8 is a file with mixed encodings.
 */
export function hasUtf8Sequences(bytes: Uint8Array): boolean {
  for (let i = 0; i + 1 < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0xc2 || b > 0xf4) continue;
    const need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
    let ok = i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    if (ok) return true;
  }
  return false;
}

/** Length of the prefix of `bytes` that does not end inside a UTF-8 multi-byte sequence. */
export function utf8CompleteLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back]!;
    if (b < 0x80) return n; // ASCII: nothing pending
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? n - back : n;
    }
  }
  return n;
}

/** Gunzip a byte stream, turning zlib's errors into one clear InputError naming the file. */
export async function* gunzip(input: AsyncIterable<Uint8Array>, source: string): AsyncGenerator<Uint8Array> {
  const z = createGunzip();
  let failure: Error | null = null;
  z.on("error", (error) => {
    failure = error;
  });
  const feed = (async () => {
    try {
      for await (const chunk of input) {
        if (failure) break;
        if (!z.write(chunk)) await new Promise<void>((resolve) => z.once("drain", resolve));
      }
      z.end();
    } catch (error) {
      z.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of z) yield chunk as Uint8Array;
  } catch (error) {
    failure ??= error as Error;
  }
  await feed;
  if (failure) {
    const reason = (failure as NodeJS.ErrnoException).code === "Z_BUF_ERROR" ? "truncated" : "corrupt";
    throw new InputError(
      `${source}: the gzip data is ${reason} (${(failure as Error).message}); upload the complete file again`,
    );
  }
}

/**
 * Decode bytes to string chunks. With encoding "auto": a BOM decides; without
 * one the text is read as UTF-8 (fatal), and if invalid UTF-8 turns up while
 * everything before was plain ASCII, the decoder switches to Windows-1252 for
 * the rest (ASCII reads the same in both, so nothing already emitted changes).
 * Invalid UTF-8 after non-ASCII UTF-8 means a mixed file: an InputError.
 */
export async function* decode(
  input: AsyncIterable<Uint8Array>,
  options: DecodeOptions,
  info: DecodeInfo = { encoding: "utf-8", bom: false, gzip: false },
): AsyncGenerator<string> {
  const requested = options.encoding ?? "auto";
  let decoder: TextDecoder | null = null;
  let first = true;
  let allAscii = true;
  let offset = 0;
  for await (const raw of input) {
    let chunk = raw;
    if (chunk.length === 0) continue;
    if (first) {
      first = false;
      const bom = sniffBom(chunk);
      if (bom && (requested === "auto" || requested === bom.encoding)) {
        info.encoding = bom.encoding;
        info.bom = true;
        chunk = chunk.subarray(bom.length);
        offset += bom.length;
      } else {
        info.encoding = requested === "auto" ? "utf-8" : requested;
      }
      if ((info.encoding === "utf-8" || info.encoding === "windows-1252") && looksBinary(chunk)) {
        throw new InputError(
          `${options.source} is not a text file (it contains binary bytes): expected a CSV file`,
        );
      }
      // ignoreBOM: we strip it ourselves, so a second BOM-looking sequence is data.
      decoder = new TextDecoder(info.encoding, {
        fatal: info.encoding === "utf-8",
        ignoreBOM: true,
      });
    }
    if (info.encoding === "utf-8" && requested === "auto" && allAscii && !isAscii(chunk)) {
      // First non-ASCII bytes decide between UTF-8 and Windows-1252; a multi-byte
      // character split at the chunk end is left out of the check.
      allAscii = false;
      if (!isUtf8(chunk.subarray(0, utf8CompleteLength(chunk)))) {
        if (hasUtf8Sequences(chunk)) {
          throw new InputError(
            `${options.source} mixes encodings: it has both UTF-8 characters and bytes that are not UTF-8 (near byte ${offset}); save it in one encoding`,
          );
        }
        info.encoding = "windows-1252";
        decoder = new TextDecoder("windows-1252");
      }
    }
    if (info.encoding === "utf-8" && requested === "auto") {
      let text: string;
      try {
        text = decoder!.decode(chunk, { stream: true });
      } catch {
        throw new InputError(
          `${options.source} mixes encodings: invalid UTF-8 near byte ${offset} after valid non-ASCII UTF-8 text; save it in one encoding`,
        );
      }
      if (text) yield text;
    } else {
      let text: string;
      try {
        text = decoder!.decode(chunk, { stream: true });
      } catch {
        throw new InputError(`${options.source} is not valid ${info.encoding} near byte ${offset}`);
      }
      if (text) yield text;
    }
    offset += chunk.length;
  }
  if (decoder) {
    let tail: string;
    try {
      tail = decoder.decode();
    } catch {
      throw new InputError(
        `${options.source} ends in the middle of a ${info.encoding} character (truncated?)`,
      );
    }
    if (tail) yield tail;
  }
}

/**
 * Open a byte source for CSV parsing: sniff gzip by its magic number (so both
 * `x.csv.gz` and a mis-named gzip file work), then decode to text chunks.
 */
export async function* openText(
  input: AsyncIterable<Uint8Array>,
  options: DecodeOptions,
  info: DecodeInfo = { encoding: "utf-8", bom: false, gzip: false },
): AsyncGenerator<string> {
  const iterator = input[Symbol.asyncIterator]();
  let head = await iterator.next();
  while (!head.done && head.value.length === 0) head = await iterator.next();
  if (head.done) return;
  const firstChunk = head.value;
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield firstChunk;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  let bytes: AsyncIterable<Uint8Array> = rest();
  if (isGzip(firstChunk)) {
    info.gzip = true;
    bytes = gunzip(bytes, options.source);
  }
  yield* decode(bytes, options, info);
}
