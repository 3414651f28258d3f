import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBundle } from "../components/common/bundle/bundle.js";
import { readChampion } from "../components/common/bundle/champion.js";
import { parseLatest } from "../components/common/documents/latest.js";
import { updateRealised } from "../components/common/monitoring/realised.js";
import { parseDatasetSchema } from "../components/common/schema/parse.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { readRunRecord } from "./runner/records.js";
import { readOutputDoc } from "./runner/state.js";

// Every stored document goes through the one parser (components/common/documents/parse.ts):
// a malformed copy of each kind is an error naming the object and what is wrong in it.
let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "documents-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const RUN = "r-00000000000000aa";
const VERSION = "0123456789abcdef";

describe("stored documents, malformed", () => {
  it.each([
    [
      "run record",
      `runs/${RUN}/run.json`,
      '{"run_id": 5}',
      () => readRunRecord(storage, RUN),
      /runs\/r-0+aa\/run.json is not a valid run record: .*run_id/,
    ],
    [
      "run record with an unknown field",
      `runs/${RUN}/run.json`,
      '{"version":1,"extra":true}',
      () => readRunRecord(storage, RUN),
      /is not a valid run record: .*extra|Unrecognized key/,
    ],
    [
      "step output.json",
      `runs/${RUN}/steps/train/output.json`,
      '{"outputs": 3}',
      () => readOutputDoc(storage, RUN, "train"),
      /runs\/r-0+aa\/steps\/train\/output.json is not a valid document/,
    ],
    [
      "champion pointer",
      "models/champion",
      '{"version": 7}',
      () => readChampion(storage),
      /models\/champion is not a valid document: version/,
    ],
    [
      "bundle",
      `models/${VERSION}/bundle.json`,
      '{"format": 1}',
      () => readBundle(storage, VERSION),
      /models\/0123456789abcdef\/bundle.json is not a valid bundle/,
    ],
    [
      "realised outcomes",
      "monitoring/realised.json",
      '{"weeks": [{"week": 1}]}',
      () => updateRealised(storage, null),
      /monitoring\/realised.json is not a valid document: weeks\[0\]\.week/,
    ],
    [
      "not JSON at all",
      `runs/${RUN}/run.json`,
      "{nope",
      () => readRunRecord(storage, RUN),
      /runs\/r-0+aa\/run.json is not valid JSON/,
    ],
  ])("%s", async (_kind, name, text, read, message) => {
    await storage.write(name, text);
    await expect(read()).rejects.toThrow(message);
  });

  it("the dataset schema and the latest-week pointer", () => {
    expect(() => parseDatasetSchema('{"version": 2}', "input/schema.json")).toThrow(
      /input\/schema.json is not a valid document: version/,
    );
    expect(() => parseLatest("[]", "output/_latest.json")).toThrow(
      /output\/_latest.json is not a valid document/,
    );
  });
});
