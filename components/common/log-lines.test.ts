import { describe, expect, it } from "vitest";
import { logLineText, logText, logTextChunks } from "./log-lines.js";

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

  it("a streamed log is converted line by line, whatever the chunk boundaries", async () => {
    const log =
      '{"time":"t1","level":"info","message":"m1","rows":3}\nplain\n{"time":"t2","level":"error","message":"m2"}';
    const bytes = new TextEncoder().encode(log);
    for (const size of [1, 7, 50, bytes.length]) {
      async function* chunks() {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
      }
      let text = "";
      for await (const part of logTextChunks(chunks())) text += part;
      expect(text, `chunks of ${size}`).toBe("t1 info  m1  rows=3\nplain\nt2 error m2");
    }
  });
});
