/**
 * One index build of bench/lookup.ts in its own process, as the publish step
 * runs it: the contact list (every 100th customer) is made first, then the
 * build is timed (wall and CPU) and the process's peak RSS reported.
 * Arguments: scores.csv path, index path, scores.csv sha256, customer count.
 */
import { createReadStream } from "node:fs";
import { buildCustomerIndex, type IndexExtras } from "../components/common/documents/customer-index.js";
import { OUTPUT_FILES } from "../components/common/layout/index.js";

const [scoresPath, indexPath, scoresSha256, count] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const idOf = (i: number) => `C${String(i).padStart(9, "0")}`;
// The contact list: 1% of the customers, ranked; every tenth one held back as control.
const contacts = new Map<string, IndexExtras>();
for (let r = 1, i = 0; i < Number(count); i += 100, r++)
  contacts.set(idOf(i), { rank: r, group: r % 10 === 0 ? "control" : "contact" });
const started = performance.now();
const cpu = process.cpuUsage();
const built = await buildCustomerIndex({
  scores: createReadStream(scoresPath, { highWaterMark: 1 << 20 }),
  scoresName: OUTPUT_FILES.scores,
  scoresSha256,
  source: scoresPath,
  week: "2026-W49",
  path: indexPath,
  extras: contacts,
  contactList: true,
});
const used = process.cpuUsage(cpu);
process.send!({
  seconds: (performance.now() - started) / 1000,
  cpuSeconds: (used.user + used.system) / 1e6,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  size: built.size,
  sha256: built.sha256,
  scores: built.header.scores,
});
