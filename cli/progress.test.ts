import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../pipelines/runner/run.js";
import { progressView } from "./progress.js";

function capture(tty: boolean) {
  const out = new PassThrough();
  if (tty) Object.assign(out, { isTTY: true });
  let text = "";
  out.on("data", (c: Buffer) => {
    text += c.toString();
  });
  return { view: progressView(out), text: () => text };
}

const step = (state: "running" | "succeeded", name = "train"): Extract<RunEvent, { type: "step" }> => ({
  type: "step",
  step: name,
  state,
  seconds: state === "running" ? null : 12.3,
  error: null,
  attempt: 1,
  warnings: [],
});
const fold = (n: number): RunEvent => ({
  type: "progress",
  step: "train",
  message: `train: gbdt: fold ${n}/5`,
  seconds: 4.4 * n,
});

describe("run progress on stderr", () => {
  it("on a terminal, the running step's progress is a status line under it, redrawn and cleared when it ends", () => {
    const { view, text } = capture(true);
    view(step("running"));
    view(fold(1));
    view(fold(3));
    view(step("running", "ingest-weekly"));
    view(step("succeeded"));
    const out = text();
    expect(out).toContain(
      "  … train\n\r\x1b[K      train: gbdt: fold 1/5 · 4 s\r\x1b[K      train: gbdt: fold 3/5 · 13 s",
    );
    // Another step's line clears the status, is printed, and the status comes back below it.
    expect(out).toContain("\r\x1b[K  … ingest-weekly\n      train: gbdt: fold 3/5 · 13 s");
    // The step's end clears it for good.
    expect(out.endsWith("\r\x1b[K  ✓ train 12.3 s\n")).toBe(true);
  });

  it("when stderr is not a terminal, every event is one JSON line and nothing else", () => {
    const { view, text } = capture(false);
    view(step("running"));
    view(fold(2));
    view({
      ...step("succeeded"),
      warnings: [{ step: "train", code: "likely-leak", column: "x", message: 'column "x" leaks' }],
    });
    view({ type: "interrupted" });
    const lines = text().trimEnd().split("\n");
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(["step", "progress", "step", "warning", "interrupted"]);
    expect(events[1]).toMatchObject({
      level: "info",
      step: "train",
      message: "train: gbdt: fold 2/5",
      seconds: 8.8,
    });
    expect(events[2]).toMatchObject({
      message: "train succeeded in 12.3 s",
      state: "succeeded",
      warnings: 1,
    });
    expect(events[3]).toMatchObject({
      level: "warn",
      message: 'train: column "x" leaks',
      code: "likely-leak",
      column: "x",
    });
    for (const e of events) expect(Date.parse(String(e.time))).not.toBeNaN();
    expect(text()).not.toContain("\x1b");
  });

  it("on a terminal, Ctrl-C is a line and the summary is left to stdout", () => {
    const { view, text } = capture(true);
    view({ type: "interrupted" });
    expect(text()).toBe("interrupted: stopping steps; run the same command again to resume\n");
  });
});
