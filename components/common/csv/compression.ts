import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors.js";

/**
 * Compressed and container formats at the byte level: gzip (RFC 1952), the
 * one compression the data contract accepts, and the signatures of the
 * formats people upload by mistake (bzip2, xz, zstd, zip/xlsx, ...), so a
 * file is refused with its format's name instead of "binary bytes". Every
 * sentence about a broken gzip stream is written here, for the CSV readers
 * and the storage drivers alike.
 */

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
/** RFC 1952: CM = 8 is deflate, the only method defined. */
const GZIP_DEFLATE = 8;
/** RFC 1952: FLG bits 5 to 7 are reserved and must be zero. */
const GZIP_RESERVED_FLAGS = 0xe0;

/** True when the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/**
 * What is wrong with the first gzip header, checked by us so the message can
 * name the exact byte (zlib only says "unknown compression method"); null when
 * the bytes seen are a plausible header start. Only the fixed fields are
 * checked: the rest is zlib's job.
 */
export function gzipHeaderProblem(bytes: Uint8Array): { at: number; problem: string } | null {
  if (bytes.length >= 3 && bytes[2] !== GZIP_DEFLATE) {
    return { at: 2, problem: `unknown compression method ${bytes[2]}, expected 8 (deflate)` };
  }
  if (bytes.length >= 4 && (bytes[3]! & GZIP_RESERVED_FLAGS) !== 0) {
    return { at: 3, problem: "reserved header flag bits are set" };
  }
  return null;
}

/** Where a gzip stream failed: what the decompressor had consumed cleanly, what was fed, and whether the input had ended. */
export interface GzipPosition {
  /** Compressed bytes zlib consumed without error (a lower bound of the failure's offset). */
  decoded: number;
  /** Compressed bytes fed so far. */
  fed: number;
  /** True when the whole input had been fed (a truncation is at its end). */
  ended: boolean;
  /** True when the input started with the gzip signature (else a header error means "not gzip at all"). */
  magic: boolean;
}

/** The InputError for a gzip header we refuse before zlib sees it. */
export function gzipHeaderError(source: string, header: { at: number; problem: string }): InputError {
  return new InputError(
    `${source}: not a valid gzip file (${header.problem}) at byte ${header.at}: it starts with the gzip signature but holds no gzip data; upload the original file again`,
  );
}

/**
 * The one sentence for a zlib failure while gunzipping `source`. zlib reports
 * "unexpected end of file" for a truncated stream, "incorrect header check"
 * for bytes that are no gzip header (at the start: not gzip at all; after a
 * complete member: trailing garbage), checksum and length mismatches for damaged
 * data. zlib gives no offset: `decoded` is where the last clean block ended.
 */
export function gzipError(source: string, error: unknown, at: GzipPosition): InputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (error as Error | undefined)?.message ?? String(error);
  if (code === "Z_BUF_ERROR") {
    return new InputError(
      `${source}: the gzip data is truncated (${reason}) at byte ${at.fed}: the file ends inside its compressed data; upload the complete file again`,
    );
  }
  if (reason === "incorrect header check" && at.magic) {
    return new InputError(
      `${source}: the gzip data is corrupt (${reason}): it is followed by bytes that are not another gzip member (somewhere after byte ${at.decoded} of ${at.fed}); upload the original file again`,
    );
  }
  if (reason === "incorrect header check") {
    return new InputError(
      `${source}: not a valid gzip file (${reason}) at byte 0: the name says gzip but the data is not; upload it as .csv, or gzip it`,
    );
  }
  const what = /check/.test(reason) ? "checksum or length mismatch" : "damaged compressed data";
  return new InputError(
    `${source}: the gzip data is corrupt (${reason}: ${what}) somewhere after byte ${at.decoded} of ${at.fed}; upload the original file again`,
  );
}

/**
 * Gunzip a byte stream (every member of a multi-member file), turning zlib's
 * errors into one InputError naming the file. Errors of the input itself (a
 * read failure, a hash check) come out unchanged. Built on stream.pipeline,
 * which destroys every stage on any error, so no path can leave a promise
 * pending: the old hand-written feed loop waited for a "drain" that a failed
 * zlib stream never emits, and the process died of an unsettled await (exit 13).
 */
export async function* gunzip(input: AsyncIterable<Uint8Array>, source: string): AsyncGenerator<Uint8Array> {
  const at: GzipPosition = { decoded: 0, fed: 0, ended: false, magic: false };
  let inputFailure: { error: unknown } | null = null;
  async function* counted(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of input) {
        if (at.fed === 0 && chunk.length > 0) {
          at.magic = isGzip(chunk);
          const header = at.magic ? gzipHeaderProblem(chunk) : null;
          if (header) throw gzipHeaderError(source, header);
        }
        at.fed += chunk.length;
        yield chunk;
      }
      at.ended = true;
    } catch (error) {
      inputFailure = { error };
      throw error;
    }
  }
  const z = createGunzip();
  // The callback is required; failures reach us through the iterator below.
  pipeline(Readable.from(counted(), { objectMode: false }), z, () => {});
  try {
    for await (const chunk of z) yield chunk as Uint8Array;
  } catch (error) {
    const failed = inputFailure as { error: unknown } | null;
    if (failed) throw failed.error;
    at.decoded = z.bytesWritten;
    throw gzipError(source, error, at);
  }
}

/**
 * Signatures of formats that are not CSV text and that we do not decompress,
 * each with what to do instead. Checked on the first bytes of a file.
 */
const FOREIGN_FORMATS: ReadonlyArray<{ magic: readonly number[]; name: string; hint: string }> = [
  { magic: [0x42, 0x5a, 0x68], name: "a bzip2 file", hint: "decompress it, or recompress it with gzip" },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    name: "an xz file",
    hint: "decompress it, or recompress it with gzip",
  },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], name: "a zstd file", hint: "decompress it, or recompress it with gzip" },
  {
    magic: [0x50, 0x4b, 0x03, 0x04],
    name: "a zip archive (an .xlsx workbook is one)",
    hint: "extract the CSV, or export the sheet as CSV",
  },
  {
    magic: [0x50, 0x4b, 0x05, 0x06],
    name: "an empty zip archive",
    hint: "extract the CSV, or export the sheet as CSV",
  },
  {
    magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c],
    name: "a 7-Zip archive",
    hint: "extract the CSV and upload it",
  },
  {
    magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    name: "an Excel 97-2003 workbook (.xls)",
    hint: "export the sheet as CSV",
  },
  { magic: [0x50, 0x41, 0x52, 0x31], name: "a Parquet file", hint: "export it as CSV" },
];

/**
 * True when the bytes start with the signature. bzip2's is "BZh" and a block
 * size digit: text starting "BZh" is rare but possible, so the digit is
 * required too.
 */
function matches(bytes: Uint8Array, magic: readonly number[]): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  if (magic[0] === 0x42 && magic.length === 3) {
    const level = bytes[3];
    return level !== undefined && level >= 0x31 && level <= 0x39;
  }
  return true;
}

/** The InputError for a file in a format we do not read (bzip2, zip, ...), or null when the bytes start like none of them. */
export function foreignFormatError(source: string, bytes: Uint8Array): InputError | null {
  const format = FOREIGN_FORMATS.find((f) => matches(bytes, f.magic));
  if (!format) return null;
  return new InputError(
    `${source} is ${format.name}, not CSV text: only plain or gzip-compressed CSV is read; ${format.hint}`,
  );
}
