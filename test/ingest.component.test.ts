import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readRowBatches } from "../components/common/schema/arrow.js";
import { runCli } from "./ingest-support/helpers.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function bucket() {
  const root = mkdtempSync(join(tmpdir(), "churn-component-"));
  mkdirSync(join(root, "weekly"));
  writeFileSync(join(root, "churn.yaml"), "id_column: id\npii: [email]\n");
  // 200 rows, one with text in the numeric column (0.5%: still a numeric column, one rejected row).
  const rows = Array.from({ length: 200 }, (_, i) => `${i + 1},${i === 1 ? "oops" : (i + 1) * 1.5},u${i}@x`);
  writeFileSync(join(root, "weekly", "w.csv"), `id,amount,email\n${rows.join("\n")}\n`);
  return root;
}

describe("component contract: churn component ingest --run --step", () => {
  it("runs from input.json, writes outputs with hashes and output.json last", async () => {
    const root = bucket();
    const step = join(root, "runs", "r-test", "steps", "ingest-weekly");
    mkdirSync(step, { recursive: true });
    const data = readFileSync(join(root, "weekly", "w.csv"));
    const config = readFileSync(join(root, "churn.yaml"));
    writeFileSync(
      join(step, "input.json"),
      JSON.stringify({
        version: 1,
        component: "ingest",
        run: "r-test",
        step: "ingest-weekly",
        inputs: {
          data: [{ object: "weekly/w.csv", sha256: sha(data) }],
          config: [{ object: "churn.yaml", sha256: sha(config) }],
        },
        parameters: { mode: "scoring" },
      }),
    );
    const cli = await runCli([
      "component",
      "ingest",
      "--bucket",
      root,
      "--run",
      "r-test",
      "--step",
      "ingest-weekly",
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/rows read\s+200/);
    expect(cli.stdout).toMatch(/rejected\s+1\s+\(not a number 1\)/);
    const output = JSON.parse(readFileSync(join(step, "output.json"), "utf8"));
    expect(output.counts).toEqual({ rowsIn: 200, accepted: 199, rejected: 1 });
    for (const port of ["rows", "rejected", "profile", "schema"]) {
      const ref = output.outputs[port];
      expect(sha(readFileSync(join(root, ref.object))), port).toBe(ref.sha256);
    }
    const batches = [];
    for await (const b of readRowBatches(
      (async function* () {
        yield readFileSync(join(root, output.outputs.rows.object));
      })(),
    ))
      batches.push(b);
    expect(batches[0]!.ids.slice(0, 2)).toEqual(["1", "3"]);
    expect(Array.from(batches[0]!.columns.amount as Float64Array).slice(0, 2)).toEqual([1.5, 4.5]);
    expect(batches[0]!.columns.email).toBeUndefined();
    expect(readFileSync(join(step, "rejected.csv"), "utf8")).toBe(
      'line,column,reason,raw\n3,amount,"not a number: ""oops""","2,oops,"\n',
    );
  });

  it("refuses an input that changed since input.json was written (exit 2, no output.json)", async () => {
    const root = bucket();
    const first = await runCli([
      "component",
      "ingest",
      "--bucket",
      root,
      "--input",
      "weekly/w.csv",
      "--run",
      "r-x",
    ]);
    expect(first.code, first.stderr).toBe(0);
    writeFileSync(join(root, "weekly", "w.csv"), "id,amount,email\n9,9,z@x\n");
    const again = await runCli([
      "component",
      "ingest",
      "--bucket",
      root,
      "--run",
      "r-x",
      "--step",
      "ingest-weekly",
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/weekly\/w\.csv changed since the step was planned/);
  });

  it("rejects an unknown component and a missing input.json with exit 2", async () => {
    const root = bucket();
    const unknown = await runCli(["component", "nope", "--bucket", root, "--run", "r", "--step", "s"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown component "nope": known components are .*ingest/);
    const missing = await runCli(["component", "ingest", "--bucket", root, "--run", "r", "--step", "s"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/input\.json does not exist/);
  });
});
