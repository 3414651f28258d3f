import { describe, expect, it } from "vitest";
import { DAYS_PER_UNIT, dayFromDateString, dayFromEpochMs, SummaryAccumulator } from "./summary.js";

const day = (s: string): number => {
  const d = dayFromDateString(s);
  if (d === null) throw new Error(`bad test date ${s}`);
  return d;
};

describe("day numbers", () => {
  it("parses compact and dashed dates and rejects impossible ones", () => {
    expect(dayFromDateString("19700101")).toBe(0);
    expect(dayFromDateString("1970-01-02")).toBe(1);
    expect(dayFromDateString("2014-03-08 00:00:00")).toBe(day("20140308"));
    expect(dayFromDateString("19970230")).toBeNull();
    expect(dayFromDateString("1997-13-01")).toBeNull();
    expect(dayFromDateString("hello")).toBeNull();
    expect(dayFromEpochMs(Date.UTC(1997, 0, 1, 23, 59))).toBe(day("19970101"));
  });
});

describe("SummaryAccumulator", () => {
  it("counts distinct days after the first, in any order, and averages repeat-day totals", () => {
    const acc = new SummaryAccumulator();
    // Customer a: first day 1 Jan (two purchases), repeats on 8 Jan (two purchases) and 15 Jan.
    acc.add("a", day("19970115"), 30);
    acc.add("a", day("19970101"), 5);
    acc.add("a", day("19970108"), 10);
    acc.add("a", day("19970101"), 7);
    acc.add("a", day("19970108"), 20);
    acc.add("b", day("19970122"), 9);
    const [a, b] = acc.finish("day");
    expect(a).toMatchObject({ id: "a", frequency: 2, recency: 14, T: 21 });
    // zbar: mean of the repeat days' totals (30 and 30), not of the three repeat transactions.
    expect(a.monetary).toBe(30);
    expect(b).toMatchObject({ id: "b", frequency: 0, recency: 0, T: 0, monetary: 0 });
  });

  it("ignores purchases after observation_end but counts that day itself", () => {
    const acc = new SummaryAccumulator({ observationEnd: day("19970131") });
    expect(acc.add("a", day("19970101"), 1)).toBe(true);
    expect(acc.add("a", day("19970131"), 2)).toBe(true);
    expect(acc.add("a", day("19970201"), 3)).toBe(false);
    expect(acc.add("late", day("19970301"), 3)).toBe(false);
    const out = acc.finish("week");
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ frequency: 1, recency: 30 / 7, T: 30 / 7, monetary: 2 });
    expect(acc.afterEnd).toBe(2);
  });

  it("expresses ages in the configured unit", () => {
    const acc = new SummaryAccumulator({ observationEnd: day("19980101") });
    acc.add("a", day("19970101"));
    expect(acc.finish("month")[0].T).toBeCloseTo(365 / DAYS_PER_UNIT.month, 12);
    expect(DAYS_PER_UNIT.month * 12).toBe(365.25);
  });

  it("rejects fractional days and non-finite values", () => {
    const acc = new SummaryAccumulator();
    expect(() => acc.add("a", 1.5)).toThrow(/whole day/);
    expect(() => acc.add("a", 1, Number.NaN)).toThrow(/finite/);
  });
});
