import { isAscii, isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { InputError } from "../errors.js";
import { foreignFormatError, gunzip, isGzip } from "./compression.js";

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

/** The encoding announced by a byte order mark, and the BOM's length. */
export function sniffBom(bytes: Uint8Array): { encoding: Encoding; length: number } | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { encoding: "utf-8", length: 3 };
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf-16le", length: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: "utf-16be", length: 2 };
  return null;
}

/** How many leading bytes the text-or-binary heuristics look at. */
const SNIFF_BYTES = 8192;

/**
 * Heuristic for "this is not a text file": NUL bytes in an 8-bit encoding, or a
 * high share of control characters; the phrase that says which, or null. UTF-16
 * text is full of NULs, so callers only ask this for 8-bit encodings.
 */
export function binaryProblem(bytes: Uint8Array): string | null {
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return `a NUL byte at byte ${i}`;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return n > 0 && control / n > 0.1 ? `${control} control characters in its first ${n} bytes` : null;
}

/** True when the bytes do not look like 8-bit text (see binaryProblem). */
export function looksBinary(bytes: Uint8Array): boolean {
  return binaryProblem(bytes) !== null;
}

/**
 * UTF-16 without a byte order mark: mostly-ASCII text has a NUL in every
 * other byte (odd positions for little endian, even for big endian) and
 * almost none in the others. Only a guess for the message; "auto" never
 * decodes UTF-16 without a BOM (ingest.encoding says so explicitly).
 */
export function looksUtf16(bytes: Uint8Array): "utf-16le" | "utf-16be" | null {
  const n = Math.min(bytes.length, SNIFF_BYTES) & ~1;
  if (n < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul >= 0.9 * pairs && evenNul <= 0.1 * pairs) return "utf-16le";
  if (evenNul >= 0.9 * pairs && oddNul <= 0.1 * pairs) return "utf-16be";
  return null;
}

/** The InputError for bytes that are not text in the expected encoding, naming what they look like. */
function notTextError(source: string, bytes: Uint8Array, problem: string): InputError {
  const foreign = foreignFormatError(source, bytes);
  if (foreign) return foreign;
  const utf16 = looksUtf16(bytes);
  if (utf16) {
    return new InputError(
      `${source} looks like ${utf16.toUpperCase()} text without a byte order mark (${problem}): save it as UTF-8, or set ingest.encoding: ${utf16} in churn.yaml`,
    );
  }
  return new InputError(
    `${source} is not a text file (it contains binary bytes: ${problem}): expected a CSV file`,
  );
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
      if (info.encoding === "utf-8" || info.encoding === "windows-1252") {
        const problem = binaryProblem(chunk);
        if (problem) throw notTextError(options.source, chunk, problem);
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
 * A file in another compressed or container format (bzip2, zip, ...) is
 * refused by name, also inside gzip. The source is closed however the reader
 * stops (end, error, or an early return).
 */
export async function* openText(
  input: AsyncIterable<Uint8Array>,
  options: DecodeOptions,
  info: DecodeInfo = { encoding: "utf-8", bom: false, gzip: false },
): AsyncGenerator<string> {
  const iterator = input[Symbol.asyncIterator]();
  try {
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
      bytes = refuseForeign(gunzip(bytes, options.source), `${options.source} (inside its gzip data)`);
    } else {
      const foreign = foreignFormatError(options.source, firstChunk);
      if (foreign) throw foreign;
    }
    yield* decode(bytes, options, info);
  } finally {
    // An early stop (an InputError in the parser, a reader's return) must release the file or socket.
    await iterator.return?.();
  }
}

/** Pass bytes through, refusing a foreign format (bzip2, zip, ...) by its first bytes. */
async function* refuseForeign(input: AsyncIterable<Uint8Array>, source: string): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const chunk of input) {
    if (first && chunk.length > 0) {
      first = false;
      const foreign = foreignFormatError(source, chunk);
      if (foreign) throw foreign;
    }
    yield chunk;
  }
}
