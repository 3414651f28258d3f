import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Notification, notificationText, sendNotification } from "./notify.js";

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
  it("deliver one JSON message with a human text field (what Slack and Google Chat show)", async () => {
    const { url, bodies } = await receiver([200]);
    expect(await sendNotification(url, message, { backoffMs: 1 })).toBe(true);
    expect(bodies).toEqual([
      {
        ...message,
        text: "The weekly run on weekly/w.csv failed at step ingest-weekly (exit 2): too many rejected rows Logs: churn runs logs r-0123456789abcdef --bucket file:///tmp/b",
      },
    ]);
  });

  it("says who to contact: the contact list's link when the run published one, else the scores", () => {
    const published: Notification = {
      event: "published",
      pipeline: "weekly",
      run_id: "r-0123456789abcdef",
      bucket: "gs://b",
      trigger: "weekly/2026-W48.csv",
      model_version: "3f2a9c0d1b4e5f67",
      counts: { scored: 5000, high: 464 },
      files: ["output/2026-W48/scores.csv", "output/2026-W48/contact-list.csv", "output/2026-W48/_SUCCESS"],
    };
    expect(notificationText(published)).toBe(
      "The weekly run on weekly/2026-W48.csv is published: 5,000 customers scored, 464 at high risk (model 3f2a9c0d1b4e5f67). Who to contact: gs://b/output/2026-W48/contact-list.csv",
    );
    expect(notificationText({ ...published, files: ["output/2026-W48/scores.csv"] })).toContain(
      "Who to contact: gs://b/output/2026-W48/scores.csv",
    );
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
