import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, churnBin, spawnChurn } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

// `churn watch`, the local stand-in for the cloud trigger, through the built CLI.

function churn(args: string[]): Promise<CliResult> {
  return spawnChurn(args);
}

let dir: string;
beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "watch-"));
  expect((await churn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "300"])).code).toBe(0);
  const config = await readFile(join(dir, "churn.yaml"), "utf8");
  await writeFile(
    join(dir, "churn.yaml"),
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("churn watch", () => {
  it("starts one run per new upload and none for files already processed or written by the system", async () => {
    const first = await churn(["watch", "--bucket", dir, "--once", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const runs = first.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(runs.map((r) => [r.trigger.object, r.state])).toEqual([["weekly/2026-W48.csv", "succeeded"]]);
    await expectPublished(dir, "output/2026-W48/", runs[0].run_id);

    const idle = await churn(["watch", "--bucket", dir, "--once", "--json"]);
    expect(idle.code).toBe(0);
    expect(idle.stdout.trim()).toBe("");

    // A new upload and a copy the system itself wrote (tagged churn-writer): only the upload runs.
    const week = await readFile(join(dir, "weekly/2026-W48.csv"), "utf8");
    await writeFile(join(dir, "weekly/2026-W49.csv"), week);
    const { openStorage } = await import("../components/common/storage/index.js");
    const storage = await openStorage(dir);
    await storage.write("weekly/system-copy.csv", week, { metadata: { "churn-writer": "test" } });
    const second = await churn(["watch", "--bucket", dir, "--once", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    const triggered = second.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).trigger.object);
    expect(triggered).toEqual(["weekly/2026-W49.csv"]);
  });

  it("refuses a bad interval with exit 2", async () => {
    const bad = await churn(["watch", "--bucket", dir, "--interval", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--interval must be a positive number/);
  });
});
