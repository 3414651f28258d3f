import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli } from "./ingest-support/helpers.js";
import { datasetPath, describeDatasets } from "./support/datasets.js";

const FILE = datasetPath("bankchurn-modelling", "Churn_Modelling.csv");

/** Every file under a folder, recursively, as text. */
function allText(root: string): string {
  let out = "";
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(join(entry.parentPath, entry.name), "latin1");
  }
  return out;
}

describeDatasets("pii never leaves ingest", ["bankchurn-modelling/Churn_Modelling.csv"], () => {
  it("keeps Surname out of rejected.csv, the profile, the schema, the Arrow rows, stdout and the logs", async () => {
    const bucket = mkdtempSync(join(tmpdir(), "churn-pii-"));
    mkdirSync(join(bucket, "input"));
    const lines = readFileSync(FILE, "utf8").trim().split("\n");
    const out = [lines[0]];
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i]!.split(",");
      f[2] = `PIISECRET${i}`; // a unique, greppable surname
      if (i % 200 === 0) f[3] = "abc"; // not a number: raw is kept with pii blanked
      if (i % 333 === 0) f.pop(); // wrong column count: raw is withheld
      if (i % 450 === 0) f[2] = `"PIISECRET${i}`; // broken quote inside the pii field itself
      out.push(f.join(","));
    }
    writeFileSync(join(bucket, "input", "history.csv"), `${out.join("\n")}\n`);
    writeFileSync(
      join(bucket, "churn.yaml"),
      "id_column: CustomerId\nlabel: {column: Exited, positive: 1}\npii: [Surname]\nexclude: [RowNumber]\n",
    );
    const cli = await runCli(["component", "ingest", "--bucket", bucket, "--input", "input/history.csv"]);
    expect(cli.code, cli.stderr).toBe(0);
    const run = readdirSync(join(bucket, "runs"))[0]!;
    const step = join(bucket, "runs", run, "steps", "ingest-history");
    const rejected = readFileSync(join(step, "rejected.csv"), "utf8");
    // The rejected rows are there, with their other columns.
    expect(rejected.split("\n").filter((l) => /not a number/.test(l)).length).toBeGreaterThan(10);
    expect(rejected).toMatch(/wrong column count/);
    expect(rejected).toMatch(/withheld/);
    const profile = JSON.parse(readFileSync(join(step, "profile.json"), "utf8")) as {
      columns: Array<{ name: string }>;
      piiColumns: string[];
    };
    expect(profile.piiColumns).toEqual(["Surname"]);
    expect(profile.columns.map((c) => c.name)).not.toContain("Surname");
    // Everything ingest wrote (the input file itself of course holds the names).
    expect(allText(join(bucket, "runs")).includes("PIISECRET")).toBe(false);
    expect(cli.stdout + cli.stderr).not.toContain("PIISECRET");
    // The logs were written (JSON lines on stderr) and name the step, not the values.
    expect(cli.stderr).toMatch(/"message":"ingest: read"/);

    const validate = await runCli([
      "validate",
      "input/history.csv",
      "--bucket",
      bucket,
      "--show",
      "50",
      "--json",
    ]);
    expect(validate.code).toBe(0);
    expect(validate.stdout + validate.stderr).not.toContain("PIISECRET");
  });
});
