/**
 * Batch scoring through the model server (`churn score --via-server`, and
 * churn.yaml score.mode: server): on the example bucket, scores.csv through
 * the real server on loopback is byte-identical to in-process scoring (also
 * for a passthrough text the spreadsheet formula guard changes); a
 * server that answers 503 a few times still gives the identical file
 * (retries); a row the server refuses is bisected out and lands in
 * rejected.csv with the server's reason while every other row is unchanged.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { Storage } from "../components/common/storage/types.js";
import { initExampleBucket } from "../components/example-bucket/index.js";
import { loadChampionModel } from "../components/models/predictor.js";
import { championSource } from "../serving/champion-source.js";
import { decodeInferRequest, encodeInferResponse } from "../serving/codecs/v2.js";
import { createModelServer, type ModelServer } from "../serving/server.js";
import { runCli } from "./ingest-support/helpers.js";
import { removeTempBuckets, tempBucket } from "./models-support/datasets.js";

const MARKER = "12345.678";
/** 1-based data row of the weekly file that carries MARKER as its Credit_Limit. */
const MARKED_ROW = 41;
/** 1-based data row of the weekly file whose Card_Category (a passthrough column) is a formula. */
const FORMULA_ROW = 7;

let dir: string;
let storage: Storage;
let weekly: string;
let inProcess: string;
let inProcessRejected: string;
let server: ModelServer;
let serverUrl: string;
const proxies: Server[] = [];

interface ProxyBehaviour {
  /** Answer this many infer requests with 503 before forwarding. */
  unavailable?: number;
  /** Replace MARKER in the Credit_Limit input by a string the server must refuse. */
  corrupt?: boolean;
}

/** A loopback proxy in front of the real server that injects failures. */
async function proxy(behaviour: ProxyBehaviour): Promise<{ url: string; served503: () => number }> {
  let served503 = 0;
  const p = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: string | undefined = chunks.length ? Buffer.concat(chunks).toString("utf8") : undefined;
    if (req.method === "POST" && req.url?.endsWith("/infer")) {
      if (served503 < (behaviour.unavailable ?? 0)) {
        served503++;
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "injected: model server busy" }));
        return;
      }
      if (behaviour.corrupt && body) {
        const request = JSON.parse(body) as { inputs: { name: string; data: unknown[] }[] };
        const input = request.inputs.find((i) => i.name === "Credit_Limit")!;
        input.data = input.data.map((v) => (v === Number(MARKER) ? "twelve thousand" : v));
        body = JSON.stringify(request);
      }
    }
    const answer = await fetch(`${serverUrl}${req.url}`, {
      method: req.method,
      headers: body ? { "content-type": "application/json" } : {},
      body,
    });
    res.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "application/json",
    });
    res.end(await answer.text());
  });
  proxies.push(p);
  await new Promise<void>((resolve) => p.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(p.address() as AddressInfo).port}`, served503: () => served503 };
}

/**
 * `churn score` of the weekly file into output/<stem>/. Every call is a new
 * attempt (--force): the score pipeline's run id is the file's, and
 * re-invoking a finished run only reports it.
 */
async function score(extra: string[] = []) {
  const result = await runCli(["score", "--bucket", dir, "--weekly", weekly, "--force", "--json", ...extra]);
  expect(result.code, result.stderr).toBe(0);
  const data = JSON.parse(result.stdout) as { scores: string; rejected: string; rejected_rows: number };
  return {
    data,
    scores: await storage.readText(data.scores),
    rejected: await storage.readText(data.rejected),
  };
}

beforeAll(async () => {
  ({ dir, storage } = await tempBucket({}));
  await initExampleBucket(storage, { rows: 2000, weeklyRows: 600, seed: 5, force: true });
  const config = parse(await storage.readText("churn.yaml")) as { train: { families: string[] } };
  config.train.families = ["logistic", "gbdt"];
  await storage.write("churn.yaml", stringify(config));
  weekly = (await storage.list("weekly/"))[0]!.name;
  // One row gets a Credit_Limit no other row has, so a proxy can corrupt exactly it.
  const lines = (await storage.readText(weekly)).split("\n");
  const header = lines[0]!.split(",");
  const column = header.indexOf("Credit_Limit");
  const fields = lines[MARKED_ROW]!.split(",");
  fields[column] = MARKER;
  lines[MARKED_ROW] = fields.join(",");
  // A passthrough text that starts like a formula: the guard must give the same bytes both ways.
  const formula = lines[FORMULA_ROW]!.split(",");
  formula[header.indexOf("Card_Category")] = '"=HYPERLINK(""x"")"';
  lines[FORMULA_ROW] = formula.join(",");
  await storage.write(weekly, lines.join("\n"));
  const trained = await runCli(["train", "--bucket", dir, "--runner", "in-process", "--json"]);
  expect(trained.code, trained.stderr).toBe(0);
  ({ scores: inProcess, rejected: inProcessRejected } = await score());
  server = await createModelServer({ sources: [championSource(storage, loadChampionModel)] });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  await server.start();
  serverUrl = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  for (const p of proxies) await new Promise((resolve) => p.close(resolve));
  await server?.close();
  removeTempBuckets();
});

describe("churn score --via-server", () => {
  it("writes a scores.csv byte-identical to in-process scoring", async () => {
    const lines = inProcess.trimEnd().split("\n");
    expect(lines).toHaveLength(601);
    // reasons (sentences with churn.yaml's labels), their codes and passthrough columns are present,
    // so the comparison covers them
    expect(lines.some((l) => /,high,[A-Z][^,:]*: [^,]+,/.test(l))).toBe(true);
    expect(lines.some((l) => /,Transactions in 12 months: \d+ \(typical \d+\),/.test(l))).toBe(true);
    expect(lines.some((l) => /,[A-Za-z_0-9]+:\+\d+\.\d\d(;[A-Za-z_0-9]+:\+\d+\.\d\d)*,/.test(l))).toBe(true);
    // and a passthrough text the formula guard changed (publish.formula_guard defaults to true)
    expect(lines[FORMULA_ROW]).toContain(`,"'=HYPERLINK(""x"")",`);
    const via = await score(["--via-server", serverUrl]);
    expect(via.scores).toBe(inProcess);
    expect(via.rejected).toBe(inProcessRejected);
    expect(via.data.rejected_rows).toBe(0);
  }, 60_000);

  it("retries 5xx answers and still writes the identical file", async () => {
    const flaky = await proxy({ unavailable: 3 });
    const via = await score(["--via-server", flaky.url]);
    expect(flaky.served503()).toBe(3);
    expect(via.scores).toBe(inProcess);
  }, 60_000);

  it("fails clearly when the server cannot be reached", async () => {
    const result = await runCli([
      "score",
      "--bucket",
      dir,
      "--weekly",
      weekly,
      "--force",
      "--via-server",
      "http://127.0.0.1:9",
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/127\.0\.0\.1:9.*failed after \d+ attempts/);
  }, 60_000);

  it("bisects a refused batch: the bad row is rejected with the server's reason, the others are scored", async () => {
    const bad = await proxy({ corrupt: true });
    const via = await score(["--via-server", bad.url]);
    const expected = inProcess.split("\n");
    expected.splice(MARKED_ROW, 1);
    expect(via.scores).toBe(expected.join("\n"));
    expect(via.data.rejected_rows).toBe(1);
    const rejected = via.rejected.trimEnd().split("\n");
    expect(rejected[0]).toBe("line,column,reason,raw");
    expect(rejected).toHaveLength(2);
    // line numbers count the header: data row 41 is line 42
    expect(rejected[1]).toMatch(/^42,Credit_Limit,"server 4\d\d: .*Credit_Limit.*not a finite/);
  }, 60_000);

  it("is what the score step does when churn.yaml says score.mode: server", async () => {
    const text = await storage.readText("churn.yaml");
    const config = parse(text) as Record<string, Record<string, unknown>>;
    config.score = { ...config.score, mode: "server", server_url: serverUrl };
    await storage.write("churn.yaml", stringify(config));
    const rowsScored = async () => {
      const metrics = await (await fetch(`${serverUrl}/metrics`)).text();
      const values = [...metrics.matchAll(/^churn_serving_rows_scored_total(?:\{[^}]*\})? (\d+)/gm)];
      return values.reduce((sum, m) => sum + Number(m[1]), 0);
    };
    try {
      const before = await rowsScored();
      const via = await score();
      expect(via.scores).toBe(inProcess);
      // the server really did the work
      expect((await rowsScored()) - before).toBe(600);
    } finally {
      await storage.write("churn.yaml", text);
    }
  }, 60_000);
});

describe("the weekly pipeline with score.mode: server", () => {
  it("publishes the rows the server refused in rejected.csv, after ingest's, and scores the others", async () => {
    const bad = await proxy({ corrupt: true });
    const text = await storage.readText("churn.yaml");
    const config = parse(text) as Record<string, Record<string, unknown>>;
    config.score = { ...config.score, mode: "server", server_url: bad.url };
    await storage.write("churn.yaml", stringify(config));
    try {
      const result = await runCli(["pipeline", "run", "--bucket", dir, "--weekly", weekly, "--json"]);
      expect(result.code, result.stderr).toBe(0);
      const stem = weekly.replace(/^weekly\//, "").replace(/\.csv$/, "");
      const rejected = (await storage.readText(`output/${stem}/rejected.csv`)).trimEnd().split("\n");
      expect(rejected[0]).toBe("line,column,reason,raw");
      expect(rejected).toHaveLength(2);
      expect(rejected[1]).toMatch(/^42,Credit_Limit,"server 4\d\d: .*Credit_Limit.*not a finite/);
      const expected = inProcess.split("\n");
      expected.splice(MARKED_ROW, 1);
      expect(await storage.readText(`output/${stem}/scores.csv`)).toBe(expected.join("\n"));
      // The week's summary counts the refused row as rejected: 599 scored + 1 = 600 rows in.
      const summary = JSON.parse(await storage.readText(`output/${stem}/summary.json`)) as {
        counts: { rows_in: number; scored: number; rejected: number };
      };
      expect(summary.counts).toMatchObject({ rows_in: 600, scored: 599, rejected: 1 });
    } finally {
      await storage.write("churn.yaml", text);
    }
  }, 240_000);
});

describe("V2 reasons as JSON arrays (what the batch client asks for)", () => {
  it("keeps a reason whose value contains the separator in one piece", () => {
    const decoded = decodeInferRequest({
      inputs: [{ name: "Customer_Age", shape: [1], datatype: "FP64", data: [40] }],
      outputs: [{ name: "reasons", parameters: { format: "json" } }],
    });
    expect(decoded.reasonsJson).toBe(true);
    const reasons = ["Card category: Blue; Gold", "Customer Age: 40 (typical 46)"];
    const response = encodeInferResponse(
      { name: "churn", version: "v1" },
      [{ probability: 0.5, tier: "high", reasons, reasonCodes: "Card_Category:+0.50;Customer_Age:+0.20" }],
      decoded,
    );
    expect(response.outputs.map((o) => o.name)).toEqual(["reasons"]);
    expect(JSON.parse(response.outputs[0]!.data[0] as string)).toEqual(reasons);
    // without the parameter the documented default stays: joined with "; "
    const plain = encodeInferResponse(
      { name: "churn", version: "v1" },
      [{ probability: 0.5, tier: "high", reasons, reasonCodes: "Card_Category:+0.50;Customer_Age:+0.20" }],
      { outputs: ["reasons"] },
    );
    expect(plain.outputs[0]!.data[0]).toBe(reasons.join("; "));
  });
});
