import { describe, expect, it } from "vitest";
import { alertFor, DEFAULT_ALERT_RULES, inactivityAlerts } from "./alerts.js";

const rules = { probAlive: 0.3, inactiveDays: 90, rhythmFactor: 3, minRepeatPurchases: 2 };

describe("inactivity alerts", () => {
  it("fires the probability rule with the numbers in words", () => {
    const a = alertFor({ id: "x", frequency: 1, recency: 2, T: 5, probAlive: 0.12 }, rules, "week");
    expect(a?.rules).toEqual(["prob_alive"]);
    expect(a?.reason).toBe("probably lost: chance still active is 12%, below the 30% alert level");
  });

  it("fires the inactive-days rule in days whatever the time unit", () => {
    const a = alertFor({ id: "x", frequency: 0, recency: 0, T: 14 }, rules, "week");
    expect(a?.rules).toEqual(["inactive_days"]);
    expect(a?.reason).toBe("no purchase for 98 days (alert after 90 days)");
    expect(alertFor({ id: "x", frequency: 0, recency: 0, T: 12 }, rules, "week")).toBeNull();
  });

  it("fires the rhythm rule against the customer's own mean gap", () => {
    // 4 repeat purchases in 8 weeks: one every 14 days; silent 6 weeks = 42 days = 3.0x -> not beyond 3x.
    expect(alertFor({ id: "x", frequency: 4, recency: 8, T: 14 }, rules, "week")).toBeNull();
    // Silent 7 weeks: 49 days = 3.5x.
    const a = alertFor({ id: "x", frequency: 4, recency: 8, T: 15 }, rules, "week");
    expect(a?.rules).toEqual(["rhythm"]);
    expect(a?.reason).toBe("silent for 49 days, 3.5× their usual 14 days between purchases");
    // One repeat purchase is not a rhythm.
    expect(
      alertFor({ id: "x", frequency: 1, recency: 1, T: 10 }, { ...rules, inactiveDays: null }, "week"),
    ).toBeNull();
  });

  it("combines reasons, sorts most likely lost first, and skips rules that are off", () => {
    const out = inactivityAlerts(
      [
        { id: "fine", frequency: 5, recency: 10, T: 10.5, probAlive: 0.9 },
        { id: "lost", frequency: 6, recency: 3, T: 30, probAlive: 0.05 },
        { id: "fading", frequency: 2, recency: 2, T: 20, probAlive: 0.25 },
      ],
      rules,
      "week",
    );
    expect(out.map((a) => a.id)).toEqual(["lost", "fading"]);
    expect(out[0].rules).toEqual(["prob_alive", "inactive_days", "rhythm"]);
    expect(out[0].reason.split("; ")).toHaveLength(3);
    const off = { probAlive: null, inactiveDays: null, rhythmFactor: null, minRepeatPurchases: 2 };
    expect(
      inactivityAlerts([{ id: "lost", frequency: 6, recency: 3, T: 30, probAlive: 0.05 }], off, "week"),
    ).toEqual([]);
    expect(DEFAULT_ALERT_RULES.inactiveDays).toBeNull();
  });
});
