/**
 * `churn serve` through the built CLI on buckets without a churn model: a
 * fresh (empty) bucket is live at once and not ready (503 with the reason)
 * until a model is trained into it, then ready without a restart; a bucket
 * with only a lifetime model serves the seed's `POST /predict`.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bgnbdProbAlive } from "../components/models/lifetime/bgnbd.js";
import { LIFETIME_FORMAT } from "../components/models/lifetime/params.js";
import { churnBin, spawnChurn, startChurnServe } from "./support/cli.js";
import { waitFor } from "./support/wait.js";

let base: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "serving-cli-"));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});
afterAll(() => rm(base, { recursive: true, force: true }));

/** Start `churn serve` on a free port; resolves with its address once it logs that it listens. */
async function serve(bucket: string): Promise<{ address: string; log: () => string }> {
  const started = await startChurnServe(["--bucket", bucket, "--port", "0", "--poll", "1"], {
    line: '"model server listening',
  });
  children.push(started.child);
  return started;
}

describe("churn serve without a churn model", () => {
  it("starts on an empty bucket, live and not ready, and becomes ready once a model is trained", async () => {
    const bucket = join(base, "empty");
    await mkdir(bucket);
    const { address, log } = await serve(bucket);
    expect((await fetch(`${address}/v2/health/live`)).status).toBe(200);
    const notReady = await fetch(`${address}/v2/health/ready`);
    expect(notReady.status).toBe(503);
    const reason = ((await notReady.json()) as { reason: string }).reason;
    expect(reason).toMatch(/no model loaded yet/);
    expect(reason).toMatch(/churn/);
    expect((await fetch(`${address}/v2/models/churn/ready`)).status).toBe(503);

    const init = await spawnChurn(["init", "--bucket", bucket, "--rows", "2000", "--weekly-rows", "100"]);
    expect(init.code, init.stderr).toBe(0);
    const yaml = join(bucket, "churn.yaml");
    await writeFile(
      yaml,
      (await readFile(yaml, "utf8")).replace("families: [logistic, gbdt, mlp]", "families: [logistic]"),
    );
    const train = await spawnChurn(["train", "--bucket", bucket]);
    expect(train.code, train.stderr).toBe(0);

    await waitFor(
      "readiness after training",
      async () => (await fetch(`${address}/v2/health/ready`)).status === 200,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    expect((await fetch(`${address}/v2/models/churn/ready`)).status).toBe(200);
    expect((await fetch(`${address}/v2/models/lifetime/ready`)).status).toBe(503);
    expect(log()).toContain('"model server ready"');
  }, 300_000);

  it("serves the seed's POST /predict on a bucket with only a lifetime model", async () => {
    const bucket = join(base, "lifetime-only");
    await mkdir(join(bucket, "models", "lifetime"), { recursive: true });
    const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    await writeFile(
      join(bucket, "models", "lifetime", "lifetime-0123456789ab.json"),
      JSON.stringify({
        format: LIFETIME_FORMAT,
        model: "bgnbd",
        params,
        time_unit: "week",
        fit: { log_likelihood: -9582.4, customers: 2357, penalizer: 0, converged: true },
      }),
    );
    const { address } = await serve(bucket);
    await waitFor(
      "readiness on the lifetime model",
      async () => (await fetch(`${address}/v2/health/ready`)).status === 200,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    expect((await fetch(`${address}/v2/models/lifetime/ready`)).status).toBe(200);
    expect((await fetch(`${address}/v2/models/churn/ready`)).status).toBe(503);
    const r = await fetch(`${address}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"frequency":30,"recency":100,"T":215}',
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { code: number; status: string; data: Record<string, unknown> };
    expect(body.code).toBe(200);
    expect(body.status).toBe("success");
    expect(body.data.prob_alive).toBe(
      String(bgnbdProbAlive(params, { frequency: 30, recency: 100, T: 215 })),
    );
    expect(body.data.model_version).toBe("lifetime-0123456789ab");
    const invalid = await fetch(`${address}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"frequency":30,"recency":100,"wrong_variable":215}',
    });
    expect(invalid.status).toBe(422);
  }, 120_000);
});
