import { describe, expect, it } from "vitest";
import { topologicalOrder } from "../dag.js";
import { PIPELINES } from "./index.js";
import { withOverrides } from "./overrides.js";
import { scorePipeline } from "./score.js";
import { weeklyPipeline } from "./weekly.js";

const step = (pipeline: typeof weeklyPipeline, name: string) => pipeline.steps.find((s) => s.name === name)!;

describe("the score pipeline", () => {
  it("is registered and runs the weekly run's scoring steps, in DESIGN's order", () => {
    expect(PIPELINES.score).toBe(scorePipeline);
    expect(topologicalOrder(scorePipeline).map((s) => s.name)).toEqual([
      "ingest-weekly",
      "score",
      "merge-scores",
      "contact-list",
      "report",
      "publish",
    ]);
  });

  it("shares the weekly run's step definitions instead of copying them", () => {
    for (const name of ["merge-scores", "contact-list", "publish"])
      expect(step(weeklyPipeline, name)).toBe(step(scorePipeline, name));
    // The weekly run adds what its training steps give, and keeps the rest of each step.
    for (const name of ["ingest-weekly", "score", "report"]) {
      const { inputs: weeklyInputs, after: _after, cache: _cache, ...weekly } = step(weeklyPipeline, name);
      const { inputs: scoreInputs, cache: _scoreCache, ...score } = step(scorePipeline, name);
      expect(weekly).toEqual(score);
      for (const [port, source] of Object.entries(scoreInputs))
        if (port !== "schema") expect(weeklyInputs[port]).toBe(source);
    }
    expect(step(weeklyPipeline, "score").after).toEqual(["promote"]);
    // The score pipeline's report reads the retraining state itself, so it is never served from cache.
    expect(step(scorePipeline, "report").cache).toBe(false);
    expect(step(weeklyPipeline, "report").cache).not.toBe(false);
  });

  it("reads the weekly file with the champion's recorded schema; the weekly run with the one it trained on", () => {
    expect(step(scorePipeline, "ingest-weekly").inputs.schema).toEqual({ championSchema: true });
    expect(step(weeklyPipeline, "ingest-weekly").inputs.schema).toEqual({
      step: "ingest-history",
      output: "schema",
    });
  });

  it("publishes where the weekly run does, and nothing of training reaches its report", () => {
    expect(scorePipeline.output?.("2026-W48")).toBe("output/2026-W48/");
    expect(weeklyPipeline.output?.("2026-W48")).toBe("output/2026-W48/");
    expect(PIPELINES.retrain!.output).toBeUndefined();
    const names = new Set(scorePipeline.steps.map((s) => s.name));
    for (const s of scorePipeline.steps)
      for (const source of Object.values(s.inputs))
        if ("step" in source) expect(names).toContain(source.step);
  });
});

describe("withOverrides", () => {
  it("sets the declared step parameter and leaves every other step as it is", () => {
    const via = withOverrides(scorePipeline, { server_url: "http://127.0.0.1:8080" });
    expect(step(via, "score").parameters).toEqual({ server_url: "http://127.0.0.1:8080" });
    expect(step(scorePipeline, "score").parameters).toBeUndefined();
    for (const name of ["ingest-weekly", "merge-scores", "contact-list", "report", "publish"])
      expect(step(via, name)).toBe(step(scorePipeline, name));
  });

  it.each([undefined, null])("leaves the pipeline's steps as declared for %s", (value) => {
    const plain = withOverrides(scorePipeline, { server_url: value });
    expect(plain.steps).toHaveLength(scorePipeline.steps.length);
    for (const [i, s] of plain.steps.entries()) expect(s).toBe(scorePipeline.steps[i]);
  });

  it("names an override that points at a step the pipeline lacks", () => {
    const broken = {
      ...scorePipeline,
      overrides: { server_url: { step: "scoring", parameter: "server_url", description: "" } },
    };
    expect(() => withOverrides(broken, {})).toThrow(/override server_url names unknown step scoring/);
  });
});
