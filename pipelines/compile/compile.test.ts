import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { retrainPipeline, weeklyPipeline } from "../definitions/weekly.js";
import { compileGraph, compilePipeline, shardPlanTask } from "./index.js";

const settings = {
  image: "registry.example/churn:1.2.3",
  namespace: "churn",
  serviceAccount: "churn-runner",
  version: "test",
  schedule: "0 6 * * 1",
};

describe("compileGraph", () => {
  it("puts a shard planner right before each fanned-out step, after the step's fanned input", () => {
    const graph = compileGraph(weeklyPipeline);
    const names = graph.tasks.map((t) => t.name);
    const score = names.indexOf("score");
    expect(names[score - 1]).toBe(shardPlanTask("score"));
    expect(graph.tasks[score - 1]!.dependsOn).toEqual(["ingest-weekly"]);
    expect(graph.tasks[score]!.dependsOn).toContain(shardPlanTask("score"));
    expect(graph.tasks[score]!.args).toContainEqual({ shardItem: true });
  });

  it("marks retrain as untriggered", () => {
    expect(compileGraph(retrainPipeline).triggered).toBe(false);
    expect(compileGraph(weeklyPipeline).triggered).toBe(true);
  });
});

describe("compilePipeline", () => {
  it("names an Argo Workflow after nothing (generateName) and runs the given image", () => {
    const doc = parse(compilePipeline({ pipeline: weeklyPipeline, target: "argo", settings }));
    expect(doc.metadata.generateName).toBe("churn-weekly-");
    const images = new Set(
      doc.spec.templates
        .filter((t: { container?: unknown }) => t.container)
        .map((t: { container: { image: string } }) => t.container.image),
    );
    expect([...images]).toEqual([settings.image]);
  });

  it("refuses the score pipeline and an unknown Argo form", () => {
    expect(() =>
      compilePipeline({ pipeline: { ...weeklyPipeline, name: "score" }, target: "kfp", settings }),
    ).toThrow(/cannot be compiled/);
    expect(() =>
      compilePipeline({ pipeline: weeklyPipeline, target: "argo", form: "job" as never, settings }),
    ).toThrow(/unknown Argo form "job"/);
  });
});
