/**
 * The promotion gate (DESIGN "Models and champion"): a candidate is promoted
 * only if its validation ROC-AUC reaches gate.min_roc_auc and is not worse
 * than the champion's ROC-AUC on the same validation rows. Pure: the caller
 * moves pointers, and maps `refuse` (no champion, nothing passes) to
 * GateRefusedError (exit 3).
 */

export interface GateModel {
  /** Family or model version, as the run should name it to people. */
  name: string;
  rocAuc: number;
}

export interface GateInput {
  /** The selected candidate, evaluated on the validation rows. */
  candidate: GateModel;
  /** The other families tried, only so the reason can say which reached what. */
  others?: GateModel[];
  /** The current champion on the comparison's basis (see `versus`), or null when there is none. */
  champion: GateModel | null;
  /**
   * How champion and candidate were compared (issue 17 item 3): the
   * candidate's figure on the same basis as the champion's, and the phrase
   * that names the basis ("on 412 held-out customers the champion never
   * trained on"). Without it the candidate's held-out figure and "on the same
   * validation rows" are used.
   */
  versus?: { candidate: GateModel; basis: string };
  minRocAuc: number;
}

export interface GateDecision {
  /** promote: the candidate becomes champion; keep-champion: the champion stays; refuse: no model to score with. */
  action: "promote" | "keep-champion" | "refuse";
  promoted: boolean;
  /** One or two sentences in plain words, for the run record, _FAILED and logs. */
  reason: string;
  candidate: GateModel;
  champion: GateModel | null;
  minRocAuc: number;
}

/**
 * The champion as a sentence names it: the contest already names it
 * "champion <version>", older callers give only the version, so "champion"
 * is added only when missing (never "Champion champion ... stays").
 */
export function championPhrase(name: string): string {
  return /^champion\b/i.test(name) ? name.replace(/^champion/i, "champion") : `champion ${name}`;
}

/** The same phrase opening a sentence. */
const ChampionPhrase = (name: string) => {
  const phrase = championPhrase(name);
  return phrase.charAt(0).toUpperCase() + phrase.slice(1);
};

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : "undefined (one class only)");

/** Decides whether the candidate replaces the champion. */
export function decideGate(input: GateInput): GateDecision {
  const { candidate, champion, minRocAuc } = input;
  const base = { candidate, champion, minRocAuc };
  const tried = [candidate, ...(input.others ?? [])].map((m) => `${m.name} ${f4(m.rocAuc)}`).join(", ");
  const reachesBar = Number.isFinite(candidate.rocAuc) && candidate.rocAuc >= minRocAuc;

  if (!reachesBar) {
    const below = `${candidate.name} reached ROC-AUC ${f4(candidate.rocAuc)}, below the gate's ${minRocAuc} (tried: ${tried})`;
    if (champion === null) {
      return {
        ...base,
        action: "refuse",
        promoted: false,
        reason: `No model promoted and no champion to fall back on: ${below}.`,
      };
    }
    return {
      ...base,
      action: "keep-champion",
      promoted: false,
      reason: `${ChampionPhrase(champion.name)} stays: ${below}.`,
    };
  }
  const challenger = input.versus?.candidate ?? candidate;
  const basis = input.versus?.basis ?? "on the same validation rows";
  if (champion !== null && !(challenger.rocAuc >= champion.rocAuc)) {
    return {
      ...base,
      action: "keep-champion",
      promoted: false,
      reason:
        `${ChampionPhrase(champion.name)} stays: ${basis} it reached ROC-AUC ${f4(champion.rocAuc)}, ` +
        `better than ${challenger.name}'s ${f4(challenger.rocAuc)}.`,
    };
  }
  const versus =
    champion === null
      ? "there was no champion"
      : challenger === candidate
        ? `the ${championPhrase(champion.name)} reached ${f4(champion.rocAuc)} ${basis}`
        : `${basis}, ${champion.name} reached ${f4(champion.rocAuc)} and ${challenger.name} ${f4(challenger.rocAuc)}`;
  return {
    ...base,
    action: "promote",
    promoted: true,
    reason: `${candidate.name} promoted: ROC-AUC ${f4(candidate.rocAuc)} reaches the gate's ${minRocAuc}${champion !== null && challenger !== candidate ? "; " : " and "}${versus}.`,
  };
}
