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
  const text = input.trim().replace(/\/+$/, "");
  if (text === "") throw new UsageError("--bucket is empty: give gs://bucket or a local folder");
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

/** Validate an object name: relative, `/`-separated, no `..` segments. */
export function checkObjectName(name: string): string {
  if (name === "" || name.startsWith("/") || name.split("/").some((part) => part === ".." || part === ".")) {
    throw new UsageError(`"${name}" is not a valid object name (relative, no "." or ".." segments)`);
  }
  return name;
}

/** True when the name's extension asks for gzip. */
export function isGzipName(name: string): boolean {
  return name.toLowerCase().endsWith(".gz");
}
