/**
 * The model server of bench/lookup.ts, in its own process: no model, the
 * customer lookup on the bucket given as argument, on 127.0.0.1 (a free
 * port). Tells the parent its port and RSS before the week loads, and its
 * RSS whenever asked.
 */
import { openStorage } from "../components/common/storage/index.js";
import { createModelServer } from "../serving/server.js";

const storage = await openStorage(process.argv[2]!);
const before = process.memoryUsage().rss;
const server = await createModelServer({
  sources: [],
  required: [],
  processMetrics: false,
  lookup: { storage, pollMs: 60_000 },
});
const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
process.send!({ rss: before, port: Number(new URL(address).port) });
process.on("message", () => process.send!({ rss: process.memoryUsage().rss }));
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
