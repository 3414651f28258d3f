import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import {
  type CampaignEffect,
  type CampaignWeek,
  campaignWeekSchema,
  type GroupOutcome,
} from "../common/documents/campaign-effect.js";
import { parseDocument } from "../common/documents/parse.js";
import { InputError } from "../common/errors.js";
import {
  CAMPAIGN_WEEKS_PREFIX,
  campaignWeekObject,
  csvStemDirectlyUnder,
  LABELS_PREFIX,
  OUTPUT_FILES,
  weekOutputObject,
  writtenBy,
} from "../common/layout/index.js";
import { parseLabels } from "../common/monitoring/realised.js";
import type { Storage } from "../common/storage/types.js";
import { CONFIDENCE, estimateCampaignEffect, type Stratum } from "./campaign-effect.js";

/**
 * The data side of the measured campaign effect: a week's published
 * contact-list.csv (rank, id, group, ...) against its labels/<stem>.csv. Each
 * labelled week is counted once into monitoring/campaign/<stem>.json (again
 * only when its labels or its list change), so the accumulated estimate reads
 * a few small documents, never the old lists.
 */

/** The contact-list.csv columns the count needs (DESIGN: `rank, <id_column>, group, ...`). */
const ID_AT = 1;
const GROUP_COLUMN = "group";

/** Contacted and control customers of a contact list, with and without an outcome in `outcome`. */
export async function countGroups(
  list: AsyncIterable<Uint8Array>,
  source: string,
  outcome: ReadonlyMap<string, 0 | 1>,
): Promise<{ contact: GroupOutcome; control: GroupOutcome }> {
  const groups = {
    contact: { listed: 0, with_outcome: 0, churned: 0 },
    control: { listed: 0, with_outcome: 0, churned: 0 },
  };
  let groupAt = -1;
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields, line) => {
      if (groupAt < 0) {
        groupAt = fields.indexOf(GROUP_COLUMN);
        if (groupAt < 0 || fields[0] !== "rank")
          throw new InputError(
            `${source}: the header has no "rank" and "group" columns (is it a contact-list.csv?)`,
          );
        return;
      }
      if (fields.length === 1 && fields[0] === "") return;
      const group = fields[groupAt];
      if (group !== "contact" && group !== "control")
        throw new InputError(
          `${source} line ${line}, column "group": "${group}" is neither contact nor control`,
        );
      const counts = groups[group];
      counts.listed++;
      const churned = outcome.get((fields[ID_AT] ?? "").trim());
      if (churned === undefined) return;
      counts.with_outcome++;
      counts.churned += churned;
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  const decoder = new StringDecoder("utf8");
  for await (const chunk of list) parser.push(decoder.write(Buffer.from(chunk)));
  parser.push(decoder.end());
  parser.end();
  if (groupAt < 0) throw new InputError(`${source} is empty: it has no header`);
  return groups;
}

const stratumOf = (w: CampaignWeek): Stratum => ({
  contact: { customers: w.contact.with_outcome, churned: w.contact.churned },
  control: { customers: w.control.with_outcome, churned: w.control.churned },
});

/** The estimates of stored week documents: per week, and all weeks together. */
export function campaignEffectOf(weeks: readonly CampaignWeek[], arrived: readonly string[]): CampaignEffect {
  const sorted = [...weeks].sort((a, b) => a.week.localeCompare(b.week));
  return {
    confidence: CONFIDENCE,
    weeks: sorted.map((w) => ({ week: w.week, ...estimateCampaignEffect([stratumOf(w)]) })),
    accumulated:
      sorted.length === 0 ? null : { weeks: sorted.length, ...estimateCampaignEffect(sorted.map(stratumOf)) },
    arrived: [...arrived],
  };
}

/**
 * Counts every labels/<stem>.csv whose week published a contact list and is
 * new or changed since it was counted, into monitoring/campaign/<stem>.json,
 * and returns the estimates over all counted weeks.
 */
export async function updateCampaignEffect(
  storage: Storage,
  positive: string | null,
  now = new Date(),
): Promise<CampaignEffect> {
  const stored = new Map<string, CampaignWeek>();
  for (const info of await storage.list(CAMPAIGN_WEEKS_PREFIX)) {
    const week = parseDocument(campaignWeekSchema, await storage.readText(info.name), info.name);
    stored.set(week.week, week);
  }
  const arrived: string[] = [];
  for (const labels of await storage.list(LABELS_PREFIX)) {
    const stem = csvStemDirectlyUnder(labels.name, LABELS_PREFIX);
    if (stem === null) continue;
    const listObject = weekOutputObject(stem, OUTPUT_FILES.contactList);
    const list = await storage.stat(listObject);
    if (list === null) continue; // a week scored before contact lists, or never scored here
    const previous = stored.get(stem);
    if (
      previous?.labels_generation === labels.generation &&
      previous.contact_list_generation === list.generation
    )
      continue;
    const outcome = parseLabels(await storage.readText(labels.name), labels.name, positive);
    const groups = await countGroups(storage.createReadStream(listObject), listObject, outcome);
    const week: CampaignWeek = {
      week: stem,
      labels_object: labels.name,
      labels_generation: labels.generation,
      contact_list_object: listObject,
      contact_list_generation: list.generation,
      ...groups,
      computed_at: now.toISOString(),
    };
    await storage.write(campaignWeekObject(stem), `${JSON.stringify(week, null, 2)}\n`, {
      contentType: "application/json",
      metadata: writtenBy("retrain-triggers"),
    });
    stored.set(stem, week);
    arrived.push(stem);
  }
  return campaignEffectOf([...stored.values()], arrived);
}
