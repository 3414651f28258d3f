import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FeatureRow, ScoreOptions } from "../components/models/inference.js";
import type { ModelServer } from "./server.js";
import { FakeSource, fakeModel, fakeServer, loadFixtures, testSchema } from "./testing/index.js";

// Per-request number of reasons: V2 `parameters.reasons`, Seldon
// `meta.tags.reasons`; default unchanged; no reasons computed when a V2
// request asks for no reasons output.
const v2 = loadFixtures().find((f) => f.file === "v2-infer-columns.json")!;
const seldon = loadFixtures().find((f) => f.file === "seldon-ndarray.json")!;
const calls: Array<ScoreOptions | undefined> = [];
let server: ModelServer;
beforeAll(async () => {
  const model = fakeModel(testSchema(), { seed: 1 });
  const score = model.score.bind(model);
  model.score = (rows: FeatureRow[], options?: ScoreOptions) => {
    calls.push(options);
    return score(rows, options);
  };
  ({ server } = await fakeServer({ source: new FakeSource(() => model) }));
});
afterAll(() => server.close());

async function infer(parameters?: Record<string, unknown>, outputs?: string[]) {
  const body = {
    ...(v2.body as object),
    ...(parameters ? { parameters } : {}),
    ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}),
  };
  const r = await server.app.inject({ method: "POST", url: v2.path, payload: body });
  return { status: r.statusCode, body: r.json() };
}
const reasonCounts = (body: { outputs: Array<{ name: string; data: string[] }> }) =>
  body.outputs.find((o) => o.name === "reason_codes")!.data.map((c) => (c === "" ? 0 : c.split(";").length));

describe("reasons per request", () => {
  it("gives V2 rows at most parameters.reasons reasons, the configured number by default", async () => {
    const byDefault = reasonCounts((await infer()).body);
    expect(Math.max(...byDefault)).toBe(3);
    for (const k of [0, 1, 2]) {
      const counts = reasonCounts((await infer({ reasons: k })).body);
      expect(counts).toEqual(byDefault.map((n) => Math.min(n, k)));
    }
    expect(calls.at(-1)).toEqual({ reasons: 2 });
  });

  it("computes no reasons when the request asks for no reasons output", async () => {
    const r = await infer(undefined, ["probability", "tier"]);
    expect(r.status).toBe(200);
    expect(calls.at(-1)).toEqual({ reasons: 0 });
  });

  it.each([[-1], [1.5], ["3"], [65]])("answers 400 for parameters.reasons %j", async (reasons) => {
    const r = await infer({ reasons });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/reasons must be a whole number from 0 to 64/);
  });

  it("reads meta.tags.reasons in a Seldon message", async () => {
    const body = { ...(seldon.body as object), meta: { tags: { reasons: 1 } } };
    const r = await server.app.inject({ method: "POST", url: "/api/v1.0/predictions", payload: body });
    expect(r.statusCode).toBe(200);
    const reasons = r.json().meta.tags.reasons as string[][];
    expect(reasons.some((row) => row.length === 1)).toBe(true);
    expect(reasons.every((row) => row.length <= 1)).toBe(true);
    const bad = await server.app.inject({
      method: "POST",
      url: "/api/v1.0/predictions",
      payload: { ...(seldon.body as object), meta: { tags: { reasons: -2 } } },
    });
    expect([bad.statusCode, bad.json().status.info]).toEqual([400, expect.stringMatching(/reasons must be/)]);
  });
});
