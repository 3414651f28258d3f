import { z } from "zod";
import { parseRequest } from "../components/common/documents/parse.js";
import { messageOf } from "../components/common/errors.js";

/**
 * The wire shape of a Cloud Storage CloudEvent (`google.cloud.storage.object.v1.finalized`)
 * as far as we use it. Validated at run time (STYLE): Eventarc delivers whatever
 * the bucket saw, and a shape we do not understand is acknowledged, not retried.
 * Unknown fields are allowed here on purpose: GCS adds object fields over time and
 * the event is not ours to be strict about.
 */
export const FINALIZED = "google.cloud.storage.object.v1.finalized";

export const storageObjectData = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  // The JSON API sends int64 as a string; some emitters send a number.
  generation: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String),
  metadata: z
    .record(z.string(), z.string())
    .nullish()
    .transform((m) => m ?? {}),
  contentType: z.string().optional(),
  size: z.union([z.string(), z.number()]).optional(),
});
export type StorageObjectData = z.output<typeof storageObjectData>;

/** The CloudEvent envelope fields the handlers look at. */
export interface CloudEventLike {
  id?: string;
  type?: string;
  source?: string;
  subject?: string;
  data?: unknown;
}

/** A validated storage event, or the reason it is malformed (one sentence). */
export type ParsedStorageEvent = { ok: true; data: StorageObjectData } | { ok: false; reason: string };

/** Validate a CloudEvent's type and data; never throws. */
export function parseStorageEvent(event: CloudEventLike): ParsedStorageEvent {
  if (event.type !== undefined && event.type !== FINALIZED) {
    return { ok: false, reason: `unexpected event type "${event.type}" (want ${FINALIZED})` };
  }
  let data = event.data;
  // Binary-mode events with a JSON body arrive parsed; a text body may still be JSON.
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return { ok: false, reason: "event data is a string that is not JSON" };
    }
  }
  if (Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(data.toString("utf8"));
    } catch {
      return { ok: false, reason: "event data is bytes that are not JSON" };
    }
  }
  try {
    return { ok: true, data: parseRequest(storageObjectData, data, "event data") };
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  }
}
