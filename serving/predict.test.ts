import { mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { openStorage } from "../components/common/storage/index.js";
import {
  type BgNbdParams,
  bgnbdExpectedPurchases,
  bgnbdProbAlive,
} from "../components/models/lifetime/bgnbd.js";
import {
  bgnbdInferenceModel,
  type LifetimeInferenceModel,
  loadLifetimeModel,
} from "../components/models/lifetime/model.js";
import { LIFETIME_FORMAT } from "../components/models/lifetime/params.js";
import { type ModelSource, NO_LIFETIME_MODEL } from "./core.js";
import { lifetimeSource } from "./lifetime-source.js";
import type { ModelServer } from "./server.js";
import { fakeServer } from "./testing/index.js";

// POST /predict through HTTP (inject): success bodies against the BG/NBD
// functions called directly, every error status and message, the optional
// model (503 without one), and each body against serving/openapi.yaml.
const CDNOW: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const loaded = bgnbdInferenceModel(CDNOW, "week", "lifetime-0123456789ab");

const doc = parse(readFileSync(new URL("./openapi.yaml", import.meta.url), "utf8"), { merge: true });
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: doc.components }, "openapi");
const validateOk = ajv.compile({ $ref: "openapi#/components/schemas/PredictResponse" });
const validateSingleOk = ajv.compile({ $ref: "openapi#/components/schemas/PredictSingleResponse" });
const validateInvalid = ajv.compile({ $ref: "openapi#/components/schemas/PredictInvalid" });
const validateError = ajv.compile({ $ref: "openapi#/components/schemas/V2Error" });
const documented = Object.keys(doc.paths["/predict"].post.responses);

const servers: ModelServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(lifetime?: ModelSource<"lifetime">, maxRows?: number): Promise<ModelServer> {
  const { server } = await fakeServer({
    lifetime,
    lifetimeHorizonDays: 91,
    ...(maxRows ? { limits: { maxRows } } : {}),
  });
  servers.push(server);
  return server;
}
const fixed = (model: LifetimeInferenceModel | null): ModelSource<"lifetime"> => ({
  name: "lifetime",
  load: async () => model,
});

async function post(server: ModelServer, payload: unknown, contentType = "application/json") {
  const r = await server.app.inject({
    method: "POST",
    url: "/predict",
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    headers: { "content-type": contentType },
  });
  const body = r.json();
  expect(documented, `status ${r.statusCode} is not documented`).toContain(String(r.statusCode));
  const seedShape = typeof body.code === "number";
  const validate =
    r.statusCode === 200
      ? seedShape
        ? validateSingleOk
        : validateOk
      : seedShape
        ? validateInvalid
        : validateError;
  expect(validate(body), ajv.errorsText(validate.errors)).toBe(true);
  return { status: r.statusCode, body };
}

describe("POST /predict", () => {
  it("answers P(alive) and expected purchases equal to bgnbd.ts for the same inputs", async () => {
    const server = await serve(fixed(loaded));
    const customers = [
      { id: "a", frequency: 2, recency: 30.43, T: 38.86 },
      { id: "b", frequency: 0, recency: 0, T: 38.86 },
      { frequency: 7, recency: 35, T: 38.86 },
    ];
    const { status, body } = await post(server, { customers, horizon: 39 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ model_version: loaded.version, time_unit: "week", horizon: 39 });
    expect(body.predictions.map((p: { id: unknown }) => p.id)).toEqual(["a", "b", null]);
    customers.forEach((c, i) => {
      expect(body.predictions[i].prob_alive).toBe(bgnbdProbAlive(CDNOW, c));
      expect(body.predictions[i].expected_purchases).toBe(bgnbdExpectedPurchases(CDNOW, 39, c));
    });
    // Published CDNOW reference values (FHL 2005 parameters).
    expect(body.predictions[0].prob_alive).toBeCloseTo(0.727, 2);
    expect(body.predictions[1].prob_alive).toBe(1);
    expect(body.predictions[0].expected_purchases).toBeGreaterThan(0);
  });

  it("defaults the horizon to lifetime.horizon_days in the model's unit", async () => {
    const server = await serve(fixed(bgnbdInferenceModel(CDNOW, "day", loaded.version)));
    const c = { frequency: 3, recency: 100, T: 200 };
    const { status, body } = await post(server, { customers: [c] });
    expect(status).toBe(200);
    expect(body.horizon).toBe(91);
    expect(body.predictions[0].expected_purchases).toBe(bgnbdExpectedPurchases(CDNOW, 91, c));
    const weekly = await serve(fixed(loaded));
    expect((await post(weekly, { customers: [c] })).body.horizon).toBe(13);
  });

  const errors: Array<[string, unknown, number, RegExp]> = [
    ["malformed JSON", "{not json", 400, /malformed JSON/],
    ["customers not an array", { customers: 3 }, 400, /^customers: .*array/],
    [
      "a string frequency",
      { customers: [{ frequency: "2", recency: 1, T: 2 }] },
      400,
      /customers\[0\]\.frequency: .*number/,
    ],
    [
      "a missing T",
      {
        customers: [
          { frequency: 1, recency: 1 },
          { frequency: 1, recency: 1 },
        ],
      },
      400,
      /customers\[0\]\.T: .*customers\[1\]\.T: /,
    ],
    [
      "a null recency",
      { customers: [{ frequency: 1, recency: null, T: 2 }] },
      400,
      /customers\[0\]\.recency: /,
    ],
    [
      "a negative recency",
      {
        customers: [
          { frequency: 0, recency: 0, T: 2 },
          { frequency: 1, recency: -1, T: 2 },
        ],
      },
      422,
      /^customers\[1\]\.recency: .*>=0/,
    ],
    ["a negative T", { customers: [{ frequency: 0, recency: 0, T: -1 }] }, 422, /customers\[0\]\.T: /],
    [
      "a fractional frequency",
      { customers: [{ frequency: 1.5, recency: 1, T: 2 }] },
      422,
      /customers\[0\]\.frequency: .*int/i,
    ],
    [
      "recency after T",
      { customers: [{ frequency: 2, recency: 40, T: 38.86 }] },
      422,
      /customers\[0\]\.recency: must be <= T \(got recency 40, T 38\.86\)/,
    ],
    [
      "recency without repeat purchases",
      { customers: [{ frequency: 0, recency: 5, T: 10 }] },
      422,
      /customers\[0\]\.recency: must be 0 when frequency is 0/,
    ],
    ["a huge value", { customers: [{ frequency: 1, recency: 1, T: 1e300 }] }, 422, /customers\[0\]\.T: /],
    [
      "a negative horizon",
      { customers: [{ frequency: 1, recency: 1, T: 2 }], horizon: -1 },
      422,
      /^horizon: /,
    ],
    ["an empty list", { customers: [] }, 422, /customers: must list at least one customer/],
    [
      "too many customers",
      { customers: Array(4).fill({ frequency: 1, recency: 1, T: 2 }) },
      422,
      /customers: must list at most 3 customers/,
    ],
  ];
  for (const [what, payload, status, message] of errors) {
    it(`answers ${status} for ${what}`, async () => {
      const server = await serve(fixed(loaded), 3);
      const r = await post(server, payload);
      expect(r.status).toBe(status);
      expect(r.body.error).toMatch(message);
    });
  }

  it("answers the seed's literal single-customer body in the seed's shape", async () => {
    const server = await serve(fixed(loaded));
    const r = await server.app.inject({
      method: "POST",
      url: "/predict",
      payload: '{"frequency":30,"recency":100,"T":215}',
      headers: { "content-type": "application/json" },
    });
    expect(r.statusCode).toBe(200);
    const c = { frequency: 30, recency: 100, T: 215 };
    expect(r.json()).toEqual({
      code: 200,
      status: "success",
      data: {
        prob_alive: String(bgnbdProbAlive(CDNOW, c)),
        expected_purchases: bgnbdExpectedPurchases(CDNOW, 13, c),
        model_version: loaded.version,
        time_unit: "week",
        horizon: 13,
      },
    });
    expect(validateSingleOk(r.json()), ajv.errorsText(validateSingleOk.errors)).toBe(true);
    // The same customer in the batch form answers the same number, unchanged in shape.
    const batch = await post(server, { customers: [c] });
    expect(String(batch.body.predictions[0].prob_alive)).toBe(r.json().data.prob_alive);
    const horizon = await post(server, { ...c, horizon: 52 });
    expect(horizon.body.data.expected_purchases).toBe(bgnbdExpectedPurchases(CDNOW, 52, c));
  });

  it("answers the seed's invalid-request example 422, echoing the body and naming every bad field", async () => {
    const server = await serve(fixed(loaded));
    const literal = '{"frequency":30,"recency":100,"wrong_variable":215}';
    const r = await server.app.inject({
      method: "POST",
      url: "/predict",
      payload: literal,
      headers: { "content-type": "application/json" },
    });
    expect(r.statusCode).toBe(422);
    const body = r.json();
    expect(validateInvalid(body), ajv.errorsText(validateInvalid.errors)).toBe(true);
    expect(body.code).toBe(422);
    expect(body.status).toBe("error");
    expect(body.message).toEqual({ "INVALID REQUEST": JSON.parse(literal) });
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["T", "wrong_variable"]);
    expect(body.errors.find((e: { field: string }) => e.field === "T").message).toMatch(/missing/);
    expect(body.errors.find((e: { field: string }) => e.field === "wrong_variable").message).toMatch(
      /unknown/,
    );
  });

  const invalidSingles: Array<[string, unknown, string[]]> = [
    ["an empty object", {}, ["frequency", "recency", "T"]],
    ["an array body", [], ["body"]],
    ["a negative frequency and a string T", { frequency: -1, recency: 0, T: "x" }, ["frequency", "T"]],
    ["recency after T", { frequency: 3, recency: 300, T: 215 }, ["recency"]],
    ["a fractional frequency", { frequency: 1.5, recency: 1, T: 2 }, ["frequency"]],
    ["a huge T and an unknown field", { frequency: 1, recency: 1, T: 1e300, extra: 1 }, ["T", "extra"]],
  ];
  for (const [what, payload, fields] of invalidSingles) {
    it(`answers 422 in the seed's shape for ${what}`, async () => {
      const r = await post(await serve(fixed(loaded)), payload);
      expect(r.status).toBe(422);
      expect(r.body.message["INVALID REQUEST"]).toEqual(payload);
      expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([...fields].sort());
    });
  }

  it("answers 503 (not 422) for the seed's body while no lifetime model is loaded", async () => {
    const r = await post(await serve(fixed(null)), { frequency: 30, recency: 100, wrong_variable: 215 });
    expect(r).toEqual({ status: 503, body: { error: NO_LIFETIME_MODEL } });
  });

  it("answers 415 for a body that is not JSON", async () => {
    const server = await serve(fixed(loaded));
    const r = await post(server, "x", "application/octet-stream");
    expect(r.status).toBe(415);
  });

  it("answers 503 with the reason while no lifetime model exists, and churn is still served", async () => {
    for (const server of [await serve(), await serve(fixed(null))]) {
      const r = await post(server, { customers: [{ frequency: 1, recency: 1, T: 2 }] });
      expect(r).toEqual({ status: 503, body: { error: NO_LIFETIME_MODEL } });
      expect(NO_LIFETIME_MODEL).toContain("churn pipeline run lifetime");
      expect(server.ready()).toBe(true);
      expect((await server.app.inject({ method: "GET", url: "/v2/models/churn" })).statusCode).toBe(200);
    }
  });
});

describe("lifetime model source", () => {
  const model = (params: Record<string, number>, kind = "bgnbd") =>
    JSON.stringify({
      format: LIFETIME_FORMAT,
      model: kind,
      params,
      time_unit: "week",
      fit: { log_likelihood: -9582.4, customers: 2357, penalizer: 0, converged: true },
    });
  async function bucket(files: Record<string, [string, number]>) {
    const dir = mkdtempSync(join(tmpdir(), "predict-"));
    dirs.push(dir);
    const storage = await openStorage(dir);
    for (const [name, [text, mtime]] of Object.entries(files)) {
      await storage.write(name, text);
      utimesSync(join(dir, name), mtime, mtime);
    }
    return storage;
  }

  it("serves the newest models/lifetime/*.json by update time", async () => {
    const storage = await bucket({
      "models/lifetime/lifetime-aaaaaaaaaaaa.json": [model({ ...CDNOW, r: 0.5 }), 2_000_000],
      "models/lifetime/lifetime-bbbbbbbbbbbb.json": [model({ ...CDNOW }), 3_000_000],
      "models/lifetime/lifetime-cccccccccccc.json": [model({ ...CDNOW, r: 0.9 }), 1_000_000],
      "models/lifetime/notes.txt": ["x", 4_000_000],
    });
    const server = await serve(lifetimeSource(storage, loadLifetimeModel));
    const c = { frequency: 2, recency: 30.43, T: 38.86 };
    const r = await post(server, { customers: [c] });
    expect(r.body.model_version).toBe("lifetime-bbbbbbbbbbbb");
    expect(r.body.predictions[0].prob_alive).toBe(bgnbdProbAlive(CDNOW, c));
  });

  it("keeps serving churn and answers 503 naming the file when the newest model is invalid", async () => {
    const storage = await bucket({
      "models/lifetime/lifetime-dddddddddddd.json": [
        model({ r: 1, alpha: 1, s: 1, beta: 1 }, "pareto-nbd"),
        1_000,
      ],
      "models/lifetime/lifetime-eeeeeeeeeeee.json": ['{"format": "nope"}', 2_000],
    });
    const server = await serve(lifetimeSource(storage, loadLifetimeModel));
    expect(server.ready()).toBe(true);
    const r = await post(server, { customers: [{ frequency: 1, recency: 1, T: 2 }] });
    expect(r.status).toBe(503);
    expect(r.body.error).toContain(NO_LIFETIME_MODEL);
    expect(r.body.error).toContain(
      "models/lifetime/lifetime-eeeeeeeeeeee.json is not a valid churn-lifetime/1 model",
    );
  });

  it("rejects a Pareto/NBD document by name rather than serving it with BG/NBD formulas", async () => {
    const storage = await bucket({
      "models/lifetime/lifetime-ffffffffffff.json": [
        model({ r: 1, alpha: 1, s: 1, beta: 1 }, "pareto-nbd"),
        1_000,
      ],
    });
    const server = await serve(lifetimeSource(storage, loadLifetimeModel));
    const r = await post(server, { customers: [{ frequency: 1, recency: 1, T: 2 }] });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatch(
      /lifetime-ffffffffffff\.json: model "pareto-nbd" is not served by \/predict/,
    );
  });

  it("follows models/lifetime/ by polling: a model written later is served without a restart", async () => {
    const storage = await bucket({});
    const server = await serve(lifetimeSource(storage, loadLifetimeModel, { pollMs: 20 }));
    const payload = { customers: [{ frequency: 1, recency: 1, T: 2 }] };
    expect((await post(server, payload)).status).toBe(503);
    await storage.write("models/lifetime/lifetime-aaaaaaaaaaaa.json", model({ ...CDNOW }));
    for (let i = 0; i < 100 && !server.core.has("lifetime"); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await post(server, payload)).body.model_version).toBe("lifetime-aaaaaaaaaaaa");
  });

  it("swaps in a newer model on reload", async () => {
    const storage = await bucket({
      "models/lifetime/lifetime-aaaaaaaaaaaa.json": [model({ ...CDNOW }), 1_000],
    });
    const server = await serve(lifetimeSource(storage, loadLifetimeModel));
    const payload = { customers: [{ frequency: 1, recency: 1, T: 2 }] };
    expect((await post(server, payload)).body.model_version).toBe("lifetime-aaaaaaaaaaaa");
    await storage.write("models/lifetime/lifetime-bbbbbbbbbbbb.json", model({ ...CDNOW, r: 0.5 }));
    await server.reload("lifetime");
    expect((await post(server, payload)).body.model_version).toBe("lifetime-bbbbbbbbbbbb");
  });
});

describe("V2 model lifetime", () => {
  const tensor = (name: string, data: number[], datatype = "FP64") => ({
    name,
    shape: [data.length],
    datatype,
    data,
  });
  const customers = [
    { frequency: 2, recency: 30.43, T: 38.86 },
    { frequency: 0, recency: 0, T: 38.86 },
  ];
  const inputs = [
    tensor("frequency", [2, 0], "INT32"),
    tensor("recency", [30.43, 0]),
    tensor("T", [38.86, 38.86]),
  ];
  const infer = async (server: ModelServer, payload: unknown, url = "/v2/models/lifetime/infer") => {
    const r = await server.app.inject({ method: "POST", url, payload: payload as object });
    return { status: r.statusCode, body: r.json() };
  };

  it("infers prob_alive and expected_purchases equal to bgnbd.ts, honouring outputs and horizon", async () => {
    const server = await serve(fixed(loaded));
    const r = await infer(server, { id: "q1", inputs, parameters: { horizon: 39 } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      model_name: "lifetime",
      model_version: loaded.version,
      id: "q1",
      parameters: { time_unit: "week", horizon: 39 },
    });
    expect(r.body.outputs).toEqual([
      tensor(
        "prob_alive",
        customers.map((c) => bgnbdProbAlive(CDNOW, c)),
      ),
      tensor(
        "expected_purchases",
        customers.map((c) => bgnbdExpectedPurchases(CDNOW, 39, c)),
      ),
    ]);
    const rowMajor = {
      inputs: [
        {
          name: "x",
          shape: [1, 3],
          datatype: "FP64",
          data: [2, 30.43, 38.86],
          parameters: { columns: ["frequency", "recency", "T"] },
        },
      ],
      outputs: [{ name: "prob_alive" }],
    };
    const one = await infer(server, rowMajor, `/v2/models/lifetime/versions/${loaded.version}/infer`);
    expect(one.body.outputs).toEqual([tensor("prob_alive", [bgnbdProbAlive(CDNOW, customers[0]!)])]);
    expect(one.body.parameters.horizon).toBe(13);
  });

  it("serves metadata and readiness, and keeps churn on the generic routes", async () => {
    const server = await serve(fixed(loaded));
    const meta = await server.app.inject({ method: "GET", url: "/v2/models/lifetime" });
    expect(meta.json()).toMatchObject({
      name: "lifetime",
      versions: [loaded.version],
      inputs: ["frequency", "recency", "T"].map((name) => ({ name, datatype: "FP64", shape: [-1] })),
      outputs: ["prob_alive", "expected_purchases"].map((name) => ({ name, datatype: "FP64" })),
    });
    const ready = await server.app.inject({ method: "GET", url: "/v2/models/lifetime/ready" });
    expect([ready.statusCode, ready.json()]).toEqual([200, { name: "lifetime", ready: true }]);
    const churn = await server.app.inject({ method: "GET", url: "/v2/models/churn" });
    expect(churn.json().name).toBe("churn");
  });

  const errors: Array<[string, unknown, number, RegExp, string?]> = [
    ["an unknown input", { inputs: [...inputs, tensor("age", [1, 2])] }, 400, /unknown input "age"/],
    [
      "an unknown output",
      { inputs, outputs: [{ name: "probability" }] },
      400,
      /unknown output "probability"/,
    ],
    ["a missing input", { inputs: inputs.slice(0, 2) }, 400, /rows\[0\]\.T: /],
    [
      "recency after T",
      { inputs: [inputs[0], tensor("recency", [40, 0]), inputs[2]] },
      422,
      /rows\[0\]\.recency: must be <= T/,
    ],
    [
      "a fractional frequency",
      { inputs: [tensor("frequency", [1.5, 0]), ...inputs.slice(1)] },
      422,
      /rows\[0\]\.frequency: /,
    ],
    ["a bad horizon", { inputs, parameters: { horizon: "long" } }, 400, /^horizon: /],
    [
      "a version not served",
      { inputs },
      404,
      /version 0 is not served/,
      "/v2/models/lifetime/versions/0/infer",
    ],
  ];
  for (const [what, payload, status, message, url] of errors) {
    it(`answers ${status} for ${what}`, async () => {
      const server = await serve(fixed(loaded));
      const r = await infer(server, payload, url);
      expect(r.status).toBe(status);
      expect(r.body.error).toMatch(message);
    });
  }

  it("answers 503 (metadata, infer) and not ready without a model, while the server stays ready", async () => {
    const server = await serve(fixed(null));
    expect((await infer(server, { inputs })).body).toEqual({ error: NO_LIFETIME_MODEL });
    const meta = await server.app.inject({ method: "GET", url: "/v2/models/lifetime" });
    expect(meta.statusCode).toBe(503);
    const ready = await server.app.inject({ method: "GET", url: "/v2/models/lifetime/ready" });
    expect([ready.statusCode, ready.json()]).toEqual([
      503,
      { name: "lifetime", ready: false, reason: NO_LIFETIME_MODEL },
    ]);
    const health = await server.app.inject({ method: "GET", url: "/v2/health/ready" });
    expect(health.statusCode).toBe(200);
  });
});
