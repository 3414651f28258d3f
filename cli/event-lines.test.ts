import { describe, expect, it } from "vitest";
import { InputError } from "../components/common/errors.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { type CliEvent, errorEventLine, eventJsonLines } from "./event-lines.js";
import { runInProcess } from "./main.js";

const NOW = new Date("2026-12-04T18:00:00.000Z");
const parse = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("a long command's events as JSON lines", () => {
  it.each<[CliEvent, Record<string, unknown>]>([
    [
      { type: "run", runId: "r-1", pipeline: "weekly", trigger: "weekly/w.csv", resumed: true },
      { event: "run", level: "info", message: "resuming weekly run r-1 on weekly/w.csv", run_id: "r-1" },
    ],
    [
      { type: "waiting", runId: "r-1", holder: "host:1", expiresInMs: 2500 },
      {
        event: "waiting",
        message: "run r-1 is held by host:1; waiting (lease expires in 3 s)",
        expires_in_ms: 2500,
      },
    ],
    [
      {
        type: "step",
        step: "ingest-weekly",
        state: "failed",
        seconds: 0.5,
        error: "no champion model to score with",
        attempt: 1,
        warnings: [],
      },
      {
        event: "step",
        level: "error",
        message: "ingest-weekly failed in 0.5 s: no champion model to score with",
        state: "failed",
        attempts: 1,
      },
    ],
    [
      { type: "interrupted" },
      { event: "interrupted", level: "warn", message: expect.stringContaining("run the same command again") },
    ],
  ])("%o", (event, expected) => {
    const [line, ...rest] = parse(eventJsonLines(event, NOW));
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ time: NOW.toISOString(), ...expected });
  });

  it("ends a run with a summary event: state, exit code, outputs and the decision", () => {
    const record = {
      run_id: "r-2",
      pipeline: "weekly",
      state: "succeeded",
      exit_code: 0,
      seconds: 12.25,
      reason: null,
      bucket: "file:///b",
      output_prefix: "output/w/",
      steps: [
        { state: "cached", warnings: [] },
        { state: "succeeded", warnings: [{ step: "report", code: "c", column: null, message: "m" }] },
      ],
    } as unknown as RunRecord;
    const [line] = parse(
      eventJsonLines({ type: "summary", record, reused: false, decision: "model: x" }, NOW),
    );
    expect(line).toMatchObject({
      event: "summary",
      message: "weekly run r-2 succeeded in 12.3 s",
      exit_code: 0,
      outputs: "file:///b/output/w/",
      cached_steps: 1,
      warnings: 1,
      decision: "model: x",
    });
  });

  it("writes a failure as an error event with its exit code", () => {
    const [line] = parse(errorEventLine(new InputError('row 3, column "age": not a number'), 2));
    expect(line).toMatchObject({
      event: "error",
      level: "error",
      message: 'row 3, column "age": not a number',
      exit_code: 2,
      error_type: "InputError",
    });
  });

  it("a piped pipeline run that cannot start writes its error as one JSON line, a short command as text", async () => {
    const run = await runInProcess(["pipeline", "run", "--bucket", "/nonexistent-churn-bucket"]);
    expect(run.code).toBe(2);
    const [line, ...rest] = parse(run.stderr);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      event: "error",
      exit_code: 2,
      message: expect.stringContaining("no bucket at"),
    });
    const list = await runInProcess(["runs", "list", "--bucket", "/nonexistent-churn-bucket"]);
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(/^churn: no bucket at/);
  });

  it("a piped long command's usage error is one JSON line too; a short command's stays text", async () => {
    const run = await runInProcess(["pipeline", "run", "--bogus"]);
    expect(run.code).toBe(2);
    const [line, ...rest] = parse(run.stderr);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      event: "error",
      exit_code: 2,
      message: "unknown option '--bogus' (run with --help for usage)",
    });
    const list = await runInProcess(["runs", "list", "--bogus"]);
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(/^error: unknown option '--bogus'\n\(run with --help for usage\)/);
  });
});
