import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { columnValues, ingestBytes } from "./ingest-support/helpers.js";
import { DATASETS_ROOT, describeDatasets } from "./support/datasets.js";

const ROOT = DATASETS_ROOT;
const DATASET_FILES = [
  "bankchurners/BankChurners.csv",
  "bankchurn-modelling/Churn_Modelling.csv",
  "iranian-churn/Customer_Churn.csv",
];

describeDatasets("ingest accepts every row of the real data sets", DATASET_FILES, () => {
  it("BankChurners", async () => {
    const bytes = readFileSync(`${ROOT}/bankchurners/BankChurners.csv`);
    const { result, batches } = await ingestBytes(bytes, {
      id_column: "CLIENTNUM",
      label: { column: "Attrition_Flag", positive: "Attrited Customer" },
    });
    expect(result.rowsIn).toBe(10_127);
    expect(result.accepted).toBe(10_127);
    expect(result.rejected).toBe(0);
    const type = (name: string) => result.schema.columns.find((c) => c.name === name)?.type;
    expect(type("Customer_Age")).toBe("numeric");
    expect(type("Credit_Limit")).toBe("numeric");
    expect(type("Gender")).toBe("categorical");
    expect(type("Education_Level")).toBe("categorical");
    expect(result.schema.columns.find((c) => c.name === "Education_Level")?.missingTokens).toEqual([
      "Unknown",
    ]);
    // Read back from Arrow: 1,627 churned, Unknown education is missing (null).
    const positives = batches.reduce((s, b) => s + b.label!.reduce((a, v) => a + v, 0), 0);
    expect(positives).toBe(1_627);
    expect(columnValues(batches, "Education_Level").filter((v) => v === null).length).toBeGreaterThan(1000);
    expect(columnValues(batches, "Customer_Age")[0]).toBe(45);
    expect(batches[0]!.ids[0]).toBe("768805383");
    expect(batches[0]!.lines[0]).toBe(2);
  });

  it("Churn_Modelling (Surname is pii and never stored)", async () => {
    const bytes = readFileSync(`${ROOT}/bankchurn-modelling/Churn_Modelling.csv`);
    const { result, batches } = await ingestBytes(bytes, {
      id_column: "CustomerId",
      label: { column: "Exited", positive: 1 },
      pii: ["Surname"],
    });
    expect([result.rowsIn, result.accepted, result.rejected]).toEqual([10_000, 10_000, 0]);
    const col = (name: string) => result.schema.columns.find((c) => c.name === name);
    expect(col("Balance")).toMatchObject({ type: "numeric", integer: false });
    expect(col("Geography")).toMatchObject({
      type: "categorical",
      categories: ["France", "Germany", "Spain"],
    });
    expect(col("Surname")).toMatchObject({ role: "pii" });
    expect(col("Exited")).toMatchObject({ role: "label" });
    expect(batches[0]!.columns.Surname).toBeUndefined();
    expect(batches.reduce((s, b) => s + b.label!.reduce((a, v) => a + v, 0), 0)).toBe(2_037);
  });

  it("Iranian churn with generate_id and doubled-space headers", async () => {
    const bytes = readFileSync(`${ROOT}/iranian-churn/Customer_Churn.csv`);
    const { result, batches } = await ingestBytes(bytes, {
      generate_id: true,
      label: { column: "Churn", positive: 1 },
    });
    expect([result.rowsIn, result.accepted, result.rejected]).toEqual([3_150, 3_150, 0]);
    expect(result.schema.idColumn).toBe("row_id");
    expect(result.schema.columns.find((c) => c.name === "Call  Failure")).toMatchObject({ type: "numeric" });
    expect(result.schema.columns.find((c) => c.name === "Customer Value")).toMatchObject({
      type: "numeric",
      integer: false,
    });
    expect(batches[0]!.ids.slice(0, 3)).toEqual(["1", "2", "3"]);
    expect(batches.reduce((s, b) => s + b.label!.reduce((a, v) => a + v, 0), 0)).toBe(495);
  });
});
