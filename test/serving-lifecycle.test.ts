import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FakeSource, fakeModel, fakeServer, loadFixtures, testSchema } from "../serving/testing/index.js";
import { type ServeProcess, startFakeServer } from "./support/cli.js";

// Lifecycle over real sockets on 127.0.0.1: hot reload under continuous load
// with zero failed requests, and a graceful drain on SIGTERM in a real process.
const good = loadFixtures().find((f) => f.file === "v2-infer-columns.json")!;
const body = JSON.stringify(good.body);
const schema = testSchema();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe("hot reload", () => {
  it("swaps model versions under continuous load with zero failed requests", async () => {
    const source = new FakeSource(() => fakeModel(schema, { seed: 1 }), 0);
    const { server } = await fakeServer({ source });
    cleanup.push(() => server.close());
    const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const versions = [1, 2, 3, 4].map((seed) => fakeModel(schema, { seed }).version);

    let stop = false;
    const seen: string[][] = [];
    const failures: string[] = [];
    let requests = 0;
    const client = async (index: number) => {
      seen[index] = [];
      // Bounded in count and time whatever happens.
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const r = await fetch(`${address}${good.path}`, {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          });
          const json = (await r.json()) as { model_version?: string };
          requests++;
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(json)}`);
          else if (seen[index]!.at(-1) !== json.model_version) seen[index]!.push(json.model_version!);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Promise.all([0, 1, 2, 3].map(client));
    source.delayMs = 100; // each new model takes a while to load; the old one serves meanwhile
    for (const seed of [2, 3, 4]) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      source.change(() => fakeModel(schema, { seed }));
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
    stop = true;
    await clients;

    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    expect(server.core.model("churn").version).toBe(versions[3]);
    for (const sequence of seen) {
      // Each client sees versions only move forward, ending on the last one.
      expect(sequence.at(-1)).toBe(versions[3]);
      const order = sequence.map((v) => versions.indexOf(v));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order[0]).toBe(0);
    }
  });
});

async function startProcess(): Promise<ServeProcess> {
  const server = await startFakeServer(["--port", "0"]);
  cleanup.push(() => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
  });
  return server;
}

describe("SIGTERM", () => {
  it("stops accepting, finishes the request in flight, and exits 0", async () => {
    const { child, address, log } = await startProcess();
    const { port } = new URL(address);
    const ready = await fetch(`${address}/v2/health/ready`);
    expect(ready.status).toBe(200);

    // A request in flight: headers and half the body sent before the signal.
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    const half = Math.floor(body.length / 2);
    socket.write(
      `POST ${good.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    // Wait until the server logs that it is draining, then check it no longer accepts.
    for (let i = 0; i < 100 && !log().includes("draining"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(log()).toContain("draining");
    const refused = await fetch(`${address}/v2/health/live`).then(
      (r) => r.status,
      () => "refused",
    );
    expect(refused === "refused" || refused === 503).toBe(true);

    socket.write(body.slice(half));
    const closed = new Promise((resolve) => socket.on("close", resolve));
    await closed;
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(answer).toContain('"model_name":"churn"');
    expect(await exited).toBe(0);
    expect(log()).toContain("model server stopped");
  });

  it("hot-reloads in a real process on a source change signal", async () => {
    const { child, address } = await startProcess();
    const before = ((await (await fetch(`${address}/v2/models/churn`)).json()) as { versions: string[] })
      .versions;
    child.kill("SIGUSR2");
    let after = before;
    for (let i = 0; i < 100 && after[0] === before[0]; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = ((await (await fetch(`${address}/v2/models/churn`)).json()) as { versions: string[] }).versions;
    }
    expect(after).toEqual([fakeModel(schema, { seed: 2 }).version]);
    child.kill("SIGTERM");
    await new Promise((resolve) => child.on("exit", resolve));
  });
});
