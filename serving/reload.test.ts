import { afterEach, describe, expect, it } from "vitest";
import { type BgNbdParams, bgnbdProbAlive } from "../components/models/lifetime/bgnbd.js";
import { bgnbdInferenceModel, type LifetimeInferenceModel } from "../components/models/lifetime/model.js";
import { NO_LIFETIME_MODEL } from "./core.js";
import { createModelServer, type ModelServer, type ServerOptions } from "./server.js";
import { FakeModelSource, FakeSource, fakeModel, testSchema } from "./testing/index.js";

// The one load path of every model (ModelServer.reloadSource): the lifetime
// model swapped while requests run, a failed load keeping the served model,
// per-model coalescing, and the readiness rule, with both models' fake sources.
const schema = testSchema();
const CDNOW: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/** Lifetime model n: CDNOW with r scaled, so each version gives different numbers. */
const lifetime = (n: number): LifetimeInferenceModel =>
  bgnbdInferenceModel({ ...CDNOW, r: CDNOW.r * n }, "week", `lifetime-${String(n).repeat(12)}`);
const customer = { frequency: 2, recency: 30.43, T: 38.86 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const servers: ModelServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function server(options: Omit<ServerOptions, "processMetrics">): Promise<ModelServer> {
  const s = await createModelServer({ processMetrics: false, ...options });
  servers.push(s);
  return s;
}
async function predict(s: ModelServer) {
  const r = await s.app.inject({ method: "POST", url: "/predict", payload: { customers: [customer] } });
  return { status: r.statusCode, body: r.json() };
}

describe("one reload path for churn and lifetime", () => {
  it("hot-swaps the lifetime model while requests run: none fails, each answers from one version", async () => {
    const source = new FakeModelSource("lifetime", () => lifetime(1));
    const s = await server({ sources: [new FakeSource(() => fakeModel(schema)), source] });
    await s.start();
    const versions = [1, 2, 3, 4].map((n) => lifetime(n).version);

    let stop = false;
    const failures: string[] = [];
    const seen: string[] = [];
    const client = async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const { status, body } = await predict(s);
        if (status !== 200) failures.push(`${status} ${JSON.stringify(body)}`);
        else {
          const n = versions.indexOf(body.model_version) + 1;
          // The numbers come from the version the answer names, never a mix.
          expect(body.predictions[0].prob_alive).toBe(bgnbdProbAlive(lifetime(n).params, customer));
          if (seen.at(-1) !== body.model_version) seen.push(body.model_version);
        }
        await sleep(1);
      }
    };
    const running = client();
    source.delayMs = 30; // each new model takes a while to load; the old one serves meanwhile
    for (const n of [2, 3, 4]) {
      await sleep(60);
      source.change(() => lifetime(n));
    }
    await sleep(100);
    stop = true;
    await running;

    expect(failures).toEqual([]);
    expect(seen[0]).toBe(versions[0]);
    expect(seen.at(-1)).toBe(versions[3]);
    const order = seen.map((v) => versions.indexOf(v));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(s.core.model("lifetime").version).toBe(versions[3]);
  });

  it("keeps the served lifetime model when a reload fails, and tells why only while none is served", async () => {
    const source = new FakeModelSource<"lifetime">("lifetime", () => {
      throw new Error("models/lifetime/x.json: not JSON");
    });
    const s = await server({ sources: [new FakeSource(() => fakeModel(schema)), source] });
    await s.start(); // an optional model's failed first load does not fail start()
    expect(s.ready()).toBe(true);
    expect(await predict(s)).toEqual({
      status: 503,
      body: { error: `${NO_LIFETIME_MODEL} (models/lifetime/x.json: not JSON)` },
    });

    source.next = () => lifetime(1);
    await s.reload("lifetime");
    expect((await predict(s)).body.model_version).toBe(lifetime(1).version);

    source.next = () => {
      throw new Error("bucket unreachable");
    };
    await s.reload("lifetime");
    const after = await predict(s);
    expect(after.status).toBe(200);
    expect(after.body.model_version).toBe(lifetime(1).version);
    const metrics = (await s.app.inject({ url: "/metrics" })).body;
    expect(metrics).toContain('churn_serving_model_loads_total{model="lifetime",result="error"} 2');
    expect(metrics).toContain('churn_serving_model_loads_total{model="lifetime",result="ok"} 1');
    expect(metrics).toContain(
      `churn_serving_model_info{model="lifetime",version="${lifetime(1).version}"} 1`,
    );

    // A source with nothing to load (no file yet) keeps the served model too.
    source.next = () => null;
    await s.reload("lifetime");
    expect((await predict(s)).body.model_version).toBe(lifetime(1).version);
  });

  it("coalesces reloads per model: a slow churn load neither delays nor absorbs lifetime's", async () => {
    const churn = new FakeSource(() => fakeModel(schema, { seed: 1 }));
    const life = new FakeModelSource("lifetime", () => lifetime(1));
    const s = await server({ sources: [churn, life] });
    await s.start();
    expect([churn.loads, life.loads]).toEqual([1, 1]);

    churn.delayMs = 150;
    life.delayMs = 5;
    churn.next = () => fakeModel(schema, { seed: 2 });
    life.next = () => lifetime(2);
    const churnReloads = [s.reload("churn"), s.reload("churn"), s.reload("churn")];
    await Promise.all([s.reload("lifetime"), s.reload("lifetime"), s.reload("lifetime")]);
    // Lifetime swapped while churn's first reload is still loading.
    expect(s.core.model("lifetime").version).toBe(lifetime(2).version);
    expect(s.core.model("churn").version).toBe(fakeModel(schema, { seed: 1 }).version);
    await Promise.all(churnReloads);
    expect(s.core.model("churn").version).toBe(fakeModel(schema, { seed: 2 }).version);
    // Per model, three calls while idle: one load then, the other two coalesced into one more.
    await sleep(200);
    expect([churn.loads, life.loads]).toEqual([3, 3]);
  });

  it("is ready when a model is loaded and every required one is (churn unless told otherwise)", async () => {
    const churn = new FakeSource(() => fakeModel(schema), 100);
    const life = new FakeModelSource("lifetime", () => lifetime(1));
    const s = await server({ sources: [churn, life] });
    const starting = s.start();
    for (let i = 0; i < 50 && !s.core.has("lifetime"); i++) await sleep(5);
    expect(s.core.has("lifetime")).toBe(true);
    // The lifetime model alone does not make a churn server ready (as before it was served here).
    expect(s.ready()).toBe(false);
    expect((await s.app.inject({ url: "/v2/health/ready" })).statusCode).toBe(503);
    expect((await s.app.inject({ url: "/v2/models/lifetime/ready" })).statusCode).toBe(200);
    await starting;
    expect((await s.app.inject({ url: "/v2/health/ready" })).json()).toEqual({ ready: true });

    // DESIGN's rule with nothing required: ready once any model is loaded, not before.
    const empty = await server({ sources: [new FakeModelSource("lifetime", () => null)], required: [] });
    await empty.start();
    expect(empty.ready()).toBe(false);
    const waiting = await empty.app.inject({ url: "/v2/health/ready" });
    expect([waiting.statusCode, waiting.json().reason]).toEqual([
      503,
      "no model loaded yet (lifetime: no lifetime model: run `churn pipeline run lifetime`)",
    ]);
    const lifetimeOnly = await server({ sources: [life], required: [] });
    await lifetimeOnly.start();
    expect(lifetimeOnly.ready()).toBe(true);
    expect((await predict(lifetimeOnly)).status).toBe(200);
    expect((await lifetimeOnly.app.inject({ url: "/v2/models/churn/ready" })).statusCode).toBe(503);
  });

  it("fails start() on a required model's failed first load only, and refuses two sources for one model", async () => {
    const broken = new FakeSource(() => {
      throw new Error("no champion");
    });
    const s = await server({ sources: [broken, new FakeModelSource("lifetime", () => lifetime(1))] });
    await expect(s.start()).rejects.toThrow("no champion");
    await expect(
      server({ sources: [new FakeSource(() => fakeModel(schema)), new FakeSource(() => fakeModel(schema))] }),
    ).rejects.toThrow("two model sources for model churn");
  });
});

describe("the lifetime model on the generic V2 routes", () => {
  it("is a model like churn: listed in 404s, and explain is a 404 naming what it serves", async () => {
    const s = await server({
      sources: [new FakeSource(() => fakeModel(schema)), new FakeModelSource("lifetime", () => lifetime(1))],
    });
    await s.start();
    const unknown = await s.app.inject({ url: "/v2/models/lifetimes" });
    expect([unknown.statusCode, unknown.json().error]).toEqual([
      404,
      'unknown model "lifetimes": this server serves churn, lifetime',
    ]);
    const inputs = ["frequency", "recency", "T"].map((name, i) => ({
      name,
      shape: [1],
      datatype: "FP64",
      data: [[2, 30.43, 38.86][i]],
    }));
    const explain = await s.app.inject({
      method: "POST",
      url: "/v2/models/lifetime/explain",
      payload: { inputs },
    });
    expect(explain.statusCode).toBe(404);
    expect(explain.json().error).toMatch(/model lifetime .*only churn explains rows/);
    const infer = await s.app.inject({
      method: "POST",
      url: "/v2/models/lifetime/infer",
      payload: { inputs },
    });
    expect(infer.json().outputs[0].data).toEqual([bgnbdProbAlive(CDNOW, customer)]);
    expect((await s.app.inject({ url: "/metrics" })).body).toContain(
      `churn_serving_rows_scored_total{model="lifetime",version="${lifetime(1).version}"} 1`,
    );
  });
});
