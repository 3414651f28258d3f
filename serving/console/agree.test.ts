import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../../cli/main.js";
import { BUNDLE_FORMAT, promote, readChampion, writeBundle } from "../../components/common/bundle/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { createConsoleApp } from "./app.js";

// `churn models list` and the console's /api/models read one query library,
// so on a bucket with a damaged bundle they give the same answer: the damaged
// bundle is listed with its reason (the CLI used to crash on it), the others
// are listed normally, and neither will make it the champion.

const DAMAGED = "0123456789abcdef";
let dir: string;
let storage: Storage;
let good: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "models-agree-"));
  storage = await openStorage(dir);
  good = (
    await writeBundle(storage, {
      format: BUNDLE_FORMAT,
      schema: {},
      transform: {},
      model: { family: "logistic" },
      calibration: null,
      tiers: { high: 0.6, medium: 0.3 },
      metrics: { roc_auc: 0.88 },
      training: {},
    })
  ).version;
  await promote(storage, good, "first");
  await storage.write(`models/${DAMAGED}/bundle.json`, "{not json");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("a damaged bundle: CLI and console agree", () => {
  it("both list it as damaged with the reason, beside the usable bundles", async () => {
    const cli = await runInProcess(["models", "list", "--bucket", dir, "--json"]);
    expect(cli.code, cli.stderr).toBe(0);
    const api = await createConsoleApp({ storage }).inject("/api/models");
    expect(api.statusCode).toBe(200);
    expect(JSON.parse(cli.stdout)).toEqual(api.json());
    expect(api.json().models.map((m: { version: string }) => m.version)).toEqual([good]);
    expect(api.json().problems).toEqual([
      { version: DAMAGED, error: expect.stringMatching(/not valid JSON/) },
    ]);

    const human = await runInProcess(["models", "list", "--bucket", dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`* ${good}`);
    expect(human.stdout).toMatch(new RegExp(`! ${DAMAGED}  damaged: .*not valid JSON`));
  });

  it("neither promotes it", async () => {
    const cli = await runInProcess(["models", "promote", DAMAGED, "--bucket", dir]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot promote 0123456789abcdef: the bundle is damaged/);
    const api = await createConsoleApp({ storage, allowChanges: true }).inject({
      method: "POST",
      url: `/api/models/${DAMAGED}/promote`,
      payload: {},
    });
    expect(api.statusCode).toBe(422);
    expect(api.json().error).toMatch(/cannot promote 0123456789abcdef: the bundle is damaged/);
    expect((await readChampion(storage))?.pointer.version).toBe(good);
    const detail = await createConsoleApp({ storage }).inject(`/api/models/${DAMAGED}`);
    expect(detail.statusCode).toBe(422);
    expect(detail.json().error).toMatch(/is damaged/);
  });
});
