import { createHash } from "node:crypto";
import { expect } from "vitest";
import { openStorage } from "../../components/common/storage/index.js";
import type { Storage } from "../../components/common/storage/types.js";

/** `_SUCCESS` as the tests read it: plain JSON, checked field by field here, not by the code under test. */
export interface PublishedManifest {
  run_id: string;
  model_version: string | null;
  files: Array<{ name: string; size: number; sha256: string; generation: string }>;
}

/**
 * Checks that an output folder holds a complete publish: `_SUCCESS` is a
 * manifest naming `runId` (when given) and exactly the folder's other files
 * (markers aside), each with the size, sha256 and generation of what is
 * stored now. `bucket` is a Storage or a local folder path. Returns the manifest.
 */
export async function expectPublished(
  bucket: Storage | string,
  prefix: string,
  runId?: string,
): Promise<PublishedManifest> {
  const storage = typeof bucket === "string" ? await openStorage(bucket) : bucket;
  const folder = prefix.endsWith("/") ? prefix : `${prefix}/`;
  const manifest = JSON.parse(await storage.readText(`${folder}_SUCCESS`)) as PublishedManifest;
  if (runId !== undefined) expect(manifest.run_id, `${folder}_SUCCESS run_id`).toBe(runId);
  const objects = (await storage.list(folder, { delimiter: true })).filter(
    (o) => !o.name.slice(folder.length).startsWith("_"),
  );
  expect(manifest.files.map((f) => f.name).sort(), `${folder}_SUCCESS files`).toEqual(
    objects.map((o) => o.name.slice(folder.length)).sort(),
  );
  for (const file of manifest.files) {
    const bytes = await storage.readBytes(`${folder}${file.name}`, { gunzip: false });
    const info = objects.find((o) => o.name === `${folder}${file.name}`)!;
    expect(
      { size: file.size, sha256: file.sha256, generation: file.generation },
      `${folder}${file.name} in _SUCCESS`,
    ).toEqual({
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      generation: info.generation,
    });
  }
  return manifest;
}
