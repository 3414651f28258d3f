import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelServer } from "../serving/server.js";
import { fakeServer, loadFixtures } from "../serving/testing/index.js";

// Fuzz-style robustness: thousands of malformed requests built by a seeded
// generator from the documented examples (JSON mutations, wrong types, huge
// numbers, deep nesting, bad content types, truncated bodies). None may get a
// 5xx, and the server must still answer a good request afterwards.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fixtures = loadFixtures().filter((f) => f.method === "POST");
const good = loadFixtures().find((f) => f.file === "v2-infer-columns.json")!;

const JUNK: unknown[] = [
  null,
  true,
  0,
  -0,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  1.5,
  "",
  "x".repeat(5000),
  "Unknown",
  "\u0000\uffff",
  [],
  {},
  [[[]]],
  { __proto: 1 },
  { constructor: "x" },
  [1, "a", null, {}],
];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  if (depth > 4 || value === null || typeof value !== "object") {
    return random() < 0.5 ? pick(JUNK) : value;
  }
  if (Array.isArray(value)) {
    const copy = [...value];
    const r = random();
    if (r < 0.2 && copy.length) copy.splice(Math.floor(random() * copy.length), 1);
    else if (r < 0.35) copy.push(pick(JUNK));
    else if (copy.length) {
      const i = Math.floor(random() * copy.length);
      copy[i] = mutate(copy[i], random, depth + 1);
    }
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const r = random();
  if (r < 0.15 && keys.length) delete copy[pick(keys)];
  else if (r < 0.25)
    copy[pick(["extra", "inputs", "data", "jsonData", "names", "shape", "datatype"])] = pick(JUNK);
  else if (keys.length) {
    const key = pick(keys);
    copy[key] = mutate(copy[key], random, depth + 1);
  }
  return copy;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/octet-stream",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=latin1",
  "garbage",
];

interface Case {
  url: string;
  payload: string;
  contentType?: string;
}

function generate(random: () => number, n: number): Case[] {
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) {
    const fixture = fixtures[Math.floor(random() * fixtures.length)]!;
    let payload = JSON.stringify(mutate(fixture.body, random));
    const kind = random();
    if (kind < 0.1)
      payload = payload.slice(0, Math.floor(random() * payload.length)); // truncated
    else if (kind < 0.14)
      payload = "[".repeat(1 + Math.floor(random() * 50_000)); // deep nesting, unclosed
    else if (kind < 0.17)
      payload = `${'{"inputs":'.repeat(2000)}1${"}".repeat(2000)}`; // deep nesting, closed
    else if (kind < 0.2)
      payload = Array.from({ length: 64 }, () => String.fromCharCode(Math.floor(random() * 256))).join("");
    else if (kind < 0.22)
      payload = JSON.stringify({
        inputs: [{ name: "Customer_Age", shape: [1e9, 1e9], datatype: "FP64", data: [] }],
      });
    const contentType =
      random() < 0.15
        ? CONTENT_TYPES[Math.floor(random() * CONTENT_TYPES.length)]
        : random() < 0.05
          ? undefined
          : "application/json";
    cases.push({ url: fixture.path, payload, contentType });
  }
  return cases;
}

let server: ModelServer;
beforeAll(async () => {
  ({ server } = await fakeServer({ limits: { bodyBytes: 256 * 1024 } }));
});
afterAll(async () => {
  await server.close();
});

describe("malformed requests", () => {
  it("1,500 seeded malformed requests through inject: all 4xx or 2xx, never 5xx", async () => {
    const cases = generate(mulberry32(20240601), 1500);
    const statuses = new Map<number, number>();
    for (const c of cases) {
      const headers: Record<string, string> = {};
      if (c.contentType) headers["content-type"] = c.contentType;
      const r = await server.app.inject({ method: "POST", url: c.url, payload: c.payload, headers });
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode >= 500)
        throw new Error(`5xx for ${c.url} ${c.contentType}: ${c.payload.slice(0, 300)} -> ${r.body}`);
      if (r.statusCode >= 400) expect(r.body.length).toBeGreaterThan(10); // a reason, not an empty error
    }
    // The generator must mostly produce bad requests, of several kinds.
    const bad = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    expect(bad).toBeGreaterThan(1000);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(3);
    const ok = await server.app.inject({ method: "POST", url: good.path, payload: good.body as object });
    expect(ok.statusCode).toBe(200);
  });

  it("over real sockets: malformed requests, truncated bodies and dropped connections leave the server answering", async () => {
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = new URL(address);
    const cases = generate(mulberry32(7), 200);
    for (const c of cases) {
      const headers: Record<string, string> = {};
      if (c.contentType) headers["content-type"] = c.contentType;
      const r = await fetch(`${address}${c.url}`, { method: "POST", body: c.payload, headers });
      await r.arrayBuffer();
      expect(r.status, c.payload.slice(0, 200)).toBeLessThan(500);
    }
    // Bodies cut short: the client promises more bytes than it sends, then hangs up.
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => {
          socket.write(
            `POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"inputs":[`,
          );
          setTimeout(() => socket.destroy(), 5);
        });
        socket.on("close", () => resolve());
        socket.on("error", () => resolve());
      });
    }
    const r = await fetch(`${address}${good.path}`, {
      method: "POST",
      body: JSON.stringify(good.body),
      headers: { "content-type": "application/json" },
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { outputs: unknown[] }).outputs).toHaveLength(4);
  });
});
