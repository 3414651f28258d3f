import { describe, expect, it } from "vitest";
import { quintileScores, rfmScores, type Score, SEGMENT_RULES, SEGMENTS, segmentOf } from "./rfm.js";

const scores: Score[] = [1, 2, 3, 4, 5];

describe("segment table", () => {
  it("covers every (R, F) pair exactly once", () => {
    for (const r of scores) {
      for (const f of scores) {
        const matches = SEGMENT_RULES.filter((s) => r >= s.r[0] && r <= s.r[1] && f >= s.f[0] && f <= s.f[1]);
        expect(
          matches.map((m) => m.segment),
          `R${r} F${f}`,
        ).toHaveLength(1);
      }
    }
    expect(new Set(SEGMENT_RULES.map((s) => s.segment))).toEqual(new Set(SEGMENTS));
  });

  it.each([
    [5, 5, "Champions"],
    [5, 4, "Champions"],
    [4, 5, "Loyal"],
    [3, 4, "Loyal"],
    [4, 2, "Potential Loyalists"],
    [5, 3, "Potential Loyalists"],
    [5, 1, "New"],
    [4, 1, "Promising"],
    [3, 3, "Need Attention"],
    [3, 2, "About to Sleep"],
    [3, 1, "About to Sleep"],
    [2, 4, "At Risk"],
    [1, 3, "At Risk"],
    [1, 5, "Can't Lose Them"],
    [2, 5, "Can't Lose Them"],
    [1, 1, "Hibernating"],
    [2, 2, "Hibernating"],
  ] as const)("R%d F%d is %s", (r, f, want) => {
    expect(segmentOf(r, f)).toBe(want);
  });
});

describe("quintileScores", () => {
  it("gives equal buckets without ties and 5 to the best", () => {
    const s = quintileScores([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(s).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    expect(quintileScores([1, 2, 3, 4, 5], false)).toEqual([5, 4, 3, 2, 1]);
  });

  it("gives tied values the same score from their mid-rank", () => {
    // Six of ten share 0: mid-rank 3.5 -> score 2; the rest rank 7..10.
    const s = quintileScores([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect(new Set(s.slice(0, 6))).toEqual(new Set([2]));
    expect(s.slice(6)).toEqual([4, 4, 5, 5]);
  });

  it("handles a single customer and rejects NaN", () => {
    expect(quintileScores([42])).toEqual([3]);
    expect(() => quintileScores([1, Number.NaN])).toThrow(/value 2 is NaN/);
  });
});

describe("rfmScores on hand-made customers", () => {
  it("scores R on time since the last purchase and names the segments", () => {
    const customers = [
      { id: "star", frequency: 20, recency: 52, T: 52, monetary: 300 },
      { id: "gone", frequency: 0, recency: 0, T: 52, monetary: 0 },
      { id: "lapsed-regular", frequency: 25, recency: 10, T: 52, monetary: 200 },
      { id: "newbie", frequency: 0, recency: 0, T: 1, monetary: 0 },
      { id: "mid", frequency: 4, recency: 30, T: 52, monetary: 40 },
      { id: "a", frequency: 1, recency: 40, T: 52, monetary: 20 },
      { id: "b", frequency: 2, recency: 20, T: 52, monetary: 25 },
      { id: "c", frequency: 6, recency: 45, T: 52, monetary: 60 },
      { id: "d", frequency: 3, recency: 5, T: 52, monetary: 30 },
      { id: "e", frequency: 10, recency: 50, T: 52, monetary: 100 },
    ];
    const out = Object.fromEntries(rfmScores(customers).map((s, i) => [customers[i].id, s]));
    expect(out.star).toEqual({ r: 5, f: 5, m: 5, segment: "Champions" });
    expect(out.gone).toEqual({ r: 1, f: 1, m: 1, segment: "Hibernating" });
    expect(out["lapsed-regular"]).toEqual({ r: 2, f: 5, m: 5, segment: "Can't Lose Them" });
    expect(out.newbie).toMatchObject({ r: 5, f: 1, segment: "New" });
    expect(out.mid).toMatchObject({ r: 3, f: 3, segment: "Need Attention" });
    expect(out.a).toMatchObject({ r: 3, f: 2, segment: "About to Sleep" });
    expect(out.b).toMatchObject({ r: 2, f: 2, segment: "Hibernating" });
    expect(out.c).toMatchObject({ r: 4, f: 4, segment: "Loyal" });
    expect(out.d).toMatchObject({ r: 1, f: 3, segment: "At Risk" });
    expect(out.e).toMatchObject({ r: 4, f: 4, segment: "Loyal" });
  });
});
