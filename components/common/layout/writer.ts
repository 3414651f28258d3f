import type { ObjectInfo } from "../storage/types.js";

/**
 * DESIGN: objects the system writes carry custom metadata
 * `churn-writer: <component>`, and the weekly trigger ignores them, so the
 * system never starts runs by itself.
 */
export const WRITER_KEY = "churn-writer";

/** The metadata to write an object with, naming the part of the system that wrote it. */
export function writtenBy(writer: string): Record<string, string> {
  return { [WRITER_KEY]: writer };
}

/** Who of the system wrote an object, or undefined for an upload by a person or another tool. */
export function writerOf(metadata: Readonly<Record<string, string>>): string | undefined {
  return metadata[WRITER_KEY];
}

/** True for objects the system wrote itself (DESIGN: the weekly trigger ignores them). */
export function isSystemWritten(info: Pick<ObjectInfo, "metadata">): boolean {
  return writerOf(info.metadata) !== undefined;
}
