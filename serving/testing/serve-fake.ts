import { parseArgs } from "node:util";
import { createLogger } from "../../components/common/log.js";
import { runUntilSignal } from "../run.js";
import { createModelServer } from "../server.js";
import { FakeSource, fakeModel } from "./fake-model.js";
import { testSchema } from "./schema.js";

/**
 * The model server over the fake model as a process, for lifecycle tests and
 * benchmarks (the same runUntilSignal as `churn serve`). SIGUSR2 switches to
 * the next fake model version, as a champion change would.
 * Usage: node --import tsx serving/testing/serve-fake.ts --port 0 [--load-ms 0]
 */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "load-ms": { type: "string", default: "0" },
    "drain-ms": { type: "string", default: "10000" },
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
const server = await createModelServer({ sources: [source], logger });
await runUntilSignal(server, {
  host: "127.0.0.1",
  port: Number(values.port),
  logger,
  drainTimeoutMs: Number(values["drain-ms"]),
});
process.removeAllListeners("SIGUSR2");
