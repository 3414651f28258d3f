import { describe, expect, it } from "vitest";
import type { ObjectInfo } from "../common/storage/types.js";
import { ForgetIds } from "./ids.js";
import { ForgetLedger } from "./ledger.js";
import { rewriteOf } from "./publish.js";

const info = (name: string): ObjectInfo => ({
  name,
  generation: "1",
  size: 1,
  updated: new Date(0),
  metadata: {},
});

function ledger(dryRun = false) {
  const lines: string[] = [];
  return { lines, ledger: new ForgetLedger(new ForgetIds(["c1", "C-2"]), dryRun, (l) => lines.push(l)) };
}

describe("ForgetLedger", () => {
  it("notes a rewrite once, adding a second pass's counts to the first", () => {
    const { ledger: l, lines } = ledger();
    l.noteRewrite(info("runs/r/out.json"), rewriteOf(info("runs/r/out.json"), "json", 2, 1), "5");
    l.noteRewrite(info("runs/r/out.json"), rewriteOf(info("runs/r/out.json"), "json", 0, 0), "6");
    expect(l.changes).toHaveLength(1);
    expect(l.changes[0]).toMatchObject({ rows_removed: 2, redacted: 1, generation_after: "6" });
    expect(lines).toEqual([
      "rewrote runs/r/out.json: 2 row(s) removed, 1 mention(s) redacted",
      "rewrote runs/r/out.json: references to rewritten objects updated",
    ]);
    expect(l.touched.has("runs/r/out.json")).toBe(true);
    expect(l.rewroteJson()).toBe(true);
  });

  it("says what a dry run would do, and notes deleted cache entries", () => {
    const { ledger: l, lines } = ledger(true);
    l.noteDeletedCacheEntry({ ...rewriteOf(info("cache/k.json"), "json", 0, 0), action: "deleted" });
    expect(lines).toEqual(["would delete cache entry cache/k.json"]);
    expect(l.changes[0]).toMatchObject({ action: "deleted", generation_after: null });
    expect(l.rewroteJson()).toBe(false);
    expect(l.pointsAtTouched('{"object": "cache/k.json"}')).toBe(true);
    expect(l.pointsAtTouched('{"object": "cache/k.json.old"}')).toBe(false);
  });

  it("counts deleted versions on their object's change, or lists them on their own", () => {
    const { ledger: l } = ledger();
    l.noteRewrite(info("weekly/w1.csv"), rewriteOf(info("weekly/w1.csv"), "csv", 1, 0), "2");
    l.noteVersionDeleted({ object: "weekly/w1.csv", generation: "1" });
    l.noteVersionDeleted({ object: "weekly/w0.csv", generation: "7" });
    expect(l.changes[0]!.versions_deleted).toBe(1);
    expect(l.noncurrent).toEqual([{ object: "weekly/w0.csv", generation: "7" }]);
    expect(l.versionsDeleted()).toBe(2);
  });

  it("collects the forgotten ids a text mentions, as whole tokens", () => {
    const { ledger: l } = ledger();
    l.noteMentions("c1 left; c12 stayed; C-2.");
    l.noteFound(["x"]);
    expect([...l.found].sort()).toEqual(["C-2", "c1", "x"]);
  });
});
