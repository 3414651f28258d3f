import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Notification, sendNotification } from "./notify.js";

const message: Notification = {
  event: "failed",
  pipeline: "weekly",
  run_id: "r-0123456789abcdef",
  bucket: "file:///tmp/b",
  trigger: "weekly/w.csv",
  step: "ingest-weekly",
  exit_code: 2,
  reason: "too many rejected rows",
};

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, bodies };
}

describe("webhook notifications", () => {
  it("deliver one JSON message", async () => {
    const { url, bodies } = await receiver([200]);
    expect(await sendNotification(url, message, { backoffMs: 1 })).toBe(true);
    expect(bodies).toEqual([message]);
  });

  it("retry on 5xx until acknowledged", async () => {
    const { url, bodies } = await receiver([503, 500, 200]);
    expect(await sendNotification(url, message, { backoffMs: 1 })).toBe(true);
    expect(bodies).toHaveLength(3);
  });

  it("give up on a 4xx at once and never throw", async () => {
    const { url, bodies } = await receiver([404, 200]);
    expect(await sendNotification(url, message, { backoffMs: 1 })).toBe(false);
    expect(bodies).toHaveLength(1);
  });

  it("never throw when nobody listens", async () => {
    expect(
      await sendNotification("http://127.0.0.1:9/none", message, {
        attempts: 2,
        backoffMs: 1,
        timeoutMs: 500,
      }),
    ).toBe(false);
  });
});
