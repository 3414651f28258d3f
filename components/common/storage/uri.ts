import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError } from "../errors.js";

/** A parsed bucket URI. */
export type BucketLocation =
  | { scheme: "file"; root: string; uri: string }
  | { scheme: "gs"; bucket: string; prefix: string; uri: string };

/**
 * Parse `gs://bucket[/prefix]`, `file:///abs/path`, or a plain path (taken
 * relative to `cwd`, the embedded local default).
 */
export function parseBucketUri(input: string, cwd = process.cwd()): BucketLocation {
  const trimmed = input.trim();
  // Strip trailing slashes only after the scheme, so "gs://" stays a (bad) gs URI.
  const text = /^[a-z][a-z0-9+.-]*:\/\/$/i.test(trimmed) ? trimmed : trimmed.replace(/\/+$/, "");
  if (text === "") throw new UsageError("--bucket is empty: give gs://bucket or a local folder");
  // `gs:/bucket` or `gs:bucket` is a mistyped URI, never a folder named "gs:".
  if (/^gs:(?!\/\/)/i.test(text))
    throw new UsageError(`"${input}" is not a gs:// URI: write gs://${text.replace(/^gs:\/*/i, "")}`);
  if (text.startsWith("gs://")) {
    const rest = text.slice("gs://".length);
    const [bucket, ...prefixParts] = rest.split("/");
    if (!bucket || !/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(bucket)) {
      throw new UsageError(
        `"${input}" is not a valid gs:// bucket URI (bucket names are 3-63 lowercase letters, digits, -, _ and .)`,
      );
    }
    const prefix = prefixParts.filter(Boolean).join("/");
    return { scheme: "gs", bucket, prefix, uri: `gs://${bucket}${prefix ? `/${prefix}` : ""}` };
  }
  let path: string;
  if (text.startsWith("file://")) {
    path = decodeURIComponent(text.slice("file://".length));
    if (path === "") throw new UsageError(`"${input}" names no folder: use file:///abs/path`);
    if (!isAbsolute(path)) path = resolve(cwd, path);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new UsageError(
      `"${input}" uses an unsupported scheme: use gs://bucket or a local folder (file:///path)`,
    );
  } else {
    path = resolve(cwd, text);
  }
  const root = path.replace(/\/+$/, "") || "/";
  return { scheme: "file", root, uri: pathToFileURL(root).href };
}

/**
 * Validate an object name: relative, `/`-separated, no empty, `.` or `..`
 * segments (a folder bucket could not hold them, and GCS would treat
 * `a//b` and `a/b` as different objects), no line breaks or NUL, at most
 * 1024 UTF-8 bytes (the GCS limit).
 */
export function checkObjectName(name: string): string {
  const problem =
    name === ""
      ? "is empty"
      : name.startsWith("/")
        ? "starts with /"
        : name.split("/").some((part) => part === "" || part === "." || part === "..")
          ? 'has an empty, "." or ".." segment'
          : /[\0\r\n]/.test(name)
            ? "contains a line break or NUL"
            : Buffer.byteLength(name) > 1024
              ? "is longer than 1024 bytes"
              : null;
  if (problem) throw new UsageError(`object name ${JSON.stringify(name)} ${problem}`);
  return name;
}

/** True when the name's extension asks for gzip. */
export function isGzipName(name: string): boolean {
  return name.toLowerCase().endsWith(".gz");
}
