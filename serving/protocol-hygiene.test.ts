import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bgnbdProbAlive } from "../components/models/lifetime/bgnbd.js";
import { bgnbdInferenceModel } from "../components/models/lifetime/model.js";
import type { ModelServer } from "./server.js";
import { fakeServer, loadFixtures } from "./testing/index.js";

// The content-type rule (content-types.ts) and the 405 rule (route-table.ts)
// through HTTP: which bodies each route reads, Seldon's form-encoded
// microservice message on /predict and /api/v1.0/predictions, and Allow.
const CDNOW = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const seed = '{"frequency":30,"recency":100,"T":215}';
const seldon = loadFixtures().find((f) => f.file === "seldon-ndarray.json")!;
let server: ModelServer;
beforeAll(async () => {
  const lifetime = bgnbdInferenceModel(CDNOW, "week", "lifetime-0123456789ab");
  ({ server } = await fakeServer({ lifetime: { name: "lifetime", load: async () => lifetime } }));
});
afterAll(() => server.close());

async function post(url: string, payload: string, contentType?: string) {
  const r = await server.app.inject({
    method: "POST",
    url,
    payload,
    headers: contentType === undefined ? {} : { "content-type": contentType },
  });
  return { status: r.statusCode, body: r.json() };
}

describe("request bodies by content type", () => {
  const probAlive = String(bgnbdProbAlive(CDNOW, { frequency: 30, recency: 100, T: 215 }));
  it.each([
    ["application/json", "application/json"],
    ["application/json with charset=utf-8", "application/json; charset=utf-8"],
    ["text/plain", "text/plain"],
    ["no content type", undefined],
    ["a form body that is one JSON object (curl -d)", "application/x-www-form-urlencoded"],
  ])("reads the lifetime contract on /predict from %s", async (_what, type) => {
    const r = await post("/predict", seed, type);
    expect(r.status).toBe(200);
    expect(r.body.data.prob_alive).toBe(probAlive);
  });

  it("answers a form-encoded json= field on /predict and /api/v1.0/predictions as a Seldon message", async () => {
    const form = `json=${encodeURIComponent(JSON.stringify(seldon.body))}`;
    const direct = await post("/api/v1.0/predictions", JSON.stringify(seldon.body), "application/json");
    expect(direct.status).toBe(200);
    for (const url of ["/predict", "/api/v1.0/predictions"]) {
      const r = await post(url, form, "application/x-www-form-urlencoded");
      expect([url, r.status]).toEqual([url, 200]);
      expect(r.body).toEqual(direct.body);
    }
    // A bad Seldon message through the form answers in Seldon's error shape, even on /predict.
    const bad = await post(
      "/predict",
      `json=${encodeURIComponent('{"jsonData":{"nope":1}}')}`,
      "application/x-www-form-urlencoded",
    );
    expect(bad.status).toBe(422);
    expect(bad.body.status.status).toBe("FAILURE");
    const broken = await post("/predict", "json=%7Bnot", "application/x-www-form-urlencoded");
    expect([broken.status, broken.body.status.info]).toEqual([
      400,
      expect.stringMatching(/malformed JSON in the json= field/),
    ]);
    const noField = await post("/predict", "a=1", "application/x-www-form-urlencoded");
    expect([noField.status, noField.body.error]).toEqual([400, expect.stringMatching(/json= field/)]);
  });

  it.each([
    ["/predict", "application/xml"],
    ["/predict", "application/json; charset=latin1"],
    ["/predict", "text/plain; charset=iso-8859-1"],
    ["/v2/models/churn/infer", "application/x-www-form-urlencoded"],
    ["/api/v1.0/explain", "application/x-www-form-urlencoded"],
    ["/v2/models/lifetime/infer", "application/octet-stream"],
  ])("answers 415 on %s for %s", async (url, type) => {
    const r = await post(url, "{}", type);
    expect(r.status).toBe(415);
    expect(JSON.stringify(r.body)).toMatch(/unsupported/);
  });
});

describe("methods", () => {
  it.each([
    ["GET", "/predict", "POST"],
    ["PUT", "/v2/models/churn/infer", "POST"],
    ["DELETE", "/v2/health/ready", "GET, HEAD"],
    ["POST", "/v2", "GET, HEAD"],
    ["PATCH", "/v2/models/churn/versions/abc", "GET, HEAD"],
    ["GET", "/v2/repository/index", "POST"],
  ])("answers %s %s with 405 and Allow: %s", async (method, url, allow) => {
    const r = await server.app.inject({ method: method as "GET", url });
    expect(r.statusCode).toBe(405);
    expect(r.headers.allow).toBe(allow);
    expect(r.json().error).toContain(`does not take ${method}`);
  });

  it("still answers 404 for a path no route has", async () => {
    const r = await server.app.inject({ method: "GET", url: "/v3/nothing" });
    expect([r.statusCode, r.headers.allow]).toEqual([404, undefined]);
  });
});
