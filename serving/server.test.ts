import { afterEach, describe, expect, it } from "vitest";
import type { RawRow } from "../components/models/inference.js";
import { REASON_SEPARATOR } from "./codecs/v2.js";
import { DEFAULT_CORE_LIMITS } from "./core.js";
import { normalizeRows } from "./rows.js";
import type { ModelServer } from "./server.js";
import { FakeSource, fakeModel, fakeServer, loadFixtures, testSchema } from "./testing/index.js";

// Protocol tests: every documented request example in serving/fixtures/ goes
// through HTTP (inject), and each answer is checked field by field against the
// model called directly on the same rows.
const schema = testSchema();
const model = fakeModel(schema, { seed: 1 });
const direct = (rows: RawRow[]) => model.score(normalizeRows(schema, rows, DEFAULT_CORE_LIMITS));
const servers: ModelServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function server(options: Parameters<typeof fakeServer>[0] = {}) {
  const made = await fakeServer(options);
  servers.push(made.server);
  return made;
}

const fixtures = loadFixtures();

describe("documented examples", () => {
  it("covers both protocols, success and error cases", () => {
    expect(
      fixtures.filter((f) => f.path.startsWith("/v2/") && f.status === 200).length,
    ).toBeGreaterThanOrEqual(4);
    expect(
      fixtures.filter((f) => f.path.startsWith("/api/v1.0/") && f.status === 200).length,
    ).toBeGreaterThanOrEqual(2);
    expect(fixtures.filter((f) => f.status >= 400).length).toBeGreaterThanOrEqual(4);
  });

  for (const fixture of fixtures) {
    it(`${fixture.file}: ${fixture.description}`, async () => {
      const { server: s } = await server();
      const response = await s.app.inject({
        method: fixture.method,
        url: fixture.path,
        payload: fixture.body as object,
      });
      expect(response.statusCode).toBe(fixture.status);
      const body = response.json();
      const request = fixture.body as {
        id?: string;
        outputs?: Array<{ name: string }>;
        meta?: { puid?: string };
      };
      if (fixture.status >= 400) {
        const message: string = fixture.path.startsWith("/api/") ? body.status.info : body.error;
        if (fixture.path.startsWith("/api/")) {
          expect(body.status).toMatchObject({
            code: fixture.status,
            status: "FAILURE",
            reason: "MICROSERVICE_BAD_DATA",
          });
        } else {
          expect(Object.keys(body)).toEqual(["error"]);
        }
        for (const word of fixture.errorMentions ?? []) expect(message).toContain(word);
        return;
      }
      const rows = fixture.rows!;
      const expected = direct(rows);
      const explained = model.explain(normalizeRows(schema, rows, DEFAULT_CORE_LIMITS));
      const features = schema.columns.filter((c) => c.role === "feature").map((c) => c.name);
      if (fixture.path === "/v2/models/churn/infer") {
        expect(body.model_name).toBe("churn");
        expect(body.model_version).toBe(model.version);
        expect(body.id).toBe(request.id);
        const names = request.outputs?.map((o) => o.name) ?? [
          "probability",
          "tier",
          "reasons",
          "reason_codes",
        ];
        expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(names);
        for (const output of body.outputs) {
          expect(output.shape).toEqual([rows.length]);
          if (output.name === "probability") {
            expect(output.datatype).toBe("FP64");
            expect(output.data).toEqual(expected.map((e) => e.probability));
          } else if (output.name === "tier") {
            expect(output.datatype).toBe("BYTES");
            expect(output.data).toEqual(expected.map((e) => e.tier));
          } else if (output.name === "reason_codes") {
            expect(output.datatype).toBe("BYTES");
            expect(output.data).toEqual(expected.map((e) => e.reasonCodes));
          } else {
            expect(output.datatype).toBe("BYTES");
            expect(output.data).toEqual(expected.map((e) => e.reasons.join(REASON_SEPARATOR)));
          }
        }
      } else if (fixture.path === "/v2/models/churn/explain") {
        expect(body.id).toBe(request.id);
        const [base, contributions] = body.outputs;
        expect(base).toEqual({
          name: "base",
          shape: [rows.length],
          datatype: "FP64",
          data: explained.map((e) => e.base),
        });
        expect(contributions.shape).toEqual([rows.length, features.length]);
        expect(contributions.parameters.columns).toEqual(features);
        expect(contributions.data).toEqual(explained.flatMap((e) => features.map((f) => e.contributions[f])));
      } else if (fixture.path === "/api/v1.0/predictions") {
        expect(body.data.names).toEqual(["t:0", "t:1"]);
        expect(body.data.ndarray).toEqual(expected.map((e) => [1 - e.probability, e.probability]));
        expect(body.meta.tags.tiers).toEqual(expected.map((e) => e.tier));
        expect(body.meta.tags.reasons).toEqual(expected.map((e) => e.reasons));
        expect(body.meta.tags.model_version).toBe(model.version);
        expect(body.meta.requestPath).toEqual({ churn: model.version });
        expect(body.meta.puid).toBe(request.meta?.puid);
      } else if (fixture.path === "/api/v1.0/explain") {
        expect(body.data.names).toEqual(features);
        expect(body.data.ndarray).toEqual(explained.map((e) => features.map((f) => e.contributions[f])));
        expect(body.meta.tags.base).toEqual(explained.map((e) => e.base));
      } else {
        throw new Error(`no checks for ${fixture.path}`);
      }
    });
  }
});

describe("health, metadata and readiness", () => {
  it("is live at once but ready only after the model has loaded", async () => {
    const source = new FakeSource(() => model, 50);
    const { createModelServer } = await import("./server.js");
    const s = await createModelServer({ sources: [source], processMetrics: false });
    servers.push(s);
    expect((await s.app.inject({ url: "/v2/health/live" })).statusCode).toBe(200);
    const notReady = await s.app.inject({ url: "/v2/health/ready" });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({
      ready: false,
      reason: "no model loaded yet (churn: model churn is not loaded yet: retry shortly)",
    });
    const churnReady = await s.app.inject({ url: "/v2/models/churn/ready" });
    expect([churnReady.statusCode, churnReady.json().ready]).toEqual([503, false]);
    const early = await s.app.inject({
      method: "POST",
      url: "/v2/models/churn/infer",
      payload: fixtures.find((f) => f.file === "v2-infer-columns.json")!.body as object,
    });
    expect(early.statusCode).toBe(503);
    await s.start();
    expect((await s.app.inject({ url: "/v2/health/ready" })).statusCode).toBe(200);
    expect((await s.app.inject({ url: "/v2/models/churn/ready" })).json()).toEqual({
      name: "churn",
      ready: true,
    });
  });

  it("describes the model: one input per feature with its datatype, three outputs", async () => {
    const { server: s } = await server();
    const meta = (await s.app.inject({ url: "/v2/models/churn" })).json();
    expect(meta.name).toBe("churn");
    expect(meta.versions).toEqual([model.version]);
    const features = schema.columns.filter((c) => c.role === "feature");
    expect(meta.inputs.map((i: { name: string }) => i.name)).toEqual(features.map((c) => c.name));
    expect(meta.inputs.find((i: { name: string }) => i.name === "Gender").datatype).toBe("BYTES");
    expect(meta.inputs.find((i: { name: string }) => i.name === "Has_Mobile_App").datatype).toBe("BOOL");
    expect(meta.outputs.map((o: { name: string }) => o.name)).toEqual([
      "probability",
      "tier",
      "reasons",
      "reason_codes",
    ]);
    expect((await s.app.inject({ url: `/v2/models/churn/versions/${model.version}` })).statusCode).toBe(200);
    expect((await s.app.inject({ url: "/v2/models/churn/versions/0000000000000000" })).statusCode).toBe(404);
    expect((await s.app.inject({ url: "/v2/models/lifetimes" })).statusCode).toBe(404);
    expect((await s.app.inject({ url: "/v2" })).json()).toMatchObject({ name: "churn-serving" });
  });

  it("serves the versioned infer route for the served version only", async () => {
    const { server: s } = await server();
    const body = fixtures.find((f) => f.file === "v2-infer-columns.json")!.body as object;
    const ok = await s.app.inject({
      method: "POST",
      url: `/v2/models/churn/versions/${model.version}/infer`,
      payload: body,
    });
    expect(ok.statusCode).toBe(200);
    const old = await s.app.inject({
      method: "POST",
      url: "/v2/models/churn/versions/abc/infer",
      payload: body,
    });
    expect(old.statusCode).toBe(404);
    expect(old.json().error).toContain(model.version);
  });
});

describe("limits, hot swap and metrics", () => {
  it("refuses a batch over the row limit and a body over the byte limit with 4xx", async () => {
    const { server: s } = await server({ limits: { maxRows: 2, bodyBytes: 4096 } });
    const three = fixtures.find((f) => f.file === "seldon-ndarray.json")!;
    const rows = await s.app.inject({ method: "POST", url: three.path, payload: three.body as object });
    expect(rows.statusCode).toBe(422);
    expect(rows.json().status.info).toContain("limit of 2");
    const big = await s.app.inject({
      method: "POST",
      url: three.path,
      payload: { jsonData: { x: "y".repeat(5000) } },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().status.status).toBe("FAILURE");
  });

  it("swaps to a new model only once it is loaded, and reports versions, rows and loads in /metrics", async () => {
    const source = new FakeSource(() => model, 0);
    const { server: s } = await server({ source });
    const next = fakeModel(schema, { seed: 2 });
    expect(next.version).not.toBe(model.version);
    source.delayMs = 30;
    source.change(() => next);
    const during = await s.app.inject({ url: "/v2/models/churn" });
    expect(during.json().versions).toEqual([model.version]);
    await s.reload();
    expect((await s.app.inject({ url: "/v2/models/churn" })).json().versions).toEqual([next.version]);
    const fixture = fixtures.find((f) => f.file === "v2-infer-columns.json")!;
    await s.app.inject({ method: "POST", url: fixture.path, payload: fixture.body as object });
    const text = (await s.app.inject({ url: "/metrics" })).body;
    expect(text).toContain(`churn_serving_model_info{model="churn",version="${next.version}"} 1`);
    expect(text).not.toContain(`version="${model.version}"} 1\nchurn_serving_model_load`);
    expect(text).toMatch(
      new RegExp(`churn_serving_rows_scored_total\\{model="churn",version="${next.version}"\\} 3`),
    );
    expect(text).toContain(
      'churn_serving_requests_total{endpoint="/v2/models/:name/infer",method="POST",status="200"} 1',
    );
    expect(text).toContain('churn_serving_model_loads_total{model="churn",result="ok"} 2');
    expect(text).toMatch(
      /churn_serving_request_duration_seconds_bucket\{le="0.001",endpoint="\/v2\/models\/:name"/,
    );
  });

  it("keeps serving the old model when a reload fails", async () => {
    const source = new FakeSource(() => model, 0);
    const { server: s } = await server({ source });
    source.change(() => {
      throw new Error("bundle unreadable");
    });
    await s.reload();
    expect((await s.app.inject({ url: "/v2/models/churn" })).json().versions).toEqual([model.version]);
    expect((await s.app.inject({ url: "/metrics" })).body).toMatch(
      // Counted under the source's model name (before one load path for every model, "unknown").
      /model_loads_total\{model="churn",result="error"\} [1-9]/,
    );
  });
});
