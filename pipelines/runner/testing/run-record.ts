import { pendingStep, type RunRecord } from "../records.js";

/**
 * A run record for tests: a running, untriggered local run of one pending
 * step, with `fields` laid over it. One place for the record's shape, so a
 * field added to RunRecord is added to the tests' runs here once.
 */
export function testRunRecord(fields: Partial<RunRecord> & Pick<RunRecord, "bucket">): RunRecord {
  return {
    version: 1,
    run_id: "r1",
    pipeline: "weekly",
    runner: "fake",
    trigger: null,
    attempt: 1,
    state: "running",
    exit_code: null,
    reason: null,
    started: "",
    finished: null,
    seconds: null,
    code_version: "c",
    output_prefix: null,
    steps: [pendingStep({ name: "train", component: "fake" })],
    ...fields,
  };
}
