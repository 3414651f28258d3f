import { afterEach, describe, expect, it } from "vitest";
import type { ModelServer } from "./server.js";
import { FakeSource, fakeModel, fakeServer, loadFixtures, testSchema } from "./testing/index.js";

// The V2 model repository extension through HTTP: index, unload, load,
// the token, and readiness following what is loaded.
const servers: ModelServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(token?: string) {
  const source = new FakeSource(() => fakeModel(testSchema(), { seed: 1 }));
  const { server } = await fakeServer({ source, ...(token ? { token } : {}) });
  servers.push(server);
  const call = async (url: string, headers: Record<string, string> = {}, payload = "{}") => {
    const r = await server.app.inject({ method: "POST", url, payload, headers });
    return { status: r.statusCode, body: r.json(), headers: r.headers };
  };
  return { server, source, call };
}

describe("V2 model repository", () => {
  it("indexes, unloads and loads the churn model, and readiness follows", async () => {
    const { server, source, call } = await start();
    const version = server.core.model("churn").version;
    expect((await call("/v2/repository/index")).body).toEqual([
      { name: "churn", version, state: "READY", reason: "" },
    ]);
    expect((await call("/v2/repository/models/churn/unload")).status).toBe(200);
    const index = (await call("/v2/repository/index")).body;
    expect(index[0].state).toBe("UNLOADED");
    expect(index[0].reason).toMatch(/repository\/models\/churn\/load/);
    expect((await server.app.inject({ url: "/v2/health/ready" })).statusCode).toBe(503);
    const infer = loadFixtures().find((f) => f.file === "v2-infer-columns.json")!;
    expect((await call(infer.path, {}, JSON.stringify(infer.body))).status).toBe(503);
    // A poll's change does not bring an unloaded model back; a load does, with the newest model.
    const loads = source.loads;
    source.change(() => fakeModel(testSchema(), { seed: 2 }));
    await new Promise((r) => setTimeout(r, 20));
    expect(server.core.has("churn")).toBe(false);
    expect(source.loads).toBe(loads);
    expect((await call("/v2/repository/models/churn/load")).status).toBe(200);
    expect(server.core.model("churn").version).toBe(fakeModel(testSchema(), { seed: 2 }).version);
    expect((await call("/v2/repository/index", {}, "")).body[0].state).toBe("READY");
    expect((await call("/v2/repository/index", {}, '{"ready":true}')).body).toHaveLength(1);
    expect((await server.app.inject({ url: "/v2/health/ready" })).statusCode).toBe(200);
  });

  it("answers 404 for an unknown model and 503 with the reason when a load leaves no model", async () => {
    const { source, call } = await start();
    expect((await call("/v2/repository/models/nope/load")).status).toBe(404);
    expect((await call("/v2/repository/models/lifetime/unload")).status).toBe(404); // no lifetime source
    expect((await call("/v2/repository/models/churn/unload")).status).toBe(200);
    source.next = () => {
      throw new Error("bundle unreadable");
    };
    const failed = await call("/v2/repository/models/churn/load");
    expect(failed.status).toBe(503);
    expect(failed.body.error).toContain("bundle unreadable");
  });

  it("requires the server's bearer token when one is set", async () => {
    const { call } = await start("s3cret");
    const refused: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: "s3cret" },
    ];
    for (const headers of refused) {
      const r = await call("/v2/repository/models/churn/unload", headers);
      expect(r.status).toBe(401);
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    const ok = await call("/v2/repository/models/churn/unload", { authorization: "Bearer s3cret" });
    expect(ok.status).toBe(200);
  });
});
