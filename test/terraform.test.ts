import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { functionsEnv } from "../functions/config.js";
import { MODEL_FUNCTION, WEEKLY_FUNCTION } from "../functions/register.js";
import { countExpression, evaluateModule } from "./terraform-eval.js";
import {
  bare,
  cmekGrantProblems,
  functionRoleProblems,
  type Hcl,
  type Module,
  networkPathProblems,
  one,
  parseModule,
} from "./terraform-policy.js";

/**
 * terraform/ under checkov (policy checks, offline) and an HCL parser
 * (python-hcl2, from the same venv): the module passes every check, any
 * skipped check is justified in terraform/README.md, a deliberately insecure
 * fixture fails the rules it breaks, and the resources say what DESIGN asks.
 * TFLint's bundled rules check the Terraform language itself. The Google
 * provider cannot be downloaded here, so there is no `tofu validate` or plan:
 * the weekly launcher's logic is evaluated by `tofu console` instead, with
 * resource attributes standing in as their names (test/terraform-eval.ts).
 */

const root = join(import.meta.dirname, "..");
const venv = join(process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "venv-terraform");
const checkov = join(venv, "bin", "checkov");
const python = join(venv, "bin", "python");
const tflint = join(process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "bin", "tflint");
const tofu = join(process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "bin", "tofu");

/** `tofu fmt -check -recursive` on a path: canonical formatting, and HCL that parses. */
function runTofuFmt(path: string): { status: number | null; output: string } {
  // TF_CLI_CONFIG_FILE may name a file that does not exist on this machine; tofu would warn about it.
  const { TF_CLI_CONFIG_FILE: _ignored, ...env } = process.env;
  const result = spawnSync(tofu, ["fmt", "-check", "-recursive", "-diff", "-no-color", path], {
    encoding: "utf8",
    env,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** TFLint with terraform/.tflint.hcl (bundled Terraform rules, preset "all") on a folder. */
function runTflint(dir: string): { status: number | null; output: string } {
  const result = spawnSync(
    tflint,
    [
      `--chdir=${dir}`,
      `--config=${join(root, "terraform", ".tflint.hcl")}`,
      "--format=compact",
      "--minimum-failure-severity=notice",
    ],
    { encoding: "utf8" },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface CheckovReport {
  summary: {
    passed: number;
    failed: number;
    skipped: number;
    parsing_errors: number;
    resource_count: number;
  };
  results?: {
    passed_checks?: Array<{ check_id: string; resource: string }>;
    failed_checks?: Array<{ check_id: string; resource: string }>;
    skipped_checks?: Array<{ check_id: string; resource: string }>;
  };
}

function runCheckov(dir: string): CheckovReport {
  const result = spawnSync(
    checkov,
    ["-d", dir, "--framework", "terraform", "--skip-download", "-o", "json", "--quiet"],
    { encoding: "utf8", env: { ...process.env, BC_SKIP_MAPPING: "TRUE" }, maxBuffer: 64 << 20 },
  );
  expect(result.stdout, result.stderr).not.toBe("");
  const parsed = JSON.parse(result.stdout) as CheckovReport | CheckovReport[];
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

/** `#checkov:skip=CKV_X:reason` suppressions in a folder's .tf files. */
function skipsIn(dir: string): Array<{ id: string; file: string }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".tf"))
    .flatMap((file) =>
      [...readFileSync(join(dir, file), "utf8").matchAll(/checkov:skip=([A-Z0-9_]+)/g)].map((m) => ({
        id: m[1]!,
        file,
      })),
    );
}

/** Skipped checks the README does not justify (by id, in its "Skipped checks" section). */
function unjustifiedSkips(dir: string, readme: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith("Skipped checks")) ?? "";
  return skipsIn(dir)
    .filter((s) => !section.includes(s.id))
    .map((s) => `${s.id} (${s.file})`);
}

let resources: Module["resources"];

beforeAll(() => {
  expect(existsSync(checkov), "run bash test/services/install-terraform-tools.sh").toBe(true);
  resources = parseModule(python, join(root, "terraform")).resources;
});

describe("terraform/ policy checks (checkov)", () => {
  it("passes every check, and every skipped check is justified in the README", () => {
    const report = runCheckov(join(root, "terraform"));
    expect(report.summary.parsing_errors).toBe(0);
    expect(
      report.results?.failed_checks ?? [],
      JSON.stringify(report.results?.failed_checks, null, 2),
    ).toEqual([]);
    expect(report.summary.passed).toBeGreaterThan(30);
    const readme = readFileSync(join(root, "terraform", "README.md"), "utf8");
    expect(unjustifiedSkips(join(root, "terraform"), readme)).toEqual([]);
    expect(report.summary.skipped).toBe(skipsIn(join(root, "terraform")).length);
  });

  it("fails an insecure fixture on each rule it breaks", () => {
    const report = runCheckov(join(root, "test", "terraform-fixtures", "insecure"));
    const failed = new Set((report.results?.failed_checks ?? []).map((c) => `${c.check_id} ${c.resource}`));
    for (const expected of [
      "CKV_GCP_29 google_storage_bucket.open", // uniform bucket-level access
      "CKV_GCP_114 google_storage_bucket.open", // public access prevention
      "CKV_GCP_78 google_storage_bucket.open", // versioning
      "CKV_GCP_28 google_storage_bucket_iam_member.public_read", // allUsers on the bucket
      "CKV_GCP_117 google_project_iam_member.editor", // basic role
      "CKV_GCP_124 google_cloudfunctions2_function.open", // public ingress
      "CKV_GCP_102 google_cloud_run_service_iam_member.public_invoke", // public invoker
    ]) {
      expect(failed, expected).toContain(expected);
    }
  });

  it("the skip-justification rule catches a suppression the README does not explain", () => {
    const readme = "## Skipped checks\n- CKV_GCP_62: logs go elsewhere\n";
    const dir = join(root, "test", "terraform-fixtures", "skips");
    expect(unjustifiedSkips(dir, readme)).toEqual(["CKV_GCP_78 (main.tf)"]);
  });
});

describe("terraform/ under TFLint (bundled Terraform rules, offline)", () => {
  it("reports nothing on the module and fails the insecure fixture", () => {
    expect(existsSync(tflint), "run bash test/services/install-terraform-tools.sh").toBe(true);
    const clean = runTflint(join(root, "terraform"));
    expect(clean.output.trim(), clean.output).toBe("");
    expect(clean.status).toBe(0);
    const bad = runTflint(join(root, "test", "terraform-fixtures", "insecure"));
    expect(bad.status).not.toBe(0);
    expect(bad.output).toContain("terraform_required_providers");
  });
});

describe("terraform/ says what DESIGN asks (parsed HCL)", () => {
  it("the churn bucket: uniform access, public access prevention, versioning, runs/ lifecycle", () => {
    const bucket = resources.google_storage_bucket!.churn!;
    expect(one(bucket.uniform_bucket_level_access)).toBe(true);
    expect(one(bucket.public_access_prevention)).toBe("enforced");
    expect(one(one<Hcl>(bucket.versioning).enabled)).toBe(true);
    const rules = bucket.lifecycle_rule as Hcl[];
    const prefixes = rules.map((r) => one(one<Hcl>(r.condition).matches_prefix));
    expect(prefixes).toContainEqual(["runs/"]);
  });

  it("two 2nd-gen functions with Eventarc storage triggers on the churn bucket, internal ingress", () => {
    const fn = resources.google_cloudfunctions2_function!.fn!;
    const trigger = one<Hcl>(fn.event_trigger);
    expect(one(trigger.event_type)).toBe("google.cloud.storage.object.v1.finalized");
    expect(one(trigger.retry_policy)).toBe("RETRY_POLICY_RETRY");
    const filter = one<Hcl>(trigger.event_filters);
    expect(one(filter.attribute)).toBe("bucket");
    expect(one(filter.value)).toContain("google_storage_bucket.churn.name");
    expect(one(one<Hcl>(fn.service_config).ingress_settings)).toBe("ALLOW_INTERNAL_ONLY");
    const source = readFileSync(join(root, "terraform", "main.tf"), "utf8");
    expect(source).toContain(`entry_point = "${WEEKLY_FUNCTION}"`);
    expect(source).toContain(`entry_point = "${MODEL_FUNCTION}"`);
  });

  it("least privilege: no public members, no basic roles, bucket roles scoped to the bucket", () => {
    const members: Array<[string, string, string]> = [];
    for (const [type, byName] of Object.entries(resources)) {
      if (!type.endsWith("_iam_member") && !type.endsWith("_iam_binding")) continue;
      for (const [name, body] of Object.entries(byName)) {
        members.push([
          `${type}.${name}`,
          String(one(body.role)),
          JSON.stringify(body.member ?? body.members),
        ]);
      }
    }
    expect(members.length).toBeGreaterThan(8);
    for (const [where, role, member] of members) {
      expect(member, where).not.toMatch(/allUsers|allAuthenticatedUsers/);
      expect(role, where).not.toMatch(/^roles\/(owner|editor|viewer)$/);
      if (role.startsWith("roles/storage.")) expect(where).toMatch(/^google_storage_bucket_iam_member\./);
    }
    const projectRoles = Object.values(resources.google_project_iam_member ?? {}).map((b) =>
      bare(one(b.role)),
    );
    expect(projectRoles.sort()).toEqual([
      "google_project_iam_custom_role.cluster_authenticate.name",
      "roles/aiplatform.user",
      "roles/container.defaultNodeServiceAccount",
      "roles/eventarc.eventReceiver",
      "roles/pubsub.publisher",
    ]);
    // Acting as an account is granted on that account, never project-wide (every account).
    for (const [where, role] of members) {
      if (role === "roles/iam.serviceAccountUser")
        expect(where).toMatch(/^google_service_account_iam_member\./);
    }
    // The functions' one IAM permission in the cluster: being authenticated (RBAC does the rest).
    const custom = resources.google_project_iam_custom_role!.cluster_authenticate!;
    expect(one(custom.permissions)).toEqual(["container.clusters.get"]);
  });

  it("Workload Identity for the runner, Artifact Registry for the image, an optional private GKE cluster", () => {
    const wi = resources.google_service_account_iam_member!.runner_workload_identity!;
    expect(one(wi.role)).toBe("roles/iam.workloadIdentityUser");
    expect(one(wi.member)).toContain(".svc.id.goog[");
    expect(one(resources.google_artifact_registry_repository!.images!.format)).toBe("DOCKER");
    const gke = resources.google_container_cluster!.churn!;
    expect(one(gke.count)).toContain("var.create_gke_cluster");
    expect(one(one<Hcl>(gke.private_cluster_config).enable_private_nodes)).toBe(true);
  });
});

describe("terraform/ under tofu fmt (OpenTofu, built by test/services/install-tofu.sh)", () => {
  it("is canonically formatted HCL, and the check fails on a misformatted or broken file", async () => {
    expect(existsSync(tofu), "run bash test/services/install-tofu.sh").toBe(true);
    const clean = runTofuFmt(join(root, "terraform"));
    expect(clean.output, clean.output).toBe("");
    expect(clean.status).toBe(0);
    const fixtures = runTofuFmt(join(root, "test", "terraform-fixtures"));
    expect(fixtures.status, fixtures.output).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), "churn-tofu-fmt-"));
    try {
      await writeFile(join(dir, "misformatted.tf"), 'variable "a" {\ntype=string\n}\n');
      const misformatted = runTofuFmt(dir);
      expect(misformatted.status).not.toBe(0);
      expect(misformatted.output).toContain("misformatted.tf");
      await rm(join(dir, "misformatted.tf"));
      await writeFile(join(dir, "broken.tf"), 'resource "x" "y" {\n  a = \n');
      const broken = runTofuFmt(dir);
      expect(broken.status).not.toBe(0);
      expect(broken.output).toMatch(/broken\.tf/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("terraform/ under our GCP deployment policies (test/terraform-policy.ts)", () => {
  const fixture = (name: string) => parseModule(python, join(root, "test", "terraform-fixtures", name));
  let module: Module;
  beforeAll(() => {
    module = parseModule(python, join(root, "terraform"));
  });

  it("CMEK: every key user's service agent may use the key, and waits for the grant", () => {
    expect(cmekGrantProblems(module)).toEqual([]);
    expect(cmekGrantProblems(fixture("no-cmek-grants"))).toEqual([
      "google_storage_bucket.b does not depend on google_kms_crypto_key_iam_member.storage: it may be created before its service agent may use the key",
      "google_artifact_registry_repository.r is encrypted with google_kms_crypto_key.key.id but no google_kms_crypto_key_iam_member grants roles/cloudkms.cryptoKeyEncrypterDecrypter on that key to the Artifact Registry service agent",
      "google_container_cluster.c is encrypted with google_kms_crypto_key.key.id but no google_kms_crypto_key_iam_member grants roles/cloudkms.cryptoKeyEncrypterDecrypter on that key to the Kubernetes Engine service agent",
      "google_kms_crypto_key.key has no rotation_period",
    ]);
  });

  it("network path: the functions reach the private control plane through an authorized VPC connector", () => {
    expect(networkPathProblems(module)).toEqual([]);
    expect(networkPathProblems(fixture("no-network-path"))).toEqual([
      "google_cloudfunctions2_function.direct has no vpc_connector of this module: it cannot reach a private GKE endpoint",
      "google_container_cluster.private does not authorize google_vpc_access_connector.c's range (10.8.0.0/28) on its private endpoint",
    ]);
  });

  it("function roles: each function's account authenticates to GKE, gets endpoint and CA, and is named for the chart", () => {
    expect(functionRoleProblems(module)).toEqual([]);
    expect(functionRoleProblems(fixture("no-function-roles"))).toEqual([
      "google_cloudfunctions2_function.weekly does not set CHURN_GKE_ENDPOINT (functions/config.ts)",
      "google_cloudfunctions2_function.weekly does not set CHURN_GKE_CA_CERT (functions/config.ts)",
      "google_cloudfunctions2_function.model does not set CHURN_GKE_ENDPOINT (functions/config.ts)",
      "google_cloudfunctions2_function.model does not set CHURN_GKE_CA_CERT (functions/config.ts)",
      "google_service_account.weekly runs a function but has no project role with container.clusters.get: GKE will not authenticate it",
      "output helm_values.functions does not name google_service_account.weekly: the chart cannot bind its RBAC",
      "google_service_account.model runs a function but has no project role with container.clusters.get: GKE will not authenticate it",
      "google_project_iam_member.model_admin gives a function roles/container.admin: RBAC in the chart is the place",
      "output helm_values.functions does not name google_service_account.model: the chart cannot bind its RBAC",
    ]);
  });
});

describe("terraform/ with weekly_launcher (tofu console on sample variables, no provider)", () => {
  const dir = join(root, "terraform");
  const sample = { project_id: "acme-churn", bucket_name: "acme-churn", access_log_bucket: "acme-logs" };
  const mainTf = () => readFileSync(join(dir, "main.tf"), "utf8");
  /** What exists only with kfp, and what each grant must say. */
  const kfpOnly = [
    "google_project_service_identity.aiplatform",
    "google_project_iam_member.weekly_vertex_user",
    "google_service_account_iam_member.weekly_acts_as_runner",
    "google_storage_bucket_iam_member.runner_pipeline_root",
    "google_artifact_registry_repository_iam_member.vertex_pull",
    "google_storage_bucket.pipeline_root",
  ].sort();

  /** Every counted resource's instance count, the weekly function's env and the APIs, on some variables. */
  function evaluateLauncher(vars: Record<string, string>) {
    const source = mainTf();
    const counted = Object.entries(resources).flatMap(([type, byName]) =>
      Object.keys(byName).flatMap((name): Array<[string, string]> => {
        const count = countExpression(source, type, name);
        return count === undefined ? [] : [[`${type}.${name}`, count]];
      }),
    );
    const expressions: Record<string, string> = {
      env: "local.weekly_launcher_env",
      apis: "local.apis",
      pipeline_root_bucket: "local.vertex_pipeline_root_bucket",
      // The dedicated bucket's name, as its resource writes it.
      dedicated_bucket: JSON.stringify(one(resources.google_storage_bucket!.pipeline_root!.name)),
    };
    counted.forEach(([, expr], i) => {
      expressions[`count_${i}`] = expr;
    });
    const { values, error } = evaluateModule(tofu, dir, { ...sample, ...vars }, expressions);
    expect(error).toBe("");
    const created = counted.filter((_, i) => values[`count_${i}`] !== 0).map(([where]) => where);
    return { ...values, created, counted: counted.map(([where]) => where) } as {
      env: Record<string, string>;
      apis: string[];
      pipeline_root_bucket: string | null;
      dedicated_bucket: string;
      created: string[];
      counted: string[];
    };
  }

  /** The env as the deployed function would see it: stubbed references replaced by sample values. */
  function deployedEnv(env: Record<string, string>, dedicatedBucket: string): Record<string, string> {
    const runner = `${one(resources.google_service_account!.runner!.account_id)}@${sample.project_id}.iam.gserviceaccount.com`;
    return Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        v
          .replace("<google_service_account.runner.email>", runner)
          .replace("<google_storage_bucket.pipeline_root[0].name>", dedicatedBucket),
      ]),
    );
  }

  const gkeSample = {
    CHURN_GKE_ENDPOINT: "https://172.16.0.34",
    CHURN_GKE_CA_CERT: Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString(
      "base64",
    ),
  };

  it("default kubernetes: CHURN_LAUNCHER=kubernetes only, and nothing of Vertex exists", () => {
    const kube = evaluateLauncher({});
    expect(kube.env).toEqual({ CHURN_LAUNCHER: "kubernetes" });
    expect(functionsEnv.safeParse({ ...kube.env, ...gkeSample }).success).toBe(true);
    expect(kube.apis).not.toContain("aiplatform.googleapis.com");
    expect(kube.pipeline_root_bucket).toBeNull();
    for (const where of kfpOnly) expect(kube.counted, where).toContain(where);
    expect(kube.created.filter((w) => kfpOnly.includes(w))).toEqual([]);
  });

  it("kfp: the Vertex settings functions/config.ts requires, the API, the dedicated pipeline root and the grants", () => {
    const kube = evaluateLauncher({});
    const kfp = evaluateLauncher({ weekly_launcher: "kfp" });
    expect(kfp.env).toEqual({
      CHURN_LAUNCHER: "kfp",
      CHURN_VERTEX_PARENT: `projects/${sample.project_id}/locations/europe-west1`,
      CHURN_VERTEX_PIPELINE_ROOT: "gs://<google_storage_bucket.pipeline_root[0].name>",
      CHURN_VERTEX_SERVICE_ACCOUNT: "<google_service_account.runner.email>",
    });
    const env = deployedEnv(kfp.env, kfp.dedicated_bucket);
    const parsed = functionsEnv.safeParse({ ...env, ...gkeSample });
    expect(parsed.error?.message).toBeUndefined();
    // Without the settings Terraform adds, the function would refuse kfp: they are the ones it needs.
    expect(functionsEnv.safeParse({ CHURN_LAUNCHER: "kfp", ...gkeSample }).success).toBe(false);
    expect(kfp.apis).toContain("aiplatform.googleapis.com");
    expect(kfp.dedicated_bucket).not.toBe(sample.bucket_name);
    expect(kfp.pipeline_root_bucket).toBe("<google_storage_bucket.pipeline_root[0].name>");
    // Exactly the kfp resources appear, nothing else changes.
    const appeared = kfp.created.filter((w) => !kube.created.includes(w)).sort();
    expect(appeared).toEqual(kfpOnly);
    expect(kube.created.filter((w) => !kfp.created.includes(w))).toEqual([]);

    const iam = resources;
    const ref = (expr: string) => `\${${expr}}`;
    const vertexUser = iam.google_project_iam_member!.weekly_vertex_user!;
    expect([one(vertexUser.role), one(vertexUser.member)]).toEqual([
      "roles/aiplatform.user",
      `serviceAccount:${ref("google_service_account.weekly.email")}`,
    ]);
    const actAs = iam.google_service_account_iam_member!.weekly_acts_as_runner!;
    expect([one(actAs.service_account_id), one(actAs.role), one(actAs.member)]).toEqual([
      ref("google_service_account.runner.name"),
      "roles/iam.serviceAccountUser",
      `serviceAccount:${ref("google_service_account.weekly.email")}`,
    ]);
    const write = iam.google_storage_bucket_iam_member!.runner_pipeline_root!;
    expect([one(write.bucket), one(write.role), one(write.member)]).toEqual([
      ref("local.vertex_pipeline_root_bucket"),
      "roles/storage.objectUser",
      `serviceAccount:${ref("google_service_account.runner.email")}`,
    ]);
    const pull = iam.google_artifact_registry_repository_iam_member!.vertex_pull!;
    expect([one(pull.repository), one(pull.role), one(pull.member)]).toEqual([
      ref("google_artifact_registry_repository.images.name"),
      "roles/artifactregistry.reader",
      `serviceAccount:${ref("google_project_service_identity.aiplatform[0].email")}`,
    ]);
    expect(one(iam.google_project_service_identity!.aiplatform!.service)).toBe("aiplatform.googleapis.com");
  });

  it("kfp: the dedicated pipeline root is hardened like the churn bucket, and is not the churn bucket", () => {
    const churn = resources.google_storage_bucket!.churn!;
    const root = resources.google_storage_bucket!.pipeline_root!;
    for (const field of [
      "uniform_bucket_level_access",
      "public_access_prevention",
      "versioning",
      "encryption",
      "logging",
      "depends_on",
      "location",
    ]) {
      expect(root[field], field).toEqual(churn[field]);
    }
    expect((root.lifecycle_rule as Hcl[]).length).toBeGreaterThanOrEqual(2);
    // The functions' Eventarc triggers filter on the churn bucket only.
    const filter = one<Hcl>(
      one<Hcl>(resources.google_cloudfunctions2_function!.fn!.event_trigger).event_filters,
    );
    expect(one(filter.value)).not.toContain("pipeline_root");
  });

  it("kfp with vertex_pipeline_root: that folder, write access on its bucket, no dedicated bucket", () => {
    const kfp = evaluateLauncher({
      weekly_launcher: "kfp",
      vertex_pipeline_root: "gs://shared-vertex/churn",
    });
    expect(kfp.env.CHURN_VERTEX_PIPELINE_ROOT).toBe("gs://shared-vertex/churn");
    expect(kfp.pipeline_root_bucket).toBe("shared-vertex");
    expect(kfp.created).not.toContain("google_storage_bucket.pipeline_root");
    expect(kfp.created).toContain("google_storage_bucket_iam_member.runner_pipeline_root");
  });

  it("the variables' validations accept exactly what functions/config.ts accepts", () => {
    const accepts = (vars: Record<string, string>) => {
      const { error } = evaluateModule(
        tofu,
        dir,
        { ...sample, ...vars },
        { launcher: "var.weekly_launcher" },
      );
      return error === "" ? true : error;
    };
    for (const launcher of ["kubernetes", "kfp"]) {
      expect(accepts({ weekly_launcher: launcher }), launcher).toBe(true);
      // ...and the function knows it (its other settings aside).
      const issues = functionsEnv.safeParse({ CHURN_LAUNCHER: launcher }).error?.issues ?? [];
      expect(issues.filter((i) => i.path[0] === "CHURN_LAUNCHER")).toEqual([]);
    }
    // argo and local are launchers of the function, but not ones this module deploys.
    for (const launcher of ["argo", "local", "KFP"]) {
      expect(accepts({ weekly_launcher: launcher }), launcher).toMatch(/weekly_launcher takes/);
    }
    const shape = (root: string) =>
      functionsEnv.safeParse({
        CHURN_LAUNCHER: "kfp",
        CHURN_VERTEX_PARENT: "projects/acme-churn/locations/europe-west1",
        CHURN_VERTEX_PIPELINE_ROOT: root,
      }).success;
    for (const root of ["gs://b", "gs://b/", "gs://b/x/y", "s3://b", "gs:///x", "gs://b/x y", "b/x"]) {
      const tofuSays = accepts({ weekly_launcher: "kfp", vertex_pipeline_root: root });
      expect(tofuSays === true, `${root}: ${tofuSays}`).toBe(shape(root));
      if (tofuSays !== true) expect(tofuSays).toMatch(/gs:\/\/bucket\[\/folder\]/);
    }
  });
});
