import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_FUNCTION, WEEKLY_FUNCTION } from "../functions/register.js";

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

// python-hcl2 wraps attribute values in one-element lists; unwrap for readable assertions.
type Hcl = Record<string, unknown>;
function one<T = unknown>(value: unknown): T {
  return (Array.isArray(value) && value.length === 1 ? value[0] : value) as T;
}

let resources: Record<string, Record<string, Hcl>>;

beforeAll(() => {
  expect(existsSync(checkov), "run bash test/services/install-terraform-tools.sh").toBe(true);
  const files = readdirSync(join(root, "terraform")).filter((f) => f.endsWith(".tf"));
  const parsed = spawnSync(
    python,
    [
      "-c",
      "import hcl2, json, sys\nprint(json.dumps({f: hcl2.load(open(f)) for f in sys.argv[1:]}))",
      ...files.map((f) => join(root, "terraform", f)),
    ],
    { encoding: "utf8" },
  );
  expect(parsed.status, parsed.stderr).toBe(0);
  resources = {};
  for (const doc of Object.values(JSON.parse(parsed.stdout) as Record<string, { resource?: Hcl[] }>)) {
    for (const block of doc.resource ?? []) {
      for (const [type, byName] of Object.entries(block)) {
        resources[type] ??= {};
        Object.assign(resources[type]!, byName as Record<string, Hcl>);
      }
    }
  }
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
    const projectRoles = Object.values(resources.google_project_iam_member ?? {}).map((b) => one(b.role));
    expect(projectRoles.sort()).toEqual([
      "roles/container.clusterViewer",
      "roles/eventarc.eventReceiver",
      "roles/pubsub.publisher",
    ]);
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
