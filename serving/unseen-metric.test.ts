import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelServer } from "./server.js";
import { fakeServer, loadFixtures } from "./testing/index.js";

// The server counts scored rows whose category value training never saw, per
// column, with ingest's rule (components/ingest/unseen.ts), in /metrics.
const fixture = loadFixtures().find((f) => f.file === "seldon-jsondata.json")!;
const rows = (fixture.body as { jsonData: Array<Record<string, unknown>> }).jsonData;
let server: ModelServer;
beforeAll(async () => {
  ({ server } = await fakeServer({ processMetrics: false }));
});
afterAll(() => server.close());

async function counted(): Promise<Record<string, number>> {
  const text = (await server.app.inject({ url: "/metrics" })).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(
    /^churn_serving_unseen_category_rows_total\{model="churn",column="([^"]+)"\} (\d+)$/gm,
  ))
    out[m[1]!] = Number(m[2]);
  return out;
}

describe("unseen category metric", () => {
  it("counts rows with category values training never saw, by column, and nothing for known values", async () => {
    await server.app.inject({ method: "POST", url: fixture.path, payload: fixture.body as object });
    expect(await counted()).toEqual({});
    const unseen = rows.map((r, i) => ({
      ...r,
      Education_Level: i < 2 ? "PhD Candidate" : r.Education_Level,
      Gender: i === 0 ? "X" : r.Gender,
    }));
    const r = await server.app.inject({ method: "POST", url: fixture.path, payload: { jsonData: unseen } });
    expect(r.statusCode).toBe(200);
    expect(await counted()).toEqual({ Education_Level: Math.min(2, rows.length), Gender: 1 });
  });
});
