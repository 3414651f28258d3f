import { readFileSync } from "node:fs";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planAndRunStep } from "../../components/common/component/run.js";
import { openStorage } from "../../components/common/storage/index.js";
import type { Storage } from "../../components/common/storage/types.js";
import { publishComponent } from "../../components/publish/spec.js";
import { createModelServer, type ModelServer } from "../server.js";
import { customerAnswerSchema } from "./answer.js";

let dir: string;
let storage: Storage;
const servers: ModelServer[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lookup-"));
  storage = await openStorage(dir);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const HEADER =
  "customer_id,churn_probability,risk_tier,reason_1,reason_2,reason_codes,model_version,region\n";

/** Publish a week through the real publish component, its weekly file uploaded at `uploaded` (seconds). */
async function publishWeek(stem: string, uploaded: number, rows: string[], contacts: string[] = []) {
  const steps = `runs/r-${stem}/steps/up/`;
  await storage.write(`${steps}scores.csv`, HEADER + rows.join(""));
  await storage.write(
    `${steps}contact-list.csv`,
    `rank,customer_id,group,risk_tier,churn_probability,value,expected_retained_value,reason_1,reason_2,reason_codes\n${contacts.join("")}`,
  );
  await storage.write(`${steps}rejected.csv`, "line,column,reason,raw\n");
  await storage.write(`${steps}summary.json`, JSON.stringify({ model_version: "v1", counts: {} }));
  await storage.write(`weekly/${stem}.csv`, "customer_id\n");
  await utimes(join(dir, "weekly", `${stem}.csv`), uploaded, uploaded);
  await planAndRunStep(
    storage,
    `r-${stem}`,
    "publish",
    publishComponent,
    {
      scores: [`${steps}scores.csv`],
      contact_list: [`${steps}contact-list.csv`],
      rejected: [`${steps}rejected.csv`],
      summary: [`${steps}summary.json`],
    },
    { output_prefix: `output/${stem}/`, run_id: `r-${stem}`, trigger: `weekly/${stem}.csv` },
  );
}

async function serve(token?: string) {
  const server = await createModelServer({
    sources: [],
    required: [],
    processMetrics: false,
    lookup: { storage, token, pollMs: 20 },
  });
  servers.push(server);
  return server;
}

// Every answer of the route must be what serving/openapi.yaml declares for its status.
const spec = parse(readFileSync(new URL("../openapi.yaml", import.meta.url), "utf8"), { merge: true }) as {
  paths: Record<string, { get: { responses: Record<string, { $ref?: string; content?: unknown }> } }>;
  components: Record<string, Record<string, unknown>>;
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: spec.components }, "openapi");
const declared = spec.paths["/v1/customers/{id}"]!.get.responses;
const schemaOf = (status: number) => {
  const response = declared[String(status)];
  if (!response) throw new Error(`openapi.yaml declares no ${status} for GET /v1/customers/{id}`);
  if (response.$ref) return ajv.compile({ $ref: "openapi#/components/schemas/V2Error" });
  const { schema } = (response.content as Record<string, { schema: { $ref?: string } }>)["application/json"]!;
  return ajv.compile(schema.$ref ? { $ref: `openapi${schema.$ref}` } : schema);
};

const get = async (server: ModelServer, id: string, headers: Record<string, string> = {}) => {
  const response = await server.app.inject({
    method: "GET",
    url: `/v1/customers/${encodeURIComponent(id)}`,
    headers,
  });
  const validate = schemaOf(response.statusCode);
  expect(validate(response.json()), `${response.statusCode}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return response;
};

/** Ask until the answer's week is `week` (the source polls every 20 ms), or give up after ~5 s. */
async function untilWeek(server: ModelServer, id: string, week: string) {
  for (let i = 0; i < 250; i++) {
    const response = await get(server, id);
    if (response.statusCode === 200 && response.json().week === week) return response;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the lookup never answered ${id} from week ${week}`);
}

describe("GET /v1/customers/{id}", () => {
  it("answers 404 with the reason before any week is published, then the newest week, switching when a newer one publishes", async () => {
    const server = await serve();
    let before = await get(server, "c1");
    // 503 only while the first look at the bucket runs.
    for (let i = 0; i < 100 && before.statusCode === 503; i++) {
      await new Promise((r) => setTimeout(r, 20));
      before = await get(server, "c1");
    }
    expect(before.statusCode).toBe(404);
    expect(before.json().error).toBe(
      'no customer "c1": no week has been published with a customer index yet (output/_latest.json is absent)',
    );

    await publishWeek(
      "w1",
      1_000_000,
      [
        "c1,0.91,high,Tenure: 2 (typical 30),Plan: basic,Tenure:+0.8;Plan:+0.2,v1,north\n",
        "c2,0.1,low,,,,v1,south\n",
      ],
      ["1,c1,contact,high,0.91,,0.91,Tenure: 2 (typical 30),Plan: basic,Tenure:+0.8;Plan:+0.2\n"],
    );
    const first = await untilWeek(server, "c1", "w1");
    expect(first.headers["cache-control"]).toBe("private, no-store");
    expect(customerAnswerSchema.parse(first.json())).toEqual({
      id: "c1",
      week: "w1",
      churn_probability: 0.91,
      risk_tier: "high",
      reasons: ["Tenure: 2 (typical 30)", "Plan: basic"],
      reason_codes: "Tenure:+0.8;Plan:+0.2",
      model_version: "v1",
      rank: 1,
      group: "contact",
      prob_alive: null,
      published_at: expect.any(String),
    });
    expect((await get(server, "c2")).json()).toMatchObject({ reasons: [], rank: null, group: null });
    const unknown = await get(server, "nobody");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('no customer "nobody" in week w1, the newest complete week');

    await publishWeek("w2", 2_000_000, ["c1,0.42,medium,,,,v1,north\n"]);
    const second = await untilWeek(server, "c1", "w2");
    expect(second.json()).toMatchObject({ churn_probability: 0.42, risk_tier: "medium", rank: null });
    // c2 was in w1 only: the newest complete week answers, not an older one.
    expect((await get(server, "c2")).statusCode).toBe(404);

    // Republishing the older week (a forced rerun) does not move the lookup back.
    await publishWeek("w1", 1_000_000, ["c1,0.99,high,,,,v1,north\n"]);
    await new Promise((r) => setTimeout(r, 150));
    expect((await get(server, "c1")).json()).toMatchObject({ week: "w2", churn_probability: 0.42 });
  });

  it("requires the bearer token when one is set, and never answers the route's bad requests with a 5xx", async () => {
    await publishWeek("w1", 1_000_000, ["c1,0.91,high,,,,v1,north\n"]);
    const token = "a-token-of-24-characters";
    const server = await serve(token);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer wrong-token-of-24-chars" },
      { authorization: token },
    ];
    for (const headers of attempts) {
      const response = await get(server, "c1", headers);
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(response.json().error).toMatch(/needs `Authorization: Bearer <token>`/);
    }
    const auth = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 250 && (await get(server, "c1", auth)).statusCode !== 200; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await get(server, "c1", auth)).json()).toMatchObject({ id: "c1", week: "w1" });
    const long = await get(server, "x".repeat(2000), auth);
    expect(long.statusCode).toBe(414);
    expect(long.json().message).toMatch(/exceeding the max param length/);
    expect((await get(server, "é ü/?#", auth)).statusCode).toBe(404);
  });
});
