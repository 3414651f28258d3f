import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import type { FastifyInstance } from "fastify";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "../../cli/main.js";
import {
  BUNDLE_FORMAT,
  type Bundle,
  promote,
  readChampion,
  writeBundle,
} from "../../components/common/bundle/index.js";
import { UsageError } from "../../components/common/errors.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { cachedRunRecords } from "../../pipelines/query/index.js";
import { pendingStep, type RunRecord, type StepRecord } from "../../pipelines/runner/records.js";
import { checkExposure, createConsoleApp, isLoopback } from "./app.js";

// The console API over a small hand-made file bucket: one failed weekly run
// (and the earlier run its cached step came from), two model bundles, and a
// published week whose rejected.csv still holds a pii value (as an older or
// hand-edited output might), so the pii rules of the console itself are tested.

const RUN = "r-0123456789abcdef";
const SOURCE_RUN = "r-fedcba9876543210";
const REASON = "ingest-weekly rejected 9 of 10 rows (90%), above ingest.max_reject_share 5%.";

function step(name: string, component: string, extra: Partial<StepRecord> = {}): StepRecord {
  return { ...pendingStep({ name, component }), ...extra };
}

function record(runId: string, steps: StepRecord[], extra: Partial<RunRecord> = {}): RunRecord {
  return {
    version: 1,
    run_id: runId,
    pipeline: "weekly",
    bucket: "file:///x",
    runner: "local",
    trigger: { object: "weekly/2026-W01.csv", generation: "1" },
    attempt: 1,
    state: "failed",
    exit_code: 2,
    reason: REASON,
    started: "2026-01-05T10:00:00.000Z",
    finished: "2026-01-05T10:00:09.000Z",
    seconds: 9,
    code_version: "sha256:test",
    output_prefix: "output/2026-W01/",
    steps,
    ...extra,
  };
}

function bundle(rocAuc: number): Bundle {
  return {
    format: BUNDLE_FORMAT,
    schema: {},
    transform: {},
    model: { family: "logistic" },
    calibration: null,
    tiers: { high: 0.6, medium: 0.3 },
    metrics: { roc_auc: rocAuc, cv_roc_auc: { logistic: rocAuc } },
    training: { training_rows: 100 },
  };
}

const LOG_LINES = Array.from({ length: 2000 }, (_, i) => `line ${i} of the ingest log`);

let dir: string;
let storage: Storage;
let older: string;
let newer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "console-api-"));
  storage = await openStorage(dir);
  await storage.write("churn.yaml", 'id_column: id\nlabel: {column: churn, positive: "Yes"}\npii: [email]\n');
  await storage.write("weekly/2026-W01.csv", "id,email,age,churn\n1,a@example.com,40,No\n");
  await storage.write("weekly/2026-W02.csv.gz", "id,email,age,churn\n");
  await storage.write(`runs/${SOURCE_RUN}/steps/ingest-history/log.txt`, "history log of the source run\n");
  await storage.write(`runs/${RUN}/steps/ingest-weekly/log.txt`, `${LOG_LINES.join("\n")}\n`);
  await storage.write(
    `runs/${SOURCE_RUN}/run.json`,
    JSON.stringify(
      record(
        SOURCE_RUN,
        [
          step("ingest-history", "ingest", {
            state: "succeeded",
            exit_code: 0,
            log: `runs/${SOURCE_RUN}/steps/ingest-history/log.txt`,
          }),
        ],
        { state: "succeeded", exit_code: 0, reason: null, started: "2026-01-01T10:00:00.000Z" },
      ),
    ),
  );
  await storage.write(
    `runs/${RUN}/run.json`,
    JSON.stringify(
      record(RUN, [
        step("ingest-history", "ingest", {
          state: "cached",
          exit_code: 0,
          cache: { key: "k", hit: true, from: `${SOURCE_RUN}/ingest-history` },
          inputs: { data: [{ object: "input/history.csv", sha256: "ab".repeat(32) }] },
        }),
        step("ingest-weekly", "ingest", {
          state: "failed",
          exit_code: 2,
          attempts: 1,
          seconds: 1.5,
          error: REASON,
          log: `runs/${RUN}/steps/ingest-weekly/log.txt`,
        }),
        ...["feature", "train", "evaluate", "promote", "score", "merge-scores", "report", "publish"].map(
          (name) => step(name, name, { state: "skipped" }),
        ),
      ]),
    ),
  );
  older = (await writeBundle(storage, bundle(0.85))).version;
  newer = (await writeBundle(storage, bundle(0.9))).version;
  await promote(storage, older, "first");
  await promote(storage, newer, "better");
  await storage.write(
    "output/2026-W01/rejected.csv",
    'line,column,reason,raw\n3,age,"not a number: ""x""","2,b@example.com,x,No"\n4,email,bad email b@example.com,"3,c@example.com,5,No"\n',
  );
  await storage.write(
    "output/2026-W01/summary.json",
    JSON.stringify({
      counts: { rows_in: 10, scored: 1, rejected: 9 },
      email: "x",
      drift: [{ column: "email" }, { column: "age" }],
    }),
  );
  await storage.write(
    "output/2026-W01/report.html",
    "<!doctype html><title>report</title><p>week report</p>",
  );
  await storage.write("output/2026-W01/_FAILED", `${REASON}\n`);
  await storage.write("output/lifetime/2026-W01/customers.csv", "id\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function app(options: { allowChanges?: boolean; authToken?: string; host?: string } = {}): FastifyInstance {
  return createConsoleApp({ storage, configCacheMs: 0, ...options });
}

const readOnly = () => app();

describe("runs API", () => {
  it("lists runs newest first, filters by state and pipeline, and refuses unknown states", async () => {
    const all = (await readOnly().inject("/api/runs")).json();
    expect(all.runs.map((r: { run_id: string }) => r.run_id)).toEqual([RUN, SOURCE_RUN]);
    expect(all.runs[0]).toMatchObject({ state: "failed", reason: REASON, cache_hits: 1, steps: 10 });
    const failed = (await readOnly().inject("/api/runs?state=failed")).json();
    expect(failed.runs.map((r: { run_id: string }) => r.run_id)).toEqual([RUN]);
    expect((await readOnly().inject("/api/runs?pipeline=lifetime")).json().runs).toEqual([]);
    const bad = await readOnly().inject("/api/runs?state=exploded");
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatch(/state must be one of running, interrupted, succeeded, failed/);
    expect((await readOnly().inject("/api/runs?limit=0")).statusCode).toBe(422);
    expect((await readOnly().inject("/api/runs?color=red")).statusCode).toBe(422);
  });

  it("gives a run with its DAG from the pipeline definition", async () => {
    const response = await readOnly().inject(`/api/runs/${RUN}`);
    expect(response.statusCode).toBe(200);
    const { run, dag } = response.json();
    expect(run.reason).toBe(REASON);
    expect(run.steps.find((s: StepRecord) => s.name === "ingest-weekly")).toMatchObject({
      state: "failed",
      exit_code: 2,
      error: REASON,
    });
    const nodes = Object.fromEntries(dag.map((n: { name: string; deps: string[] }) => [n.name, n.deps]));
    expect(Object.keys(nodes)).toHaveLength(10);
    expect(nodes["ingest-history"]).toEqual([]);
    expect(nodes.publish).toEqual(expect.arrayContaining(["merge-scores", "report"]));
  });

  it("answers 404 for an unknown run and 422 for something that is not a run id", async () => {
    const missing = await readOnly().inject("/api/runs/r-1111111111111111");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatch(/no run r-1111111111111111/);
    const malformed = await readOnly().inject("/api/runs/%E0%A4%A");
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/not a valid url/);
    const bad = await readOnly().inject("/api/runs/..%2Fchurn.yaml");
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatch(/not a run id/);
  });
});

describe("run record cache", () => {
  it("re-reads only the run records whose generation changed", async () => {
    const reads: string[] = [];
    const counting = new Proxy(storage, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "readText") return typeof value === "function" ? value.bind(target) : value;
        return (name: string, ...rest: unknown[]) => {
          reads.push(name);
          return (value as Storage["readText"]).call(target, name, ...(rest as []));
        };
      },
    });
    const runs = cachedRunRecords(counting);
    expect((await runs()).map((r) => r.run_id)).toEqual([RUN, SOURCE_RUN]);
    expect(reads).toHaveLength(2);
    reads.length = 0;
    await runs();
    expect(reads).toEqual([]);
    const name = `runs/${SOURCE_RUN}/run.json`;
    const original = await storage.readText(name);
    await storage.write(name, JSON.stringify({ ...JSON.parse(original), reason: "changed since" }));
    try {
      const again = await runs();
      expect(reads).toEqual([name]);
      expect(again.find((r) => r.run_id === SOURCE_RUN)?.reason).toBe("changed since");
    } finally {
      await storage.write(name, original);
    }
  });
});

describe("step logs", () => {
  it("tails from a whole line and streams the full log", async () => {
    const tail = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log?tail=100`);
    expect(tail.statusCode).toBe(200);
    expect(tail.headers["x-log-truncated"]).toBe("true");
    expect(tail.body.length).toBeLessThanOrEqual(100);
    expect(tail.body.split("\n")[0]).toMatch(/^line \d+ of the ingest log$/);
    expect(tail.body).toMatch(/line 1999 of the ingest log\n$/);
    const full = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log`);
    expect(full.body).toBe(`${LOG_LINES.join("\n")}\n`);
    expect(full.headers["content-type"]).toMatch(/^text\/plain/);
  });

  it("with format=text, prints each JSON line as time, level, message and fields (as churn runs logs)", async () => {
    const object = `runs/${RUN}/steps/ingest-weekly/log.txt`;
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        time: `2026-12-04T18:00:${String(i % 60).padStart(2, "0")}.000Z`,
        level: "info",
        message: `ingest: batch ${i}`,
        rows: i,
        step: "ingest-weekly",
      }),
    );
    await storage.write(object, `--- attempt 1 of step ingest-weekly (local)\n${lines.join("\n")}\n`);
    try {
      const full = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log?format=text`);
      expect(full.statusCode).toBe(200);
      const text = full.body.split("\n");
      expect(text[0]).toBe("--- attempt 1 of step ingest-weekly (local)");
      expect(text[1]).toBe("2026-12-04T18:00:00.000Z info  ingest: batch 0  rows=0");
      expect(text[300]).toBe("2026-12-04T18:00:59.000Z info  ingest: batch 299  rows=299");
      expect(full.body).not.toContain("{");
      const tail = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log?tail=200&format=text`);
      expect(tail.headers["x-log-truncated"]).toBe("true");
      expect(tail.body).toMatch(/^2026-12-04T18:00:\d\d\.000Z info {2}ingest: batch \d+ {2}rows=\d+\n/);
      expect(tail.body).toMatch(/ingest: batch 299 {2}rows=299\n$/);
      // Without format, the lines as the step wrote them (downloads, tools).
      const raw = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log`);
      expect(raw.body.split("\n")[1]).toBe(lines[0]);
      expect(
        (await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log?format=html`)).statusCode,
      ).toBe(422);
    } finally {
      await storage.write(object, `${LOG_LINES.join("\n")}\n`);
    }
  });

  it("follows a cached step to the log of the run that computed it", async () => {
    const response = await readOnly().inject(`/api/runs/${RUN}/steps/ingest-history/log`);
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-log-run"]).toBe(SOURCE_RUN);
    expect(response.body).toBe("history log of the source run\n");
  });

  it("says why there is no log, and 404s unknown steps", async () => {
    const skipped = await readOnly().inject(`/api/runs/${RUN}/steps/train/log`);
    expect(skipped.statusCode).toBe(404);
    expect(skipped.json().error).toMatch(/has not run/);
    const unknown = await readOnly().inject(`/api/runs/${RUN}/steps/dance/log`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/no step dance \(steps: ingest-history, ingest-weekly/);
    expect((await readOnly().inject(`/api/runs/${RUN}/steps/ingest-weekly/log?tail=-1`)).statusCode).toBe(
      422,
    );
  });
});

describe("models and champion changes", () => {
  it("lists bundles with metrics and marks the champion", async () => {
    const { champion, models } = (await readOnly().inject("/api/models")).json();
    expect(champion).toMatchObject({ version: newer, previous: [older] });
    expect(models).toHaveLength(2);
    expect(models.find((m: { version: string }) => m.version === newer)).toMatchObject({
      champion: true,
      roc_auc: 0.9,
      cv_roc_auc: { logistic: 0.9 },
    });
    // A damaged bundle is reported, not fatal to the list.
    await storage.write("models/0123456789abcdef/bundle.json", "{not json");
    try {
      const listed = (await readOnly().inject("/api/models")).json();
      expect(listed.models).toHaveLength(2);
      expect(listed.problems).toEqual([
        { version: "0123456789abcdef", error: expect.stringMatching(/not valid JSON/) },
      ]);
    } finally {
      await storage.deletePrefix("models/0123456789abcdef/");
    }
    const detail = await readOnly().inject(`/api/models/${older}`);
    expect(detail.json().model).toMatchObject({ version: older, champion: false });
    expect((await readOnly().inject("/api/models/0000000000000000")).statusCode).toBe(404);
    expect((await readOnly().inject("/api/models/nope")).statusCode).toBe(422);
  });

  it("refuses every change request with 403 and a reason when read-only", async () => {
    for (const [method, url] of [
      ["POST", "/api/models/rollback"],
      ["POST", `/api/models/${older}/promote`],
      ["PUT", "/api/models/rollback"],
      ["DELETE", `/api/runs/${RUN}`],
      ["PATCH", "/api/weeks/2026-W01"],
    ] as const) {
      const response = await readOnly().inject({ method, url, payload: {} });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.json().error).toMatch(/read-only: restart it with `churn ui --allow-changes`/);
    }
    expect((await readChampion(storage))?.pointer.version).toBe(newer);
  });

  it("rolls back and promotes like `churn models rollback|promote` when changes are allowed", async () => {
    const writable = app({ allowChanges: true });
    const back = await writable.inject({ method: "POST", url: "/api/models/rollback", payload: {} });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().version).toBe(older);
    expect((await readChampion(storage))?.pointer).toMatchObject({
      version: older,
      reason: "rolled back in the console",
    });
    const forward = await writable.inject({
      method: "POST",
      url: `/api/models/${newer}/promote`,
      payload: { reason: "checked by hand" },
    });
    expect(forward.statusCode).toBe(200);
    expect((await readChampion(storage))?.pointer).toMatchObject({
      version: newer,
      previous: [older],
      reason: "checked by hand",
    });
    // curl -X POST without a body works too.
    const empty = await writable.inject({
      method: "POST",
      url: `/api/models/${newer}/promote`,
      headers: { "content-type": "application/json" },
    });
    expect(empty.statusCode).toBe(200);
    const unknown = await writable.inject({
      method: "POST",
      url: "/api/models/0000000000000000/promote",
      payload: {},
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/cannot promote 0000000000000000/);
    const extra = await writable.inject({
      method: "POST",
      url: "/api/models/rollback",
      payload: { force: true },
    });
    expect(extra.statusCode).toBe(422);
    const malformed = await writable.inject({
      method: "POST",
      url: "/api/models/rollback",
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    expect(malformed.statusCode).toBe(422);
    const form = await writable.inject({
      method: "POST",
      url: "/api/models/rollback",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "a=b",
    });
    expect(form.statusCode).toBeGreaterThanOrEqual(400);
    expect(form.statusCode).toBeLessThan(500);
    expect((await readChampion(storage))?.pointer.version).toBe(newer);
  });

  it("needs the bearer token for changes when one is set, and refuses cross-site requests", async () => {
    const token = "s3cret-token-of-16+";
    const guarded = app({ allowChanges: true, authToken: token });
    const none = await guarded.inject({ method: "POST", url: "/api/models/rollback", payload: {} });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatch(/Authorization: Bearer/);
    const wrong = await guarded.inject({
      method: "POST",
      url: "/api/models/rollback",
      headers: { authorization: "Bearer not-the-token-at-all" },
      payload: {},
    });
    expect(wrong.statusCode).toBe(403);
    const crossSite = await guarded.inject({
      method: "POST",
      url: "/api/models/rollback",
      headers: { authorization: `Bearer ${token}`, origin: "https://evil.example" },
      payload: {},
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error).toMatch(/another site/);
    expect((await readChampion(storage))?.pointer.version).toBe(newer);
    const right = await guarded.inject({
      method: "POST",
      url: `/api/models/${older}/promote`,
      headers: { authorization: `Bearer ${token}`, origin: "http://localhost:80", host: "localhost:80" },
      payload: {},
    });
    expect(right.statusCode, right.body).toBe(200);
    expect((await readChampion(storage))?.pointer.version).toBe(older);
    expect((await guarded.inject("/api/status")).json()).toMatchObject({
      read_only: false,
      auth_required: true,
    });
  });

  it("refuses requests whose Host is not loopback on a loopback console (DNS rebinding)", async () => {
    const response = await readOnly().inject({ url: "/api/runs", headers: { host: "evil.example:8090" } });
    expect(response.statusCode).toBe(403);
    expect(
      (await readOnly().inject({ url: "/api/runs", headers: { host: "127.0.0.1:8090" } })).statusCode,
    ).toBe(200);
    expect(
      (await app({ host: "0.0.0.0" }).inject({ url: "/api/runs", headers: { host: "console.internal" } }))
        .statusCode,
    ).toBe(200);
  });
});

describe("weeks", () => {
  it("lists weeks with status, failure sentence, counts, files and runs (not lifetime outputs)", async () => {
    const { weeks } = (await readOnly().inject("/api/weeks")).json();
    expect(weeks.map((w: { stem: string }) => w.stem)).toEqual(["2026-W02", "2026-W01"]);
    expect(weeks[0]).toMatchObject({ weekly_file: "weekly/2026-W02.csv.gz", status: "waiting", files: [] });
    expect(weeks[1]).toMatchObject({
      weekly_file: "weekly/2026-W01.csv",
      status: "failed",
      failure: REASON,
      counts: { rows_in: 10, scored: 1, rejected: 9 },
      runs: [RUN, SOURCE_RUN],
    });
    expect(weeks[1].files.map((f: { name: string }) => f.name)).toContain("report.html");
  });

  it("never shows pii: rejected rows and summary are blanked, on the page API and the download", async () => {
    const week = (await readOnly().inject("/api/weeks/2026-W01")).json();
    expect(JSON.stringify(week)).not.toMatch(/example\.com/);
    expect(week.rejected.total).toBe(2);
    expect(week.rejected.rows[0]).toMatchObject({ line: 3, column: "age", raw: "2,,x,No" });
    expect(week.rejected.rows[1]).toMatchObject({ column: "email", reason: "(pii column)", raw: "3,,5,No" });
    expect(week.summary).toEqual({
      counts: { rows_in: 10, scored: 1, rejected: 9 },
      drift: [{ column: "age" }],
    });
    const download = await readOnly().inject("/api/weeks/2026-W01/files/rejected.csv");
    expect(download.statusCode).toBe(200);
    expect(download.body).not.toMatch(/example\.com/);
    expect(download.body.split("\n")[0]).toBe("line,column,reason,raw");
  });

  it("withholds raw rows when the weekly file's header cannot be found", async () => {
    const other = mkdtempSync(join(tmpdir(), "console-api-nohdr-"));
    try {
      const s = await openStorage(other);
      await s.write("churn.yaml", 'id_column: id\nlabel: {column: churn, positive: "Yes"}\npii: [email]\n');
      await s.write("output/w1/rejected.csv", 'line,column,reason,raw\n2,age,bad,"1,a@b.c,x"\n');
      const week = (await createConsoleApp({ storage: s }).inject("/api/weeks/w1")).json();
      expect(week.rejected.rows[0].raw).toMatch(/withheld/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("serves the report sandboxed and files as downloads; refuses bad names", async () => {
    const report = await readOnly().inject("/api/weeks/2026-W01/files/report.html");
    expect(report.statusCode).toBe(200);
    expect(report.body).toMatch(/week report/);
    expect(report.headers["content-security-policy"]).toMatch(/^sandbox/);
    const summary = await readOnly().inject("/api/weeks/2026-W01/files/summary.json");
    expect(summary.headers["content-disposition"]).toMatch(/attachment/);
    expect((await readOnly().inject("/api/weeks/2026-W01/files/..%2F..%2Fchurn.yaml")).statusCode).toBe(422);
    expect((await readOnly().inject("/api/weeks/2026-W01/files/missing.csv")).statusCode).toBe(404);
    expect((await readOnly().inject("/api/weeks/lifetime")).statusCode).toBe(422);
    expect((await readOnly().inject("/api/weeks/2099-W01")).statusCode).toBe(404);
  });
});

/**
 * The page modules compiled from browser/*.ts into `into`, with the compiler's
 * transpile-only mode (the build's type check is `npm run typecheck`'s job;
 * this is fast and always from the current source). Returns their names.
 */
function compileModules(into: string): string[] {
  const source = join(import.meta.dirname, "browser");
  const names = readdirSync(source, { recursive: true, encoding: "utf8" }).filter((n) => n.endsWith(".ts"));
  for (const name of names) {
    const { outputText } = ts.transpileModule(readFileSync(join(source, name), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    const out = join(into, name.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  return names.map((n) => n.split(sep).join("/").replace(/\.ts$/, ".js"));
}

describe("pages and start-up rules", () => {
  let pagesRoot: string;
  let modules: string[];
  const withModules = () => createConsoleApp({ storage, pageModules: join(pagesRoot, "modules") });
  beforeAll(() => {
    pagesRoot = mkdtempSync(join(tmpdir(), "console-modules-"));
    modules = compileModules(join(pagesRoot, "modules"));
    writeFileSync(join(pagesRoot, "secret.js"), "a file beside the modules folder");
  });
  afterAll(() => rmSync(pagesRoot, { recursive: true, force: true }));

  it("serves the pages and every compiled module with a same-origin-only policy", async () => {
    const app = withModules();
    const index = await app.inject("/");
    expect(index.statusCode).toBe(200);
    expect(index.body).toMatch(/<main id="main"/);
    expect(index.body).toMatch(/<script type="module" src="\/static\/app\.js">/);
    expect(index.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
    expect(modules).toEqual(
      expect.arrayContaining(["app.js", "router.js", "pages/runs.js", "charts/dag.js"]),
    );
    for (const name of modules) {
      const js = await app.inject(`/static/${name}`);
      expect(js.statusCode, name).toBe(200);
      expect(js.headers["content-type"], name).toMatch(/^text\/javascript/);
      expect(js.headers["content-security-policy"], name).toMatch(/default-src 'none'; script-src 'self'/);
      // Nothing beyond this origin: no absolute URLs but the SVG namespace, and imports are relative.
      expect(js.body, name).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      for (const [, specifier] of js.body.matchAll(/\bfrom\s+"([^"]+)"/g))
        expect(specifier, name).toMatch(/^\.\.?\//);
    }
    expect((await app.inject("/static/secret.txt")).statusCode).toBe(404);
    const unknown = await app.inject("/api/nothing");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/no such page or API/);
  });

  it.each([
    "/static/../secret.js",
    "/static/..%2Fsecret.js",
    "/static/pages/..%2F..%2Fsecret.js",
    "/static/%2e%2e/secret.js",
    "/static/pages/%2e%2e/%2e%2e/secret.js",
    "/static/.%2E/secret.js",
    "/static//secret.js",
    "/static/%2Fetc%2Fpasswd",
    "/static/pages/runs.ts",
  ])("never serves a file outside the modules folder: %s", async (url) => {
    const response = await withModules().inject(url);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.body).not.toMatch(/beside the modules folder|root:/);
  });

  it("says how to build when the page modules are missing", async () => {
    const empty = mkdtempSync(join(tmpdir(), "console-unbuilt-"));
    try {
      const app = createConsoleApp({ storage, pageModules: empty });
      expect((await app.inject("/")).statusCode).toBe(200);
      const js = await app.inject("/static/app.js");
      expect(js.statusCode).toBe(404);
      expect(js.json().error).toMatch(/page modules are not built .*run `npm run build`/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("refuses to serve changes off loopback without a token", () => {
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(() => checkExposure({ host: "0.0.0.0", allowChanges: true })).toThrow(UsageError);
    expect(() => checkExposure({ host: "0.0.0.0", allowChanges: false })).not.toThrow();
    expect(() => checkExposure({ host: "127.0.0.1", allowChanges: true })).not.toThrow();
    expect(() =>
      checkExposure({ host: "0.0.0.0", allowChanges: true, authToken: "a-long-enough-token" }),
    ).not.toThrow();
    expect(() => checkExposure({ host: "0.0.0.0", allowChanges: true, authToken: "short" })).toThrow(/16/);
  });

  it("churn ui exits 2 with a clear message for --allow-changes off loopback without a token", async () => {
    const result = await runInProcess(["ui", "--bucket", dir, "--host", "0.0.0.0", "--allow-changes"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /refusing to serve changes on 0\.0\.0\.0 without a token: add --auth-token/,
    );
  });
});
