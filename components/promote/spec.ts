import { z } from "zod";
import { bundleVersion, writeBundle } from "../common/bundle/bundle.js";
import { promote, readChampion } from "../common/bundle/champion.js";
import { readBundleInput, readDecisionInput, readInputText } from "../common/component/inputs.js";
import { type ComponentContext, defineComponent } from "../common/component/spec.js";
import { decisionLine, decisionLineSchema, gateActionSchema } from "../common/documents/decision.js";
import { GateRefusedError, InputError } from "../common/errors.js";
import {
  EVALUATION_FILE,
  EVALUATION_REPORT_FILE,
  runIdOfObject,
  TRAINED_IDS_FILE,
} from "../common/layout/index.js";
import { mirrorPromotion } from "./mlflow.js";

/**
 * The promote component: stores the candidate (its refit on all rows when
 * train made one: the gate judged the same recipe without the held-out rows)
 * under models/<version>/
 * (evaluation.json and evaluation-report.json first, bundle.json last) and moves models/champion when
 * the gate passed. With no champion and a refused candidate it fails with
 * exit 3 and the gate's reason (which model reached which ROC-AUC); with a
 * champion, a refused candidate leaves the champion in place and says why.
 */
export const promoteParameters = z.strictObject({});
export type PromoteParameters = z.output<typeof promoteParameters>;

async function run(ctx: ComponentContext<PromoteParameters>) {
  const candidate = await readBundleInput(ctx, ctx.inputs.candidate![0]!);
  const decisionRef = ctx.inputs.decision![0]!;
  const decision = await readDecisionInput(ctx, decisionRef);
  const judged = bundleVersion(candidate);
  if (decision.candidate_version !== judged) {
    throw new InputError(
      `${decisionRef.object} judged model ${decision.candidate_version}, not the candidate ${judged}`,
    );
  }
  // The judged candidate refitted on every labelled row is what is stored and promoted.
  const refitRef = ctx.inputs.refit?.[0];
  const bundle = refitRef ? await readBundleInput(ctx, refitRef) : candidate;
  if (refitRef && bundle.training.evaluated_version !== judged) {
    throw new InputError(`${refitRef.object} is not the refit of the judged candidate ${judged}`);
  }
  const version = bundleVersion(bundle);
  if (decision.action === "refuse" && !(await readChampion(ctx.storage))) {
    throw new GateRefusedError(decision.reason);
  }
  // Refused candidates are stored too, so `churn models promote` can still pick one by hand.
  // Its held-out evaluation goes beside it: a later week it scores while a newer candidate lost is described with it.
  const reportRef = ctx.inputs.report?.[0];
  const sideFiles: Record<string, string> = { [EVALUATION_FILE]: `${JSON.stringify(decision, null, 2)}\n` };
  if (reportRef) sideFiles[EVALUATION_REPORT_FILE] = await readInputText(ctx, reportRef);
  // Which customers the stored model learnt from: the gate never compares it on them later.
  const trainedIdsRef = ctx.inputs.trained_ids?.[0];
  if (trainedIdsRef) sideFiles[TRAINED_IDS_FILE] = await readInputText(ctx, trainedIdsRef);
  const stored = await writeBundle(ctx.storage, bundle, sideFiles, "promote");
  const previous = (await readChampion(ctx.storage))?.pointer.version ?? null;
  let champion = previous;
  if (decision.action === "promote") {
    champion = (await promote(ctx.storage, version, decision.reason)).version;
  }
  // What this run says about the decision (a cached one names the run that made it): report and CLI show this.
  const decidedIn = runIdOfObject(decisionRef.object);
  const line = decisionLine({
    decision,
    previousChampion: previous,
    stored: version,
    decidedBy: decidedIn !== null && decidedIn !== ctx.run ? decidedIn : null,
  });
  ctx.logger.info(`promote: ${line.text}`);
  await mirrorPromotion(ctx, stored, { ...decision }, champion);
  await ctx.writeOutput(
    "promotion",
    `${JSON.stringify({ version, promoted: decision.action === "promote", champion, reason: decision.reason, decision: line }, null, 2)}\n`,
    { contentType: "application/json" },
  );
  return {
    counts: { promoted: decision.action === "promote" ? 1 : 0 },
    summary: { version, action: decision.action, champion, reason: decision.reason, decision: line },
  };
}

/** The promote component spec. */
export const promoteComponent = defineComponent({
  name: "promote",
  description: "store the candidate bundle and move models/champion when the gate passed",
  inputs: {
    candidate: { type: "model", description: "the train step's candidate bundle" },
    decision: { type: "json", description: "the evaluate step's decision.json" },
    refit: {
      type: "model",
      description: "the train step's refit on all rows: stored and promoted instead of the judged candidate",
      optional: true,
    },
    report: {
      type: "json",
      description: "the evaluate step's report.json (stored as models/<version>/evaluation-report.json)",
      optional: true,
    },
    trained_ids: {
      type: "json",
      description: "the train step's trained-ids.json (stored as models/<version>/trained-ids.json)",
      optional: true,
    },
  },
  outputs: {
    promotion: {
      type: "json",
      file: "promotion.json",
      description: "what was stored, who is champion, and the decision as the run says it (decisionLine)",
    },
  },
  parameters: promoteParameters,
  summary: z.strictObject({
    version: z.string(),
    action: gateActionSchema,
    champion: z.string().nullable(),
    /** The gate's stored sentence (decision.json). */
    reason: z.string(),
    /** What this run says about it (decisionLine); absent in runs before issue 18 item 9. */
    decision: decisionLineSchema.optional(),
  }),
  writes: [
    { object: "models/<version>/", description: "the candidate's bundle and evaluation, bundle.json last" },
    {
      object: "models/champion",
      description: "the champion pointer, moved when the gate passed (MLflow mirrors it)",
    },
  ],
  run,
});
