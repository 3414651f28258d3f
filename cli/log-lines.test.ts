import { describe, expect, it } from "vitest";
import { logLineText, logText } from "./log-lines.js";

describe("log lines as text", () => {
  it("a JSON log line is time, level and message, then its own fields; the step's context is left out", () => {
    const line = JSON.stringify({
      time: "2026-12-04T02:00:00.000Z",
      level: "warn",
      message: "step failed; retrying",
      run: "r-1",
      step: "train",
      component: "train",
      attempt: 2,
      error: "storage hiccup",
    });
    expect(logLineText(line)).toBe(
      "2026-12-04T02:00:00.000Z warn  step failed; retrying  attempt=2 error=storage hiccup",
    );
  });

  it("other lines stay as they are", () => {
    for (const line of ["--- attempt 1 of step train (local) at x", "{not json", '{"level":"info"}', ""])
      expect(logLineText(line)).toBe(line);
    expect(logText('a\n{"time":"t","level":"info","message":"m"}\n')).toBe("a\nt info  m\n");
  });
});
