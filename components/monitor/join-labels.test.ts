import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputError } from "../common/errors.js";
import {
  csvRecords,
  type HistoryIds,
  joinLabelledWeeks,
  type LabelledWeek,
  readHistoryIds,
} from "./join-labels.js";

async function* bytes(text: string | Uint8Array): AsyncGenerator<Uint8Array> {
  yield typeof text === "string" ? Buffer.from(text) : text;
}

const label = { column: "churn", positive: "Yes" };
const week = (stem: string, labels: string, weekly: string): LabelledWeek => ({
  stem,
  labelsObject: `labels/${stem}.csv`,
  labelsText: labels,
  weeklyObject: `weekly/${stem}.csv`,
  weekly: bytes(weekly),
});
const history = (ids: string[] = [], negative: string | null = "No"): HistoryIds => ({
  ids: new Set(ids),
  negative,
});

describe("joinLabelledWeeks", () => {
  it("keeps labelled rows only, sets the label column, and counts the others", async () => {
    const result = await joinLabelledWeeks(
      [week("w1", "id,label\n1,1\n3,0\n9,yes\n", 'id,age,region\n1,30,north\n2,40,south\n3,50,"a, b"\n')],
      { idColumn: "id", label, history: history() },
    );
    expect(result.csv).toBe('id,age,region,churn\n1,30,north,Yes\n3,50,"a, b",No\n');
    expect(result.rows).toBe(2);
    expect(result.weeks).toEqual([
      {
        week: "w1",
        labels: "labels/w1.csv",
        weekly: "weekly/w1.csv",
        labelled: 3,
        joined: 2,
        unlabelled: 1,
        in_history: 0,
        superseded: 0,
        unreadable: 0,
      },
    ]);
  });

  it("an id already in input/ keeps its history row; a later week wins over an earlier one", async () => {
    const result = await joinLabelledWeeks(
      [
        week("2026-W48", "id,label\n1,1\n2,1\n3,1\n", "id,age\n1,10\n2,20\n3,30\n"),
        week("2026-W49", "id,label\n2,0\n", "id,age\n2,21\n"),
      ],
      { idColumn: "id", label, history: history(["1"]) },
    );
    expect(result.csv).toBe("id,age,churn\n2,21,No\n3,30,Yes\n");
    expect(result.weeks.map((w) => [w.week, w.joined, w.in_history, w.superseded])).toEqual([
      ["2026-W48", 1, 1, 1],
      ["2026-W49", 1, 0, 0],
    ]);
  });

  it("overwrites a label column the weekly file already has, and matches later weeks' columns by name", async () => {
    const result = await joinLabelledWeeks(
      [
        week("a", "id,label\n1,No\n", "churn,id,age\n,1,10\n"),
        week("b", "id,label\n2,Yes\n", "age,id,extra\n20,2,x\n"),
      ],
      { idColumn: "id", label, history: history([], null) },
    );
    // Header of the latest week (b) plus the label; the negative is "0" when the history shows none.
    expect(result.csv).toBe("age,id,extra,churn\n20,2,x,Yes\n10,1,,0\n");
  });

  it("blanks pii columns, keeping the column so the header still matches the training schema", async () => {
    const result = await joinLabelledWeeks([week("w", "id,label\n1,1\n", "id,email,age\n1,a@b.c,2\n")], {
      idColumn: "id",
      label,
      history: history(),
      blank: ["email"],
    });
    expect(result.csv).toBe("id,email,age,churn\n1,,2,Yes\n");
  });

  it("nothing joined gives no CSV", async () => {
    const result = await joinLabelledWeeks([week("w", "id,label\n7,1\n", "id,age\n1,2\n")], {
      idColumn: "id",
      label,
      history: history(),
    });
    expect(result.csv).toBeNull();
    expect(result.weeks[0]).toMatchObject({ labelled: 1, joined: 0, unlabelled: 1 });
  });

  it("names the weekly file when it lacks the id column, and the labels line when a label is missing", async () => {
    await expect(
      joinLabelledWeeks([week("w", "id,label\n1,1\n", "cust,age\n1,2\n")], {
        idColumn: "id",
        label,
        history: history(),
      }),
    ).rejects.toThrow(/weekly\/w\.csv, line 1: no id column "id"/);
    await expect(
      joinLabelledWeeks([week("w", "id,label\n1,\n", "id,age\n1,2\n")], {
        idColumn: "id",
        label,
        history: history(),
      }),
    ).rejects.toThrow(InputError);
  });
});

describe("csvRecords and readHistoryIds", () => {
  it("reads gzip and sniffs the delimiter", async () => {
    const records = [];
    for await (const r of csvRecords(bytes(gzipSync("a;b\n1;2\n")), "x.csv.gz")) records.push(r);
    expect(records.map((r) => [r.fields, r.line, r.delimiter])).toEqual([
      [["a", "b"], 1, ";"],
      [["1", "2"], 2, ";"],
    ]);
  });

  it("collects ids and the first negative label value of a history file", async () => {
    const into = history([], null);
    await readHistoryIds(bytes("id,churn\n1,Yes\n2,Stayed\n3,No\n"), "input/h.csv", "id", label, into);
    expect([...into.ids]).toEqual(["1", "2", "3"]);
    expect(into.negative).toBe("Stayed");
    await expect(readHistoryIds(bytes("x\n1\n"), "input/h.csv", "id", label, into)).rejects.toThrow(
      /input\/h\.csv, line 1: no id column/,
    );
  });
});
