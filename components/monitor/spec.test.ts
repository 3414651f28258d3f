import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planAndRunStep } from "../common/component/run.js";
import { openStorage, type Storage } from "../common/storage/index.js";
import { joinLabelsComponent } from "./spec.js";

// The join-labels component on a small bucket: which weeks pair up, what is skipped and why.
let dir: string;
let storage: Storage;
const CONFIG = "id_column: id\nlabel: {column: churn, positive: 'Yes'}\npii: [email]\n";

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "join-labels-"));
  storage = await openStorage(dir);
  await storage.write("input/h.csv", "id,email,age,churn\n1,a@x,30,Yes\n2,b@x,40,No\n");
  await storage.write("weekly/w1.csv", "id,email,age\n1,a@x,31\n3,c@x,50\n4,d@x,60\n");
  await storage.write("labels/w1.csv", "id,label\n1,1\n3,0\n");
  await storage.write("labels/w9.csv", "id,label\n7,1\n");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const join_ = (config: string) =>
  storage.write("churn.yaml", config).then(() =>
    planAndRunStep(storage, "r-test", "join-labels", joinLabelsComponent, {
      labels: ["labels/w1.csv", "labels/w9.csv"],
      weekly: ["weekly/w1.csv"],
      history: ["input/h.csv"],
      config: ["churn.yaml"],
    }),
  );

describe("join-labels component", () => {
  it("joins the labelled rows not in input/, with the history's negative label and pii blank", async () => {
    const out = await join_(CONFIG);
    expect(out.counts).toMatchObject({
      labels_files: 2,
      weeks_joined: 1,
      rows_joined: 1,
      in_history: 1,
      unlabelled: 1,
    });
    expect(await storage.readText(out.outputs.labelled!.object)).toBe("id,email,age,churn\n3,,50,No\n");
    expect(out.summary).toMatchObject({ joined: true, withoutWeekly: ["labels/w9.csv"] });
  });

  it("writes nothing with on_labels false or generate_id, and says why", async () => {
    const off = await join_(`${CONFIG}retrain: {on_labels: false}\n`);
    expect(off.outputs).toEqual({});
    expect(off.summary).toMatchObject({ joined: false, reason: "retrain.on_labels is false" });
    const generated = await join_(CONFIG.replace("id_column: id", "generate_id: true"));
    expect(generated.outputs).toEqual({});
    expect((generated.summary as { reason: string }).reason).toMatch(/generate_id/);
  });
});
