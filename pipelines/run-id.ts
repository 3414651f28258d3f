/**
 * Run ids are part of the bucket layout (`runs/<run-id>/`); the rule lives in
 * components/common/layout. Re-exported here for the runner's callers.
 */
export { isRunId, runIdFor, type TriggerObject } from "../components/common/layout/index.js";
