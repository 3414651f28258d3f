/**
 * Interoperability with client libraries nobody here wrote, against the real
 * server on loopback over a trained bucket. NVIDIA's tritonclient[http] (PyPI,
 * venv from test/services/install-triton-client.sh) checks health, reads
 * server and model metadata and runs infer with JSON tensors
 * (binary_data=False); its probabilities and tiers equal the score
 * component's for the same rows; its `unload_model`/`load_model` drive the V2
 * repository extension (with the server's token). Seldon Core's client
 * (seldon-core, venv from test/services/install-seldon-client.sh) in
 * microservice mode posts its form-encoded `json=` message to /predict.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { readBundle, readChampion } from "../components/common/bundle/index.js";
import { loadConfig } from "../components/common/config/load.js";
import { selectRows } from "../components/common/data/rows.js";
import type { RowBatch } from "../components/common/schema/types.js";
import type { Storage } from "../components/common/storage/types.js";
import { initExampleBucket } from "../components/example-bucket/index.js";
import {
  formatProbability,
  loadChampionModel,
  loadPredictor,
  reasonOptionsOf,
} from "../components/models/predictor.js";
import { scoreBatchCsv } from "../components/score/scores-csv.js";
import { championSource } from "../serving/champion-source.js";
import { createModelServer, type ModelServer } from "../serving/server.js";
import { runCli } from "./ingest-support/helpers.js";
import { readRows, removeTempBuckets, runComponent, tempBucket } from "./models-support/datasets.js";

const run = promisify(execFile);
const CACHE = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test");
const VENV = join(CACHE, "venv-triton");
const SELDON_VENV = join(CACHE, "venv-seldon");
const TOKEN = "repository-token";

/** tritonclient's model repository calls, with and without the server's token. */
const REPOSITORY_PROBE = `
import json, sys
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url, token = sys.argv[1], sys.argv[2]
auth = {"Authorization": "Bearer " + token}
client = httpclient.InferenceServerClient(url=url)
out = {}
try:
    client.unload_model("churn")
    out["without_token"] = None
except InferenceServerException as error:
    out["without_token"] = str(error)
client.unload_model("churn", headers=auth)
out["ready_after_unload"] = client.is_model_ready("churn")
out["server_ready_after_unload"] = client.is_server_ready()
out["index_after_unload"] = client.get_model_repository_index(headers=auth)
client.load_model("churn", headers=auth)
out["ready_after_load"] = client.is_model_ready("churn")
out["index_after_load"] = client.get_model_repository_index(headers=auth)
print(json.dumps(out))
`;

/** Seldon's Python client in microservice mode: everything goes through SeldonClient. */
const SELDON_PROBE = `
import json, sys
from seldon_core.seldon_client import SeldonClient
from seldon_core.utils import seldon_message_to_json

endpoint, path = sys.argv[1], sys.argv[2]
rows = json.load(open(path))["rows"]
client = SeldonClient(microservice_endpoint=endpoint)
result = client.microservice(method="predict", transport="rest", json_data=rows)
print(json.dumps({"success": result.success, "msg": result.msg,
                  "response": seldon_message_to_json(result.response) if result.response else None}))
`;
const ROWS = 40;

/** The Python side: everything goes through tritonclient.http, nothing hand-made. */
const PROBE = `
import json, sys
import numpy as np
import tritonclient.http as httpclient

url, path = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
client = httpclient.InferenceServerClient(url=url)
out = {
    "live": client.is_server_live(),
    "ready": client.is_server_ready(),
    "model_ready": client.is_model_ready("churn"),
    "server": client.get_server_metadata(),
    "model": client.get_model_metadata("churn"),
}
inputs = []
for column in spec["columns"]:
    if column["datatype"] == "FP64":
        data = np.array(column["data"], dtype=np.float64)
    else:
        data = np.array(column["data"], dtype=np.object_)
    tensor = httpclient.InferInput(column["name"], [len(column["data"])], column["datatype"])
    tensor.set_data_from_numpy(data, binary_data=False)
    inputs.append(tensor)
outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in ("probability", "tier", "reasons")]
result = client.infer("churn", inputs, outputs=outputs, request_id="triton-1")
response = result.get_response()
out["id"] = response.get("id")
out["model_version"] = response.get("model_version")
out["probability"] = result.as_numpy("probability").tolist()
out["tier"] = [t.decode() if isinstance(t, bytes) else t for t in result.as_numpy("tier").tolist()]
out["reasons"] = [t.decode() if isinstance(t, bytes) else t for t in result.as_numpy("reasons").tolist()]
try:
    client.get_model_metadata("no-such-model")
    out["unknown_model"] = None
except Exception as error:
    out["unknown_model"] = str(error)
print(json.dumps(out))
`;

interface ProbeResult {
  live: boolean;
  ready: boolean;
  model_ready: boolean;
  server: { name: string; extensions?: string[] };
  model: {
    name: string;
    versions: string[];
    inputs: { name: string; datatype: string }[];
    outputs: unknown[];
  };
  id: string;
  model_version: string;
  probability: number[];
  tier: string[];
  reasons: string[];
  unknown_model: string | null;
}

let dir: string;
let storage: Storage;
let server: ModelServer;
let hostPort: string;
let batch: RowBatch;
let expected: string[];
let version: string;

beforeAll(async () => {
  // Idempotent and cached: a no-op when the venv is there.
  await run("bash", ["test/services/install-triton-client.sh"], { timeout: 600_000 });
  await run("bash", ["test/services/install-seldon-client.sh"], { timeout: 600_000 });
  ({ dir, storage } = await tempBucket({}));
  await initExampleBucket(storage, { rows: 2000, weeklyRows: 600, seed: 9, force: true });
  const config = parse(await storage.readText("churn.yaml")) as { train: { families: string[] } };
  config.train.families = ["logistic", "gbdt"];
  await storage.write("churn.yaml", stringify(config));
  const trained = await runCli(["train", "--bucket", dir, "--runner", "in-process", "--json"]);
  expect(trained.code, trained.stderr).toBe(0);
  version = (await readChampion(storage))!.pointer.version;
  const { bundle } = await readBundle(storage, version);
  await storage.write("runs/r-t/schema.json", JSON.stringify(bundle.schema));
  const weekly = (await storage.list("weekly/"))[0]!.name;
  const ingested = await runComponent(
    storage,
    "ingest",
    "ingest-weekly",
    { data: [weekly], config: ["churn.yaml"], schema: ["runs/r-t/schema.json"] },
    { mode: "scoring" },
    "r-t",
  );
  const all = (await readRows(storage, ingested.output.outputs.rows!.object)).batch;
  // Rows with no missing value: numpy FP64 JSON cannot carry the protocol's null extension.
  const complete: number[] = [];
  for (let i = 0; i < all.numRows && complete.length < ROWS; i++) {
    const ok = Object.values(all.columns).every((c) => {
      const v = c[i];
      return v !== null && !(typeof v === "number" && Number.isNaN(v));
    });
    if (ok) complete.push(i);
  }
  batch = selectRows(all, complete);
  const predictor = loadPredictor(bundle, version);
  const cfg = parse(await storage.readText("churn.yaml")) as Record<string, never>;
  expected = scoreBatchCsv(predictor, batch, {
    reasons: 3,
    reasonsFor: ["high", "medium"],
    passthrough: (cfg.passthrough as string[] | undefined) ?? [],
    formulaGuard: true,
    labels: (cfg.labels as Record<string, string> | undefined) ?? {},
  })
    .trimEnd()
    .split("\n");
  server = await createModelServer({ sources: [championSource(storage, loadChampionModel)], token: TOKEN });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  await server.start();
  hostPort = `127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  await server?.close();
  removeTempBuckets();
});

describe("tritonclient[http] against the model server", () => {
  it("checks health, reads metadata and infers the score component's probabilities", async () => {
    expect(existsSync(join(VENV, "bin", "python"))).toBe(true);
    const features = server.core.featureNames(server.core.model("churn"));
    const columns = features.map((name) => {
      const c = batch.columns[name]!;
      return c instanceof Float64Array
        ? { name, datatype: "FP64", data: Array.from(c) }
        : { name, datatype: "BYTES", data: c };
    });
    const spec = join(dir, "triton-request.json");
    await storage.write("triton-request.json", JSON.stringify({ columns }));
    const { stdout } = await run(join(VENV, "bin", "python"), ["-c", PROBE, hostPort, spec], {
      timeout: 120_000,
    });
    const result = JSON.parse(stdout) as ProbeResult;
    expect(result.live).toBe(true);
    expect(result.ready).toBe(true);
    expect(result.model_ready).toBe(true);
    expect(typeof result.server.name).toBe("string");
    expect(result.model.name).toBe("churn");
    expect(result.model.versions).toEqual([version]);
    expect(result.model.inputs.map((i) => i.name).sort()).toEqual([...features].sort());
    expect(result.id).toBe("triton-1");
    expect(result.model_version).toBe(version);
    expect(result.unknown_model).toMatch(/no-such-model/);
    expect(result.probability).toHaveLength(batch.numRows);
    expect(batch.numRows).toBe(ROWS);
    const tiers = new Set<string>();
    // score.reasons_for's default "contact-list": the tiers the bucket's churn.yaml resolves to.
    const withReasons = new Set<string>(reasonOptionsOf(await loadConfig(storage)).reasonsFor);
    result.probability.forEach((p, i) => {
      const fields = expected[i]!.split(",");
      expect(fields[0]).toBe(batch.ids[i]);
      expect(formatProbability(p)).toBe(fields[1]);
      expect(result.tier[i]).toBe(fields[2]);
      tiers.add(fields[2]!);
      // reasons exactly for the tiers that get them
      expect(result.reasons[i] !== "").toBe(withReasons.has(fields[2]!));
    });
    expect(tiers.size).toBeGreaterThan(1);
  }, 180_000);
});

describe("tritonclient's model repository calls against the model server", () => {
  it("unloads and loads the churn model (behind the server's token), readiness following", async () => {
    const { stdout } = await run(join(VENV, "bin", "python"), ["-c", REPOSITORY_PROBE, hostPort, TOKEN], {
      timeout: 120_000,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.without_token).toMatch(/token/);
    expect(out.ready_after_unload).toBe(false);
    expect(out.server_ready_after_unload).toBe(false);
    expect(out.index_after_unload).toEqual([
      { name: "churn", state: "UNLOADED", reason: expect.stringContaining("unloaded") },
    ]);
    expect(out.ready_after_load).toBe(true);
    expect(out.index_after_load).toEqual([{ name: "churn", version, state: "READY", reason: "" }]);
    expect(server.core.model("churn").version).toBe(version);
  }, 180_000);
});

describe("Seldon's Python client in microservice mode against the model server", () => {
  it("posts its form-encoded json= message to /predict and reads the churn scores", async () => {
    expect(existsSync(join(SELDON_VENV, "bin", "python"))).toBe(true);
    const features = server.core.featureNames(server.core.model("churn"));
    const rows = Array.from({ length: 5 }, (_, i) =>
      Object.fromEntries(features.map((name) => [name, batch.columns[name]![i]])),
    );
    await storage.write("seldon-request.json", JSON.stringify({ rows }));
    const { stdout } = await run(
      join(SELDON_VENV, "bin", "python"),
      ["-c", SELDON_PROBE, hostPort, join(dir, "seldon-request.json")],
      { timeout: 120_000 },
    );
    const result = JSON.parse(stdout) as {
      success: boolean;
      msg: string;
      response: { data: { names: string[]; ndarray: number[][] }; meta: { tags: { tiers: string[] } } };
    };
    expect(result.success, result.msg).toBe(true);
    expect(result.response.data.names).toEqual(["t:0", "t:1"]);
    expect(result.response.data.ndarray).toHaveLength(5);
    result.response.data.ndarray.forEach(([, p], i) => {
      const fields = expected[i]!.split(",");
      expect(formatProbability(p!)).toBe(fields[1]);
      expect(result.response.meta.tags.tiers[i]).toBe(fields[2]);
    });
  }, 180_000);
});
