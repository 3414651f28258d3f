import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RawRow } from "../../components/models/inference.js";
import type { ModelSource } from "../core.js";
import { createModelServer, type ModelServer, type ServerOptions } from "../server.js";
import { FakeSource, fakeModel } from "./fake-model.js";
import { testSchema } from "./schema.js";

/**
 * What tests and benchmarks need to run the server without a real model:
 * the fake model and source, the test schema, and the shared JSON fixtures.
 */
export { FakeModelSource, FakeSource, fakeModel } from "./fake-model.js";
export { testSchema } from "./schema.js";

/** A documented request example from serving/fixtures/. */
export interface Fixture {
  file: string;
  description: string;
  method: "GET" | "POST";
  path: string;
  body: unknown;
  status: number;
  /** The rows the request means (success cases), to compare with the core called directly. */
  rows?: RawRow[];
  /** Words the error message must contain (error cases). */
  errorMentions?: string[];
}

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** Every fixture, by file name. */
export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...JSON.parse(readFileSync(FIXTURES + file, "utf8")) }) as Fixture);
}

/**
 * A server over a fake churn model (seed 1) on the test schema, plus the
 * lifetime source if one is given, loaded and ready, not listening.
 */
export async function fakeServer(
  options: Partial<ServerOptions> & { source?: FakeSource; lifetime?: ModelSource<"lifetime"> } = {},
): Promise<{ server: ModelServer; source: FakeSource }> {
  const schema = testSchema();
  const { source: given, lifetime, ...rest } = options;
  const source = given ?? new FakeSource(() => fakeModel(schema, { seed: 1 }));
  const sources: ModelSource[] = lifetime ? [source, lifetime] : [source];
  const server = await createModelServer({ processMetrics: false, ...rest, sources });
  await server.start();
  return { server, source };
}
