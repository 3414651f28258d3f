import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../components/common/config/index.js";
import { triggerProblem, weekOutputObject } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { LABELS } from "../pipelines/runner/kubernetes.js";
import { type Hcl, type Module, one, parseModule } from "./terraform-policy.js";

/**
 * The README's "Deploy on Google Cloud" guide, command by command, against the
 * code it drives: nothing here talks to Google Cloud, but every name and value
 * a command carries is checked against its source of truth (variables.tf,
 * outputs.tf, main.tf, the chart, the CLI's own --help, the bucket layout),
 * the Helm values come from evaluating Terraform's `helm_values` output on
 * sample inputs and are rendered by the real helm against the chart's schema,
 * and the churn.yaml edit runs on what `churn init` writes.
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const cache = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test");
const python = join(cache, "venv-terraform", "bin", "python");
const helm = join(cache, "bin", "helm");
const cli = join(root, "dist", "cli", "bin.js");

/** The ```sh blocks of the README section "Deploy on Google Cloud". */
function guideBlocks(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Deploy on Google Cloud"));
  if (!section) throw new Error('README.md has no "## Deploy on Google Cloud" section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Logical lines of all blocks (backslash continuations joined). */
function guideLines(blocks: string[]): string[] {
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, " ").split("\n")).filter((l) => l.trim() !== "");
}

/**
 * Shell words of one line, quotes removed as the shell removes them (enough
 * for the guide: no escapes inside single quotes, "$(...)" kept as text).
 */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= "";
    } else if (/\s/.test(ch)) {
      if (word !== null) out.push(word);
      word = null;
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

let blocks: string[];
let lines: string[];
let module: Module;
let settings: Record<string, string>;
let dir: string;

/** The guide's `export A=1 B=2` settings, and `$A`/`${A}` in a string replaced by them. */
function expand(value: string): string {
  return value.replace(/\$\{?([A-Z_]+)\}?/g, (all, name: string) => settings[name] ?? all);
}

const variableDefaults = () =>
  Object.fromEntries(
    Object.entries(module.variables).map(([name, body]) => [name, one(body.default)] as const),
  ) as Record<string, unknown>;

/**
 * Evaluates an HCL expression string the way Terraform would for this module,
 * on sample inputs: `var.*` from the guide's -var flags (else defaults),
 * service-account emails from their account_id, and literal attributes of the
 * module's own resources. Anything else is refused, so a helm_values entry
 * that these rules cannot evaluate fails the test instead of slipping by.
 */
function evaluate(expression: string, vars: Record<string, unknown>, project: string): string {
  return expression.replace(/\$\{([^}]+)\}/g, (_all, ref: string) => {
    const variable = /^var\.([a-z0-9_]+)$/.exec(ref);
    if (variable) {
      const value = vars[variable[1]!];
      if (value === undefined || value === null) throw new Error(`no value for ${ref}`);
      return String(value);
    }
    const account = /^google_service_account\.([a-z0-9_]+)\.email$/.exec(ref);
    if (account) {
      const id = one(module.resources.google_service_account?.[account[1]!]?.account_id);
      if (typeof id !== "string") throw new Error(`no google_service_account.${account[1]}`);
      return `${id}@${project}.iam.gserviceaccount.com`;
    }
    const attribute = /^(google_[a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+)$/.exec(ref);
    if (attribute) {
      const [, type, name, field] = attribute;
      const literal = one(module.resources[type!]?.[name!]?.[field === "name" ? "name" : field!]);
      if (typeof literal !== "string") throw new Error(`cannot evaluate ${ref}`);
      return evaluate(literal, vars, project);
    }
    throw new Error(`cannot evaluate \${${ref}}`);
  });
}

function evaluateObject(value: unknown, vars: Record<string, unknown>, project: string): unknown {
  if (typeof value === "string") return evaluate(value, vars, project);
  if (Array.isArray(value)) return value.map((v) => evaluateObject(v, vars, project));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluateObject(v, vars, project)]));
  return value;
}

/** The -var name=value pairs of one terraform/tofu apply line, expanded. */
function applyVars(line: string): Record<string, string> {
  const w = words(line);
  const vars: Record<string, string> = {};
  w.forEach((word, i) => {
    if (word === "-var") {
      const [name, ...rest] = w[i + 1]!.split("=");
      vars[name!] = expand(rest.join("="));
    }
  });
  return vars;
}

beforeAll(async () => {
  expect(existsSync(python), "run bash test/services/install-terraform-tools.sh").toBe(true);
  expect(existsSync(cli), "dist/ missing: run npm run build").toBe(true);
  blocks = guideBlocks();
  lines = guideLines(blocks);
  module = parseModule(python, join(root, "terraform"));
  const exported = lines.find((l) => l.startsWith("export "))!;
  settings = Object.fromEntries(
    words(exported)
      .slice(1)
      .map((w) => w.split("=") as [string, string]),
  );
  dir = await mkdtemp(join(tmpdir(), "churn-deploy-guide-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('README "Deploy on Google Cloud"', () => {
  it("has its six steps, each block valid shell", () => {
    expect(blocks).toHaveLength(6);
    for (const block of blocks) {
      const check = spawnSync("bash", ["-n"], { input: block, encoding: "utf8" });
      expect(check.status, `${check.stderr}\n${block}`).toBe(0);
    }
  });

  it("applies with variables that exist, every required one given, and targets a real resource", () => {
    const applies = lines.filter((l) => /^(terraform|tofu) apply/.test(l));
    expect(applies).toHaveLength(2);
    const required = Object.entries(module.variables)
      .filter(([, body]) => !("default" in body))
      .map(([name]) => name);
    for (const line of applies) {
      const vars = applyVars(line);
      for (const name of Object.keys(vars)) expect(module.variables, `-var ${name}`).toHaveProperty(name);
      for (const name of required) expect(vars, `${line}: required -var ${name}`).toHaveProperty(name);
      for (const target of line.match(/-target=(\S+)/g) ?? []) {
        const [type, name] = target.slice("-target=".length).split(".");
        expect(module.resources[type!], target).toHaveProperty(name!);
      }
    }
  });

  it("reads only outputs the module has, and uploads the functions' package where the functions read it", () => {
    const outputs = [...lines.join("\n").matchAll(/output (?:-raw |-json )?([a-z_]+)/g)].map((m) => m[1]!);
    expect(outputs.sort()).toEqual(["function_source_bucket", "helm_values", "image"]);
    for (const name of outputs) expect(module.outputs, name).toHaveProperty(name);
    const upload = lines.find((l) => l.includes("churn-functions.zip") && l.includes("gcloud storage cp"))!;
    const object = /\)\/(\S+?)"?$/.exec(upload)?.[1];
    expect(object).toBe(variableDefaults().function_source_object);
  });

  it("names the cluster, the function and the labels the code uses", () => {
    const credentials = words(lines.find((l) => l.includes("get-credentials"))!);
    expect(credentials[credentials.indexOf("get-credentials") + 1]).toBe(variableDefaults().gke_cluster_name);
    const logs = words(lines.find((l) => l.includes("functions logs read"))!);
    const functions = one<Record<string, { name: string }>>(module.locals.functions);
    expect(logs[logs.indexOf("read") + 1]).toBe(functions.weekly.name);
    expect(lines.find((l) => l.startsWith("kubectl"))).toContain(`-l ${LABELS.pipeline}=weekly`);
  });

  it("installs the chart with values Terraform outputs: they render and pass values.schema.json", async () => {
    const vars = { ...variableDefaults(), ...applyVars(lines.find((l) => /^terraform apply -var/.test(l))!) };
    const project = String(vars.project_id);
    const values = evaluateObject(one<Hcl>(module.outputs.helm_values!.value), vars, project) as {
      functions: { weekly: { user: string }; model: { user: string } };
    };
    const valuesFile = join(dir, "values-gcp.json");
    await writeFile(valuesFile, JSON.stringify(values));
    const install = words(expand(lines.find((l) => l.startsWith("helm install"))!));
    expect(install.slice(0, 4)).toEqual(["helm", "install", vars.helm_release, "charts/churn"]);
    expect(install[install.indexOf("--namespace") + 1]).toBe(vars.kubernetes_namespace);
    // The same flags through `helm template` (install needs a cluster; rendering and schema do not).
    const args = install
      .slice(2)
      .filter((w) => w !== "--create-namespace")
      .map((w) =>
        w === "values-gcp.json" ? valuesFile : w === "charts/churn" ? join(root, "charts", "churn") : w,
      );
    const { stdout } = await run(helm, ["template", ...args]);
    // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below
    const docs = parseAllDocuments(stdout).map((d) => d.toJS()) as Array<Record<string, any>>;
    const binding = (name: string) =>
      docs.find((d) => d.kind === "RoleBinding" && d.metadata.name === name)?.subjects?.[0]?.name;
    expect(binding("churn-fn-weekly")).toBe(`churn-fn-weekly@${project}.iam.gserviceaccount.com`);
    expect(binding("churn-fn-model")).toBe(`churn-fn-model@${project}.iam.gserviceaccount.com`);
    const runner = docs.find(
      (d) => d.kind === "ServiceAccount" && d.metadata.name === vars.kubernetes_service_account,
    );
    expect(runner?.metadata.annotations["iam.gke.io/gcp-service-account"]).toBe(
      `churn-runner@${project}.iam.gserviceaccount.com`,
    );
    const server = docs.find((d) => d.kind === "Deployment")!;
    expect(`${vars.kubernetes_namespace}/${server.metadata.name}`).toBe(
      `${vars.kubernetes_namespace}/${vars.helm_release}-server`,
    );
    expect(server.spec.template.spec.containers[0].image).toBe(
      `${vars.region}-docker.pkg.dev/${project}/churn/churn:${settings.TAG}`,
    );
    // The schema really checks what Terraform feeds it: a malformed identity is refused.
    await writeFile(
      valuesFile,
      JSON.stringify({ ...values, functions: { weekly: { user: "not an email" } } }),
    );
    await expect(run(helm, ["template", ...args])).rejects.toThrow(/functions\/weekly\/user/);
  });

  it("prepares the bucket with the CLI's own flags, points churn.yaml at the image, and uploads a trigger", async () => {
    for (const line of lines.filter((l) => l.startsWith("node dist/cli/bin.js"))) {
      const w = words(line).slice(2);
      const command = w.filter((x, i) => !x.startsWith("-") && (i === 0 || !w[i - 1]!.startsWith("-")));
      const help = spawnSync(process.execPath, [cli, ...command.slice(0, 2), "--help"], { encoding: "utf8" });
      expect(help.status, `${line}\n${help.stderr}`).toBe(0);
      for (const flag of w.filter((x) => x.startsWith("--"))) expect(help.stdout, line).toContain(flag);
    }
    // Step 5 as written, in a scratch folder, with the image the guide pushes.
    const image = `${settings.REGION}-docker.pkg.dev/${settings.PROJECT}/churn/churn`;
    const init = lines.find((l) => l.includes("bin.js init"))!;
    const sed = lines.find((l) => l.startsWith("sed "))!;
    const script = `set -e\n${init.replace("node dist/cli/bin.js", `node ${cli}`)}\n${sed}\n`;
    const done = spawnSync("bash", ["-c", script], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, ...settings, IMAGE: image },
    });
    expect(done.status, done.stderr).toBe(0);
    const config = await loadConfig(await openStorage(join(dir, "example")));
    expect(config.kubernetes).toEqual({
      namespace: variableDefaults().kubernetes_namespace,
      image: `${image}:${settings.TAG}`,
      service_account: variableDefaults().kubernetes_service_account,
    });
    for (const line of lines.filter((l) => l.startsWith("gcloud storage cp example/"))) {
      const [, , , source, target] = words(line);
      expect(existsSync(join(dir, source!)), source).toBe(true);
      const object = expand(target!).replace(`gs://${settings.BUCKET}/`, "");
      expect(object).toBe(source!.replace("example/", ""));
    }
    const weekly = words(lines.find((l) => l.includes("/weekly/"))!)[4]!;
    const object = expand(weekly).replace(`gs://${settings.BUCKET}/`, "");
    expect(triggerProblem({ name: object, metadata: {} })).toBeNull();
    const summary = lines.find((l) => l.includes("summary.json"))!;
    expect(summary).toContain(`/${weekOutputObject("2026-W48", "summary.json")}`);
  });
});
