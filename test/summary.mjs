// Print the plain closing line CI reads ("vitest: N passed, N failed, N skipped")
// from Vitest's JSON report, and fail when no test ran at all, or when any
// test was skipped: a skipped test is never counted as passing (a data-set
// suite without its data fails under CI on its own: test/support/datasets.ts).
import { readFileSync } from "node:fs";

const report = JSON.parse(readFileSync(process.argv[2] ?? ".vitest-report.json", "utf8"));
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0) {
  const names = (report.testResults ?? []).flatMap((file) =>
    (file.assertionResults ?? [])
      .filter((t) => t.status === "pending" || t.status === "skipped" || t.status === "todo")
      .map((t) => `${file.name}: ${t.fullName}`),
  );
  console.log(`skipped tests fail the run:\n  ${names.join("\n  ")}`);
}
if (passed === 0 || failed > 0 || skipped > 0) process.exit(1);
