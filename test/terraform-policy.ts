import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Our own policy checks for the GCP deployment, over Terraform parsed by a
 * real HCL parser (python-hcl2, from the checkov venv). checkov's bundled
 * checks cannot say these: that every key user can actually use its key,
 * that the functions can reach a private control plane, and that they can
 * authenticate to it. Each check returns the problems it finds, one sentence
 * each; test/terraform.test.ts runs them on terraform/ (no problems) and on a
 * fixture per rule under test/terraform-fixtures/ that breaks it.
 */

/** A block body as python-hcl2 gives it: attribute values wrapped in one-element lists. */
export type Hcl = Record<string, unknown>;

/** A parsed folder of .tf files: resources and data sources by type and name, locals, outputs, variables. */
export interface Module {
  resources: Record<string, Record<string, Hcl>>;
  data: Record<string, Record<string, Hcl>>;
  locals: Hcl;
  outputs: Record<string, Hcl>;
  variables: Record<string, Hcl>;
}

/** python-hcl2 wraps attribute values in one-element lists; unwrap. */
export function one<T = unknown>(value: unknown): T {
  return (Array.isArray(value) && value.length === 1 ? value[0] : value) as T;
}

/** Parses every .tf file of a folder with python-hcl2 (run by `python`). */
export function parseModule(python: string, dir: string): Module {
  const files = readdirSync(dir).filter((f) => f.endsWith(".tf"));
  const parsed = spawnSync(
    python,
    [
      "-c",
      "import hcl2, json, sys\nprint(json.dumps({f: hcl2.load(open(f)) for f in sys.argv[1:]}))",
      ...files.map((f) => join(dir, f)),
    ],
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  if (parsed.status !== 0) throw new Error(`python-hcl2 could not parse ${dir}: ${parsed.stderr}`);
  const module: Module = { resources: {}, data: {}, locals: {}, outputs: {}, variables: {} };
  type Doc = { resource?: Hcl[]; data?: Hcl[]; locals?: Hcl[]; output?: Hcl[]; variable?: Hcl[] };
  for (const doc of Object.values(JSON.parse(parsed.stdout) as Record<string, Doc>)) {
    for (const [kind, target] of [
      ["resource", module.resources],
      ["data", module.data],
    ] as const) {
      for (const block of doc[kind] ?? []) {
        for (const [type, byName] of Object.entries(block)) {
          target[type] ??= {};
          Object.assign(target[type]!, byName as Record<string, Hcl>);
        }
      }
    }
    for (const block of doc.locals ?? []) Object.assign(module.locals, block);
    for (const block of doc.output ?? []) Object.assign(module.outputs, block);
    for (const block of doc.variable ?? []) Object.assign(module.variables, block);
  }
  return module;
}

const text = (value: unknown) => JSON.stringify(value ?? null);

/** An HCL expression as written: python-hcl2's "${expr}" wrapping removed. */
export function bare(value: unknown): string {
  return String(value).replace(/^\$\{(.*)\}$/s, "$1");
}

/** A value with every `local.<name>` it mentions expanded (one level deep is all this module uses). */
function withLocals(module: Module, value: unknown): string {
  const raw = text(value);
  const names = [...raw.matchAll(/local\.([a-z0-9_]+)/g)].map((m) => m[1]!);
  return [raw, ...names.map((n) => text(module.locals[n]))].join(" ");
}

/** The member strings an IAM member resource grants: its member, or its for_each values when member is each.value. */
function membersOf(body: Hcl): string {
  return [text(body.member), text(body.members), text(body.for_each)].join(" ");
}

const ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter";

/** Which service agent encrypts for a resource type, recognised by how its email is obtained. */
const KEY_USERS: Array<{ type: string; keyOf: (body: Hcl) => unknown; agent: string; marker: RegExp }> = [
  {
    type: "google_storage_bucket",
    keyOf: (b) => one<Hcl>(b.encryption)?.default_kms_key_name,
    agent: "Cloud Storage",
    marker: /google_storage_project_service_account\.[a-z0-9_]+\.email_address|@gs-project-accounts\./,
  },
  {
    type: "google_artifact_registry_repository",
    keyOf: (b) => b.kms_key_name,
    agent: "Artifact Registry",
    marker: /google_project_service_identity\.[a-z0-9_]+\.(email|member)|@gcp-sa-artifactregistry\./,
  },
  {
    type: "google_container_cluster",
    keyOf: (b) => one<Hcl>(b.database_encryption)?.key_name,
    agent: "Kubernetes Engine",
    marker: /@container-engine-robot\./,
  },
];

/**
 * CMEK: every bucket, registry and cluster encrypted with a key has that key's
 * encrypter/decrypter role granted to its service agent, and waits for the
 * grant (depends_on), or its first write fails; a key the module creates rotates.
 */
export function cmekGrantProblems(module: Module): string[] {
  const problems: string[] = [];
  const grants = Object.entries(module.resources.google_kms_crypto_key_iam_member ?? {}).filter(
    ([, body]) => one(body.role) === ENCRYPTER,
  );
  for (const user of KEY_USERS) {
    for (const [name, body] of Object.entries(module.resources[user.type] ?? {})) {
      const key = one(user.keyOf(body));
      if (key === undefined || key === null) continue;
      const where = `${user.type}.${name}`;
      const grant = grants.find(
        ([, g]) => text(one(g.crypto_key_id)) === text(key) && user.marker.test(membersOf(g)),
      );
      if (!grant) {
        problems.push(
          `${where} is encrypted with ${bare(key)} but no google_kms_crypto_key_iam_member grants ${ENCRYPTER} on that key to the ${user.agent} service agent`,
        );
        continue;
      }
      if (!text(body.depends_on).includes(`google_kms_crypto_key_iam_member.${grant[0]}`)) {
        problems.push(
          `${where} does not depend on google_kms_crypto_key_iam_member.${grant[0]}: it may be created before its service agent may use the key`,
        );
      }
    }
  }
  for (const [name, body] of Object.entries(module.resources.google_kms_crypto_key ?? {})) {
    if (!one(body.rotation_period)) problems.push(`google_kms_crypto_key.${name} has no rotation_period`);
  }
  return problems;
}

/**
 * Network path: every function sends private-range traffic through a
 * Serverless VPC Access connector of this module, and every private-endpoint
 * cluster authorizes that connector's range on its control plane.
 */
export function networkPathProblems(module: Module): string[] {
  const problems: string[] = [];
  const connectors = module.resources.google_vpc_access_connector ?? {};
  const usedConnectors = new Set<string>();
  for (const [name, body] of Object.entries(module.resources.google_cloudfunctions2_function ?? {})) {
    const service = one<Hcl>(body.service_config) ?? {};
    const ref = /google_vpc_access_connector\.([a-z0-9_]+)\./.exec(text(service.vpc_connector))?.[1];
    if (!ref || !connectors[ref]) {
      problems.push(
        `google_cloudfunctions2_function.${name} has no vpc_connector of this module: it cannot reach a private GKE endpoint`,
      );
      continue;
    }
    usedConnectors.add(ref);
    const egress = one(service.vpc_connector_egress_settings);
    if (egress !== "PRIVATE_RANGES_ONLY" && egress !== "ALL_TRAFFIC") {
      problems.push(
        `google_cloudfunctions2_function.${name} sets vpc_connector_egress_settings ${text(egress)}: want PRIVATE_RANGES_ONLY (or ALL_TRAFFIC)`,
      );
    }
  }
  for (const [name, body] of Object.entries(module.resources.google_container_cluster ?? {})) {
    if (one(one<Hcl>(body.private_cluster_config)?.enable_private_endpoint) !== true) continue;
    const authorized = text(one<Hcl>(body.master_authorized_networks_config)?.cidr_blocks);
    for (const connector of usedConnectors) {
      const range = text(one(connectors[connector]!.ip_cidr_range)).slice(1, -1);
      if (!authorized.includes(range)) {
        problems.push(
          `google_container_cluster.${name} does not authorize google_vpc_access_connector.${connector}'s range (${range}) on its private endpoint`,
        );
      }
    }
  }
  return problems;
}

const AUTHENTICATING_ROLES = new Set([
  "roles/container.clusterViewer",
  "roles/container.viewer",
  "roles/container.developer",
]);
const TOO_BROAD = new Set(["roles/container.admin", "roles/container.clusterAdmin"]);

/**
 * Function roles: each function's service account may authenticate to GKE
 * (a project role carrying container.clusters.get, no container admin role),
 * each function gets the cluster's endpoint and CA, and the module outputs the
 * identities the chart's functions RBAC binds.
 */
export function functionRoleProblems(module: Module): string[] {
  const problems: string[] = [];
  const customRoles = module.resources.google_project_iam_custom_role ?? {};
  const projectMembers = Object.entries(module.resources.google_project_iam_member ?? {});
  const accounts = new Set<string>();
  for (const [name, body] of Object.entries(module.resources.google_cloudfunctions2_function ?? {})) {
    const service = one<Hcl>(body.service_config) ?? {};
    for (const m of text(service.service_account_email).matchAll(
      /google_service_account\.([a-z0-9_]+)\.email/g,
    ))
      accounts.add(m[1]!);
    const env = withLocals(module, service.environment_variables);
    for (const variable of ["CHURN_GKE_ENDPOINT", "CHURN_GKE_CA_CERT"]) {
      if (!env.includes(variable))
        problems.push(
          `google_cloudfunctions2_function.${name} does not set ${variable} (functions/config.ts)`,
        );
    }
  }
  for (const account of accounts) {
    const mine = projectMembers.filter(([, b]) =>
      membersOf(b).includes(`google_service_account.${account}.email`),
    );
    const authenticates = mine.some(([, b]) => {
      const role = String(one(b.role));
      if (AUTHENTICATING_ROLES.has(role)) return true;
      const custom = /google_project_iam_custom_role\.([a-z0-9_]+)\./.exec(role)?.[1];
      return (
        custom !== undefined && text(customRoles[custom]?.permissions).includes('"container.clusters.get"')
      );
    });
    if (!authenticates) {
      problems.push(
        `google_service_account.${account} runs a function but has no project role with container.clusters.get: GKE will not authenticate it`,
      );
    }
    for (const [name, b] of mine) {
      if (TOO_BROAD.has(String(one(b.role))))
        problems.push(
          `google_project_iam_member.${name} gives a function ${one(b.role)}: RBAC in the chart is the place`,
        );
    }
    const users = text(one<Hcl>(module.outputs.helm_values?.value)?.functions);
    if (!users.includes(`google_service_account.${account}.email`)) {
      problems.push(
        `output helm_values.functions does not name google_service_account.${account}: the chart cannot bind its RBAC`,
      );
    }
  }
  return problems;
}
