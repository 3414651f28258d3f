import { parseArgs } from "node:util";
import { createLogger } from "../../components/common/log.js";
import { bgnbdInferenceModel } from "../../components/models/lifetime/model.js";
import type { ModelSource } from "../core.js";
import { runUntilSignal } from "../run.js";
import { createModelServer } from "../server.js";
import { FakeSource, fakeModel } from "./fake-model.js";
import { testSchema } from "./schema.js";

/**
 * The model server over the fake model as a process, for lifecycle tests and
 * benchmarks (the same runUntilSignal as `churn serve`). SIGUSR2 switches to
 * the next fake model version, as a champion change would.
 * `--lifetime` also serves a BG/NBD lifetime model (CDNOW parameters), so
 * every route answers (the schemathesis run).
 * Usage: node --import tsx serving/testing/serve-fake.ts --port 0 [--load-ms 0] [--lifetime]
 */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "load-ms": { type: "string", default: "0" },
    "drain-ms": { type: "string", default: "10000" },
    lifetime: { type: "boolean", default: false },
  },
});
const schema = testSchema();
let seed = 1;
const source = new FakeSource(() => fakeModel(schema, { seed }), Number(values["load-ms"]));
process.on("SIGUSR2", () => {
  seed++;
  source.change(() => fakeModel(schema, { seed }));
});
const logger = createLogger({ json: true });
const lifetime = bgnbdInferenceModel(
  { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
  "week",
  "lifetime-0123456789ab",
);
const sources: ModelSource[] = [source];
if (values.lifetime) sources.push({ name: "lifetime", load: async () => lifetime });
const server = await createModelServer({ sources, logger });
await runUntilSignal(server, {
  host: "127.0.0.1",
  port: Number(values.port),
  logger,
  drainTimeoutMs: Number(values["drain-ms"]),
});
process.removeAllListeners("SIGUSR2");
