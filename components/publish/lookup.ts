import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import {
  buildCustomerIndex,
  type ContactGroup,
  type IndexExtras,
} from "../common/documents/customer-index.js";
import { latestPointer, updateLatest } from "../common/documents/latest.js";
import { latestLifetimeOutput } from "../common/documents/lifetime-output.js";
import type { PublishedFile } from "../common/documents/manifest.js";
import { InputError } from "../common/errors.js";
import { OUTPUT_FILES, writtenBy } from "../common/layout/index.js";
import type { Storage } from "../common/storage/types.js";

/**
 * The publish step's part of the customer lookup (issue 20 item 4): the
 * week's index (built from the scores.csv being published, joined with the
 * contact list and the newest lifetime output's P(alive)), written into the
 * week's folder before `_SUCCESS` so the manifest covers it, and the move of
 * `output/_latest.json` after `_SUCCESS`.
 */

/** Reads a CSV's records from a byte stream, header first, through the one CSV rule. */
async function eachRecord(
  bytes: AsyncIterable<Uint8Array>,
  source: string,
  onRecord: (fields: string[], line: number) => void,
): Promise<void> {
  const parser = new CsvParser({ delimiter: ",", source }, onRecord, (line, _field, reason) => {
    throw new InputError(`${source} line ${line}: ${reason}`);
  });
  const decoder = new StringDecoder("utf8");
  for await (const chunk of bytes) parser.push(decoder.write(Buffer.from(chunk)));
  parser.push(decoder.end());
  parser.end();
}

/** The column index of `name` in a header, or an InputError naming the file. */
function column(header: readonly string[], name: string, source: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new InputError(`${source}: the header has no column "${name}"`);
  return i;
}

/** rank and group by id, from contact-list.csv (`rank, <id_column>, group, ...`). */
export async function contactListExtras(
  bytes: AsyncIterable<Uint8Array>,
  source: string,
): Promise<Map<string, IndexExtras>> {
  const byId = new Map<string, IndexExtras>();
  let at: { rank: number; group: number } | null = null;
  await eachRecord(bytes, source, (fields, line) => {
    if (!at) {
      at = { rank: column(fields, "rank", source), group: column(fields, "group", source) };
      return;
    }
    const rank = Number(fields[at.rank]);
    const group = fields[at.group];
    if (!Number.isInteger(rank) || rank < 1 || (group !== "contact" && group !== "control"))
      throw new InputError(
        `${source} line ${line}: rank must be a whole number >= 1 and group contact or control`,
      );
    // The id is the column after rank (DESIGN's contact-list order).
    byId.set(fields[1]!, { rank, group: group as ContactGroup });
  });
  return byId;
}

/** P(alive) by id from a lifetime output's customers.csv (id first, then a prob_alive column). */
export async function lifetimeExtras(storage: Storage, prefix: string): Promise<Map<string, number>> {
  const source = `${prefix}${OUTPUT_FILES.customers}`;
  const byId = new Map<string, number>();
  let alive = -1;
  await eachRecord(storage.createReadStream(source), source, (fields) => {
    if (alive < 0) {
      alive = column(fields, "prob_alive", source);
      return;
    }
    const p = Number(fields[alive]);
    if (fields[alive] !== "" && p >= 0 && p <= 1) byId.set(fields[0]!, p);
  });
  return byId;
}

export interface IndexInputs {
  storage: Storage;
  /** The week's folder, `output/<stem>/`. */
  prefix: string;
  stem: string;
  /** scores.csv's bytes as they are being published (hash-checked by the step's input). */
  scores: AsyncIterable<Uint8Array>;
  /** Its sha256 as the step input records it (reading `scores` checks it). */
  scoresSha256: string;
  scoresSource: string;
  contactList: AsyncIterable<Uint8Array> | null;
  contactListSource: string;
}

/** Build the week's index and write it into its folder; returns it as a file of the set (for the manifest). */
export async function publishIndex(inputs: IndexInputs): Promise<{ file: PublishedFile; count: number }> {
  const contacts = inputs.contactList
    ? await contactListExtras(inputs.contactList, inputs.contactListSource)
    : null;
  const lifetime = (await latestLifetimeOutput(inputs.storage))?.prefix ?? null;
  const alive = lifetime ? await lifetimeExtras(inputs.storage, lifetime) : null;
  let extras: Map<string, IndexExtras> | undefined;
  if (contacts || alive) {
    extras = new Map(contacts ?? []);
    for (const [id, probAlive] of alive ?? []) extras.set(id, { ...extras.get(id), probAlive });
  }
  const dir = await mkdtemp(join(tmpdir(), "churn-index-"));
  try {
    const path = join(dir, OUTPUT_FILES.lookupIndex);
    const built = await buildCustomerIndex({
      scores: inputs.scores,
      scoresSha256: inputs.scoresSha256,
      scoresName: OUTPUT_FILES.scores,
      source: inputs.scoresSource,
      week: inputs.stem,
      path,
      extras,
      contactList: contacts !== null,
      lifetime,
    });
    const info = await inputs.storage.write(
      `${inputs.prefix}${OUTPUT_FILES.lookupIndex}`,
      createReadStream(path),
      {
        metadata: writtenBy("publish"),
        contentType: "application/octet-stream",
      },
    );
    return {
      file: { name: OUTPUT_FILES.lookupIndex, info, sha256: built.sha256 },
      count: built.header.count,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * After `_SUCCESS`: point `output/_latest.json` at this week unless a week
 * uploaded later is already published. The upload time is the weekly file's
 * (the store's `updated`), so a `--force` rerun of an old week leaves it.
 */
export async function movePointer(
  storage: Storage,
  stem: string,
  weekly: string,
  runId: string,
): Promise<{ moved: boolean; reason?: string }> {
  const info = await storage.stat(weekly);
  if (!info) return { moved: false, reason: `${weekly} is gone, so its upload time is unknown` };
  const moved = await updateLatest(storage, latestPointer(stem, weekly, info.updated, runId, new Date()));
  return moved ? { moved } : { moved, reason: "a week uploaded later is already published" };
}
