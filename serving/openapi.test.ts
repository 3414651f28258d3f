import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { openStorage } from "../components/common/storage/index.js";
import { bgnbdInferenceModel } from "../components/models/lifetime/model.js";
import type { ModelServer } from "./server.js";
import { fakeServer, loadFixtures } from "./testing/index.js";

// Keeps serving/openapi.yaml true: real responses of the server must validate
// against the documented schema for their path, method and status, every
// documented path must be exercised, and every route must be documented.
interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
type PathItem = Record<string, Operation> & { $ref?: string };
const doc = parse(readFileSync(new URL("./openapi.yaml", import.meta.url), "utf8"), { merge: true }) as {
  paths: Record<string, PathItem>;
  components: Record<string, Record<string, unknown>>;
};

function resolve<T>(node: T & { $ref?: string }): T {
  if (!node.$ref) return node;
  const target = node.$ref
    .replace(/^#\//, "")
    .split("/")
    .reduce(
      (n: Record<string, unknown>, key) => n[key] as Record<string, unknown>,
      doc as unknown as Record<string, unknown>,
    ) as T & { $ref?: string };
  return resolve(target);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: doc.components }, "openapi");
const templates = Object.keys(doc.paths).map((path) => ({
  path,
  regex: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

let server: ModelServer;
const exercised = new Set<string>();
const routes: string[] = [];

function check(method: string, url: string, status: number, contentType: string, body: string): void {
  const template = templates.find((t) => t.regex.test(url.split("?")[0]!));
  expect(template, `${url} is not documented`).toBeDefined();
  const item = resolve(doc.paths[template!.path]!);
  const operation = item[method.toLowerCase()];
  expect(operation, `${method} ${template!.path} is not documented`).toBeDefined();
  const response = operation!.responses[String(status)];
  expect(response, `${method} ${template!.path} does not document status ${status}`).toBeDefined();
  const content = resolve(response!).content!;
  const media = Object.keys(content).find((m) => contentType.startsWith(m));
  expect(media, `${contentType} is not documented for ${method} ${template!.path} ${status}`).toBeDefined();
  exercised.add(`${method} ${template!.path}`);
  if (!media!.includes("json")) return;
  const schema = content[media!]!.schema as { $ref?: string };
  const validate = ajv.compile(schema.$ref ? { $ref: `openapi${schema.$ref}` } : schema);
  const ok = validate(JSON.parse(body));
  expect(ok, `${method} ${url} ${status}: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 500)}`).toBe(
    true,
  );
}

beforeAll(async () => {
  // A lifetime model (CDNOW parameters) so POST /predict answers too.
  const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const lifetime = bgnbdInferenceModel(params, "week", "lifetime-0123456789ab");
  // The customer lookup behind a token (its other answers: serving/lookup/openapi.test.ts).
  const storage = await openStorage(mkdtempSync(join(tmpdir(), "openapi-lookup-")));
  const lookup = { storage, token: "openapi-test-token-1234" };
  ({ server } = await fakeServer({ lifetime: { name: "lifetime", load: async () => lifetime }, lookup }));
  routes.push(...server.routes);
});
afterAll(async () => {
  await server.close();
});

describe("openapi.yaml", () => {
  it("documents real responses of every documented request example", async () => {
    for (const fixture of loadFixtures()) {
      const r = await server.app.inject({
        method: fixture.method,
        url: fixture.path,
        payload: fixture.body as object,
      });
      check(fixture.method, fixture.path, r.statusCode, String(r.headers["content-type"]), r.body);
    }
  });

  it("documents health, metadata, versioned routes, errors and metrics", async () => {
    const version = server.core.model("churn").version;
    const columns = loadFixtures().find((f) => f.file === "v2-infer-columns.json")!.body as object;
    const lifetimeInfer = {
      inputs: ["frequency", "recency", "T"].map((name, i) => ({
        name,
        shape: [1],
        datatype: "FP64",
        data: [[2, 30.43, 38.86][i]],
      })),
    };
    const requests: Array<[string, string, unknown?, Record<string, string>?]> = [
      ["GET", "/v2/health/live"],
      ["GET", "/v2/health/ready"],
      ["GET", "/v2"],
      ["GET", "/v2/models/churn"],
      ["GET", "/v2/models/nope"],
      ["GET", `/v2/models/churn/versions/${version}`],
      ["GET", "/v2/models/churn/versions/0"],
      ["GET", "/v2/models/churn/ready"],
      ["GET", "/v2/models/nope/ready"],
      ["GET", `/v2/models/churn/versions/${version}/ready`],
      ["POST", `/v2/models/churn/versions/${version}/infer`, columns],
      ["POST", "/v2/models/churn/versions/0/infer", columns],
      ["POST", `/v2/models/churn/versions/${version}/explain`, columns],
      ["POST", "/v2/models/churn/infer", "{not json", { "content-type": "application/json" }],
      ["POST", "/v2/models/churn/infer", "x", { "content-type": "application/octet-stream" }],
      ["POST", "/api/v1.0/predictions", "[", { "content-type": "application/json" }],
      ["POST", "/api/v1.0/explain", { jsonData: { nope: 1 } }],
      ["GET", "/metrics"],
      ["GET", "/v1/customers/c1"],
      ["POST", "/predict", { customers: [{ id: "c1", frequency: 2, recency: 30.43, T: 38.86 }] }],
      ["POST", "/predict", { customers: [{ frequency: 2, recency: 40, T: 38.86 }] }],
      ["POST", "/predict", { frequency: 30, recency: 100, T: 215 }],
      ["POST", "/predict", { frequency: 30, recency: 100, wrong_variable: 215 }],
      ["POST", "/v2/repository/index"],
      ["POST", "/v2/repository/models/nope/load", {}],
      ["POST", "/v2/repository/models/churn/unload", {}],
      ["POST", "/v2/repository/models/churn/load", {}],
      ["GET", "/v2/models/lifetime"],
      ["GET", "/v2/models/lifetime/versions/lifetime-0123456789ab"],
      ["GET", "/v2/models/lifetime/versions/0"],
      ["GET", "/v2/models/lifetime/ready"],
      ["GET", "/v2/models/lifetime/versions/lifetime-0123456789ab/ready"],
      ["POST", "/v2/models/lifetime/infer", lifetimeInfer],
      ["POST", "/v2/models/lifetime/versions/lifetime-0123456789ab/infer", lifetimeInfer],
      [
        "POST",
        "/v2/models/lifetime/infer",
        { inputs: [{ name: "T", shape: [1], datatype: "FP64", data: [-1] }] },
      ],
    ];
    for (const [method, url, payload, headers] of requests) {
      const r = await server.app.inject({
        method: method as "GET",
        url,
        payload: payload as string,
        headers,
      });
      expect(r.statusCode).toBeLessThan(500);
      check(method, url, r.statusCode, String(r.headers["content-type"]), r.body);
    }
  });

  it("has every route documented and every documented operation exercised", () => {
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(resolve(item)).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`),
      ),
    );
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) expect(documented, `${route} is served but not documented`).toContain(route);
    const exercisedRoutes = [...exercised].map((e) => e.replace(/\{([^}]+)\}/g, ":$1"));
    for (const op of documented)
      expect(exercisedRoutes, `${op} is documented but never exercised`).toContain(op);
  });
});
