import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn } from "./support/cli.js";

// Issue 17 item 3 through the built CLI: the champion is refitted on every
// labelled row of its history, so it may only be compared on customers that
// arrived after it was trained (or, when too few did, by refitting its
// recipe on the candidate's folds).
//
// Week 1 trains logistic regression on the first half of the history (the
// champion). Week 2 adds the second half (new customers) and allows only the
// GBDT, which on the example data ranks clearly better: it is compared with
// the champion on the new customers' held-out rows and replaces it. Week 3
// allows only logistic regression again with no new rows: the champion
// trained on every row, so its GBDT recipe is refitted on the candidate's
// folds, wins, and stays. Then `churn forget` removes a customer from the
// trained-id sets.

let dir: string;
let firstIds: Set<string>;
let secondIds: Set<string>;

const json = async (path: string) => JSON.parse(await readFile(join(dir, path), "utf8"));

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = join(await mkdtemp(join(tmpdir(), "fair-contest-")), "bucket");
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "4000", "--weekly-rows", "300"]);
  expect(init.code, init.stderr).toBe(0);
  // Keep the second half of the history aside: week 2's new customers.
  const [header, ...rows] = (await readFile(join(dir, "input/history.csv"), "utf8")).trimEnd().split("\n");
  const idColumn = /id_column: (\S+)/.exec(await readFile(join(dir, "churn.yaml"), "utf8"))![1]!;
  const at = header!.split(",").indexOf(idColumn);
  expect(at).toBeGreaterThanOrEqual(0);
  const first = rows.slice(0, 2000);
  const second = rows.slice(2000);
  firstIds = new Set(first.map((r) => r.split(",")[at]!));
  secondIds = new Set(second.map((r) => r.split(",")[at]!));
  expect(firstIds.size).toBe(2000);
  await writeFile(join(dir, "input/history.csv"), `${[header, ...first].join("\n")}\n`);
  await writeFile(join(dir, ".second-half.csv"), `${[header, ...second].join("\n")}\n`);
}, 60_000);
afterAll(() => rm(join(dir, ".."), { recursive: true, force: true }));

async function setFamilies(families: string): Promise<void> {
  const config = await readFile(join(dir, "churn.yaml"), "utf8");
  await writeFile(
    join(dir, "churn.yaml"),
    config.replace(/families: \[[a-z, ]+\]/, `families: [${families}]`),
  );
}

/** Runs the weekly pipeline on a copy of week 48 named `stem`; returns stdout and the evaluate step's folder. */
async function week(stem: string): Promise<{ stdout: string; evaluate: string }> {
  if (stem !== "2026-W48") await copyFile(join(dir, "weekly/2026-W48.csv"), join(dir, `weekly/${stem}.csv`));
  const run = await spawnChurn(["pipeline", "run", "--bucket", dir, "--weekly", `weekly/${stem}.csv`]);
  expect(run.code, run.stderr).toBe(0);
  for (const id of await readdir(join(dir, "runs"))) {
    if (!existsSync(join(dir, "runs", id, "run.json"))) continue;
    const record = await json(`runs/${id}/run.json`);
    if (record.trigger?.object === `weekly/${stem}.csv`)
      return { stdout: run.stdout, evaluate: `runs/${id}/steps/evaluate` };
  }
  throw new Error(`no run of weekly/${stem}.csv`);
}

describe("a fair champion contest", () => {
  it("compares the champion only on customers it never trained on, else by its recipe on the candidate's folds", async () => {
    await setFamilies("logistic");
    await week("2026-W48");
    const first = (await json("models/champion")).version as string;
    expect(existsSync(join(dir, "models/_id_key"))).toBe(true);
    const firstSet = await readFile(join(dir, `models/${first}/trained-ids.json`), "utf8");
    expect(JSON.parse(firstSet).count).toBe(2000);
    for (const id of [...firstIds].slice(0, 50)) expect(firstSet).not.toContain(`"${id}"`);

    // Week 2: new customers arrive, and a better family is allowed.
    await copyFile(join(dir, ".second-half.csv"), join(dir, "input/history-2.csv"));
    await setFamilies("gbdt");
    const second = await week("2026-W49");
    const decision = await json(`${second.evaluate}/decision.json`);
    console.log(`week 2: ${decision.reason}`);
    expect(decision.comparison.basis).toBe("fresh-rows");
    expect(decision.action).toBe("promote");
    expect(decision.champion_version).toBe(first);
    // About a fifth of the 2,000 new customers are held out; all of them, and nothing else, were compared on.
    const used = (await json(`${second.evaluate}/comparison-rows.json`)).ids as string[];
    expect(used.length).toBe(decision.comparison.rows);
    expect(used.length).toBeGreaterThan(300);
    expect(used.length).toBeLessThan(500);
    for (const id of used) {
      expect(firstIds.has(id)).toBe(false);
      expect(secondIds.has(id)).toBe(true);
    }
    expect(decision.reason).toMatch(
      /on \d+ held-out customers \(\d+ churned\) the champion never trained on/,
    );
    expect(decision.champion.rocAuc).toBeLessThan(decision.candidate.rocAuc);
    const promoted = (await json("models/champion")).version as string;
    expect(promoted).not.toBe(first);
    const summary = await json("output/2026-W49/summary.json");
    expect(summary.model_decision).toMatch(/never trained on/);
    expect(second.stdout).toMatch(/never trained on/);
    expect(JSON.parse(await readFile(join(dir, `models/${promoted}/trained-ids.json`), "utf8")).count).toBe(
      4000,
    );

    // Week 3: no new customers; the champion trained on all of them.
    await setFamilies("logistic");
    const third = await week("2026-W50");
    const kept = await json(`${third.evaluate}/decision.json`);
    console.log(`week 3: ${kept.reason}`);
    expect(kept.comparison.basis).toBe("cv-refit");
    expect(kept.comparison.fresh_rows).toBe(0);
    expect((await json(`${third.evaluate}/comparison-rows.json`)).ids).toEqual([]);
    expect(kept.action).toBe("keep-champion");
    expect(kept.reason).toMatch(/cross-validated on the candidate's 5 folds/);
    expect((await json("models/champion")).version).toBe(promoted);
    expect((await json("output/2026-W50/summary.json")).model_decision).toMatch(/cross-validated/);

    // Forget one customer of each half: both sets lose the ids they held.
    const gone = [[...firstIds][0]!, [...secondIds][0]!];
    const forget = await spawnChurn([
      "forget",
      "--bucket",
      dir,
      "--customer-id",
      gone[0]!,
      "--customer-id",
      gone[1]!,
    ]);
    expect(forget.code, forget.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, `models/${first}/trained-ids.json`), "utf8")).count).toBe(
      1999,
    );
    expect(JSON.parse(await readFile(join(dir, `models/${promoted}/trained-ids.json`), "utf8")).count).toBe(
      3998,
    );
  }, 900_000);
});
