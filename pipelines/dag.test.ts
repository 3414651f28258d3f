import { describe, expect, it } from "vitest";
import { UsageError } from "../components/common/errors.js";
import { type PipelineDefinition, renderMermaid, renderText, topologicalOrder } from "./dag.js";
import { PIPELINES, pipelineByName } from "./definitions/index.js";

describe("pipeline definitions", () => {
  it("use DESIGN's step names, in an order that respects every dependency", () => {
    expect(topologicalOrder(PIPELINES.weekly!).map((s) => s.name)).toEqual([
      "join-labels",
      "ingest-history",
      "ingest-weekly",
      "feature",
      "retrain-triggers",
      "train",
      "evaluate",
      "promote",
      "score",
      "merge-scores",
      "contact-list",
      "report",
      "publish",
    ]);
    expect(PIPELINES.retrain!.steps.map((s) => s.name)).toEqual([
      "join-labels",
      "ingest-history",
      "feature",
      "train",
      "evaluate",
      "promote",
    ]);
    expect(topologicalOrder(PIPELINES.score!).map((s) => s.name)).toEqual([
      "ingest-weekly",
      "score",
      "merge-scores",
      "contact-list",
      "report",
      "publish",
    ]);
  });

  it("refuse cycles and unknown steps by name", () => {
    const bad: PipelineDefinition = {
      name: "weekly",
      description: "",
      trigger: { kind: "training-data" },
      steps: [
        { name: "a", component: "x", description: "", inputs: { i: { step: "b", output: "o" } } },
        { name: "b", component: "x", description: "", inputs: { i: { step: "a", output: "o" } } },
      ],
    };
    expect(() => topologicalOrder(bad)).toThrow(/cycle among: a, b/);
    expect(() => pipelineByName("nightly")).toThrow(UsageError);
  });

  it("render as text and Mermaid with every edge", () => {
    const mermaid = renderMermaid(PIPELINES.weekly!);
    expect(mermaid).toContain("ingest_history --> feature");
    expect(mermaid).toContain("promote --> score");
    expect(renderText(PIPELINES.retrain!)).toMatch(/train\s+\[train\]\s+after feature/);
  });
});
