import { modelPage } from "./pages/model.js";
import { modelsPage } from "./pages/models.js";
import { runPage } from "./pages/run.js";
import { runsPage } from "./pages/runs.js";
import { weekPage } from "./pages/week.js";
import { weeksPage } from "./pages/weeks.js";
import type { Page } from "./router.js";

/**
 * Which page a hash shows. `#/runs/<id>[/steps/<step>]`, `#/models[/<version>]`,
 * `#/weeks[/<stem>]`; anything else is the runs list (with its `?state=&pipeline=`).
 */
export function pageFor(parts: string[], params: URLSearchParams): Page {
  const [section, id, sub, name] = parts;
  if (section === "runs" && id) return (ctx) => runPage(ctx, id, sub === "steps" ? (name ?? null) : null);
  if (section === "models" && id) return (ctx) => modelPage(ctx, id);
  if (section === "models") return modelsPage;
  if (section === "weeks" && id) return (ctx) => weekPage(ctx, id);
  if (section === "weeks") return weeksPage;
  return (ctx) => runsPage(ctx, params);
}
