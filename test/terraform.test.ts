import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_FUNCTION, WEEKLY_FUNCTION } from "../functions/register.js";
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
 * TFLint's bundled rules check the Terraform language itself. No terraform
 * binary is available here, so there is no `terraform validate` (provider
 * downloads are impossible anyway).
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
      "roles/container.defaultNodeServiceAccount",
      "roles/eventarc.eventReceiver",
      "roles/pubsub.publisher",
    ]);
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
