data "google_storage_project_service_account" "gcs" {}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  functions = {
    weekly = {
      name        = "churn-on-weekly-upload"
      entry_point = "onWeeklyUpload"
      description = "Starts a weekly run when a CSV lands in weekly/ (ignores objects the system wrote)."
    }
    model = {
      name        = "churn-on-model-published"
      entry_point = "onModelPublished"
      description = "Validates new bundles, mirrors them into MLflow and rolls the model server when models/champion changes."
    }
  }
  labels = { app = "churn" }

  # weekly_launcher = "kfp": the weekly function submits runs to Vertex AI Pipelines, and
  # everything only that needs (the API, the pipeline root, the grants) exists only then.
  kfp = var.weekly_launcher == "kfp"

  # The APIs everything below needs, so an empty project applies in one go.
  apis = toset(concat([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudkms.googleapis.com",
    "container.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "vpcaccess.googleapis.com",
  ], local.kfp ? ["aiplatform.googleapis.com"] : []))

  # The key the buckets, the registry and the cluster's secrets are encrypted with.
  kms_key = var.kms_key_name != null ? var.kms_key_name : google_kms_crypto_key.churn[0].id

  # The Helm release's server (charts/churn: <release>-server) and its Deployment.
  server_name             = "${var.helm_release}-server"
  model_server_deployment = coalesce(var.model_server_deployment, "${var.kubernetes_namespace}/${local.server_name}")

  # The control plane the functions reach through the VPC connector: the module's private
  # cluster, or an existing one named gke_cluster_name.
  gke_endpoint = var.create_gke_cluster ? google_container_cluster.churn[0].private_cluster_config[0].private_endpoint : data.google_container_cluster.existing[0].endpoint
  gke_ca_cert  = var.create_gke_cluster ? google_container_cluster.churn[0].master_auth[0].cluster_ca_certificate : data.google_container_cluster.existing[0].master_auth[0].cluster_ca_certificate

  # What functions/config.ts reads to build its GKE client (both functions).
  function_gke_env = {
    CHURN_GKE_ENDPOINT = local.gke_endpoint
    CHURN_GKE_CA_CERT  = local.gke_ca_cert
  }

  # Vertex's own files of each job: the folder given, else the module's dedicated bucket
  # (not the churn bucket, whose every write Eventarc delivers to both functions).
  vertex_pipeline_root = !local.kfp ? null : (
    var.vertex_pipeline_root != null ? var.vertex_pipeline_root : "gs://${google_storage_bucket.pipeline_root[0].name}"
  )
  vertex_pipeline_root_bucket = local.kfp ? regex("^gs://([^/]+)", local.vertex_pipeline_root)[0] : null

  # What functions/config.ts reads to pick and configure the weekly function's launcher.
  # The steps run as the runner's account: it already has the churn bucket.
  weekly_launcher_env = merge(
    { CHURN_LAUNCHER = var.weekly_launcher },
    local.kfp ? {
      CHURN_VERTEX_PARENT          = "projects/${var.project_id}/locations/${var.region}"
      CHURN_VERTEX_PIPELINE_ROOT   = local.vertex_pipeline_root
      CHURN_VERTEX_SERVICE_ACCOUNT = google_service_account.runner.email
    } : {},
  )
}

resource "google_project_service" "apis" {
  for_each           = local.apis
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# ---------------------------------------------------------------- CMEK

# Created unless kms_key_name names an existing key (then its rotation is its owner's).
resource "google_kms_key_ring" "churn" {
  count    = var.kms_key_name == null ? 1 : 0
  name     = "churn"
  location = var.region

  depends_on = [google_project_service.apis]
}

resource "google_kms_crypto_key" "churn" {
  count           = var.kms_key_name == null ? 1 : 0
  name            = "churn"
  key_ring        = google_kms_key_ring.churn[0].id
  rotation_period = var.kms_rotation_period
  labels          = local.labels

  # Destroying the key destroys every object encrypted with it.
  lifecycle {
    prevent_destroy = true
  }
}

# The Artifact Registry service agent exists only once something asks for it.
resource "google_project_service_identity" "artifactregistry" {
  provider = google-beta
  project  = var.project_id
  service  = "artifactregistry.googleapis.com"

  depends_on = [google_project_service.apis]
}

# The service agents that encrypt and decrypt on our behalf: without these grants the
# bucket's, the registry's and the cluster's first write fails.
resource "google_kms_crypto_key_iam_member" "service_agents" {
  for_each = {
    storage          = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
    artifactregistry = "serviceAccount:${google_project_service_identity.artifactregistry.email}"
    container        = "serviceAccount:service-${data.google_project.this.number}@container-engine-robot.iam.gserviceaccount.com"
  }
  crypto_key_id = local.kms_key
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}

# ---------------------------------------------------------------- buckets

resource "google_storage_bucket" "churn" {
  name                        = var.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = local.kms_key
  }

  logging {
    log_bucket = var.access_log_bucket
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]

  # Run records and intermediates are only needed for resume and debugging.
  lifecycle_rule {
    condition {
      age            = var.runs_retention_days
      matches_prefix = ["runs/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

# The zipped function package (uploaded by the release job, not by Terraform).
resource "google_storage_bucket" "function_source" {
  name                        = "${var.bucket_name}-functions-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = local.kms_key
  }

  logging {
    log_bucket = var.access_log_bucket
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

# Vertex AI Pipelines' pipeline root (weekly_launcher = "kfp", unless vertex_pipeline_root
# names a folder elsewhere): hardened like the churn bucket; nothing but Vertex's job files.
resource "google_storage_bucket" "pipeline_root" {
  count                       = local.kfp && var.vertex_pipeline_root == null ? 1 : 0
  name                        = "${var.bucket_name}-pipeline-root"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = local.kms_key
  }

  logging {
    log_bucket = var.access_log_bucket
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]

  # A job's files are only needed while it runs and for debugging it afterwards.
  lifecycle_rule {
    condition {
      age = var.runs_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

# ---------------------------------------------------------------- registry

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "churn"
  description   = "The churn image (runner, components, model server)."
  format        = "DOCKER"
  kms_key_name  = local.kms_key
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

# ---------------------------------------------------------------- service accounts

resource "google_service_account" "weekly" {
  account_id   = "churn-fn-weekly"
  display_name = "churn onWeeklyUpload function"
}

resource "google_service_account" "model" {
  account_id   = "churn-fn-model"
  display_name = "churn onModelPublished function"
}

resource "google_service_account" "trigger" {
  account_id   = "churn-eventarc"
  display_name = "churn Eventarc triggers (invoke the functions)"
}

resource "google_service_account" "runner" {
  account_id   = "churn-runner"
  display_name = "churn runner and components (Workload Identity)"
}

resource "google_service_account" "serve" {
  account_id   = "churn-serve"
  display_name = "churn model server (Workload Identity)"
}

resource "google_service_account" "nodes" {
  account_id   = "churn-nodes"
  display_name = "churn GKE nodes (pull the image, write logs and metrics)"
}

# ---------------------------------------------------------------- IAM (bucket-scoped wherever possible)

# onWeeklyUpload writes runs/<id>/trigger.json (and deletes it when a launch fails).
resource "google_storage_bucket_iam_member" "weekly_objects" {
  bucket = google_storage_bucket.churn.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.weekly.email}"
}

# onModelPublished only reads bundles and the champion pointer.
resource "google_storage_bucket_iam_member" "model_objects" {
  bucket = google_storage_bucket.churn.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.model.email}"
}

# The runner reads inputs and writes outputs, models and run records.
resource "google_storage_bucket_iam_member" "runner_objects" {
  bucket = google_storage_bucket.churn.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.runner.email}"
}

# The model server only follows models/champion and reads bundles.
resource "google_storage_bucket_iam_member" "serve_objects" {
  bucket = google_storage_bucket.churn.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.serve.email}"
}

# Both functions need IAM only to be authenticated by GKE (container.clusters.get): an
# IAM container.* role would apply to every namespace of every cluster in the project,
# so what they may do inside is Kubernetes RBAC in the chart instead (weekly: create/get
# Jobs in one namespace; model: patch one Deployment), bound to these identities.
resource "google_project_iam_custom_role" "cluster_authenticate" {
  project     = var.project_id
  role_id     = "churnClusterAuthenticate"
  title       = "churn: authenticate to GKE"
  description = "Only what GKE asks of a Google identity before Kubernetes RBAC decides."
  permissions = ["container.clusters.get"]
}

resource "google_project_iam_member" "functions_cluster_authenticate" {
  for_each = {
    weekly = google_service_account.weekly.email
    model  = google_service_account.model.email
  }
  project = var.project_id
  role    = google_project_iam_custom_role.cluster_authenticate.name
  member  = "serviceAccount:${each.value}"
}

# The nodes' account: the minimum GKE documents for nodes (logs, metrics), and the image below.
resource "google_project_iam_member" "nodes_default" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

# Eventarc needs its trigger identity to receive events...
resource "google_project_iam_member" "trigger_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# ...and to invoke exactly these two functions' services.
resource "google_cloud_run_service_iam_member" "trigger_invokes" {
  for_each = google_cloudfunctions2_function.fn
  location = each.value.location
  service  = each.value.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Storage triggers publish through Pub/Sub as the project's storage service agent.
resource "google_project_iam_member" "gcs_publishes" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# Workload Identity: the Kubernetes service accounts act as the Google ones.
resource "google_service_account_iam_member" "runner_workload_identity" {
  service_account_id = google_service_account.runner.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.kubernetes_namespace}/${var.kubernetes_service_account}]"
}

resource "google_service_account_iam_member" "serve_workload_identity" {
  service_account_id = google_service_account.serve.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.kubernetes_namespace}/${local.server_name}]"
}

# Nodes pull the image (kubelet, as the node account); nobody else reads the registry.
resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}

# ---------------------------------------------------------------- IAM for weekly_launcher = "kfp" only

# The Vertex AI service agent exists only once something asks for it (as Artifact Registry's).
resource "google_project_service_identity" "aiplatform" {
  count    = local.kfp ? 1 : 0
  provider = google-beta
  project  = var.project_id
  service  = "aiplatform.googleapis.com"

  depends_on = [google_project_service.apis]
}

# onWeeklyUpload creates (and reads back on a 409) the PipelineJob...
resource "google_project_iam_member" "weekly_vertex_user" {
  count   = local.kfp ? 1 : 0
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.weekly.email}"
}

# ...whose steps run as the runner: acting as that one account, not every account of the project.
resource "google_service_account_iam_member" "weekly_acts_as_runner" {
  count              = local.kfp ? 1 : 0
  service_account_id = google_service_account.runner.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.weekly.email}"
}

# The steps write their outputs and Vertex's job files under the pipeline root.
resource "google_storage_bucket_iam_member" "runner_pipeline_root" {
  count  = local.kfp ? 1 : 0
  bucket = local.vertex_pipeline_root_bucket
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.runner.email}"
}

# Vertex pulls the steps' image from the registry as its service agent.
resource "google_artifact_registry_repository_iam_member" "vertex_pull" {
  count      = local.kfp ? 1 : 0
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_project_service_identity.aiplatform[0].email}"
}

# ---------------------------------------------------------------- functions -> private control plane

# The functions have no address in the VPC of their own: this connector gives them one,
# inside the control plane's authorized networks (see the cluster below).
resource "google_vpc_access_connector" "functions" {
  name          = "churn-functions"
  region        = var.region
  network       = var.gke_network
  ip_cidr_range = var.functions_connector_cidr
  min_instances = 2
  max_instances = 3
  machine_type  = "e2-micro"

  depends_on = [google_project_service.apis]
}

# ---------------------------------------------------------------- functions (2nd gen)

resource "google_cloudfunctions2_function" "fn" {
  for_each    = local.functions
  name        = each.value.name
  location    = var.region
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime     = "nodejs20"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = var.function_source_object
      }
    }
    environment_variables = {
      # functions-framework loads the compiled entry, not package.json "main".
      GOOGLE_FUNCTION_SOURCE = "dist/functions/main.js"
    }
  }

  service_config {
    available_memory               = "512Mi"
    timeout_seconds                = 60
    max_instance_count             = 5
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = each.key == "weekly" ? google_service_account.weekly.email : google_service_account.model.email
    # Private ranges (the control plane's private endpoint) through the connector; Google
    # APIs (storage, the metadata server) as before.
    vpc_connector                 = google_vpc_access_connector.functions.id
    vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"
    environment_variables = merge(
      { CHURN_LOG_LEVEL = "info" },
      local.function_gke_env,
      each.key == "weekly" ? local.weekly_launcher_env : { CHURN_MODEL_SERVER_DEPLOYMENT = local.model_server_deployment },
    )
  }

  # Eventarc storage triggers filter by bucket only: the handlers filter by name.
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.churn.name
    }
  }

  depends_on = [google_project_iam_member.gcs_publishes, google_project_iam_member.trigger_receiver, google_project_service.apis]
}

# ---------------------------------------------------------------- optional GKE (private Autopilot)

data "google_container_cluster" "existing" {
  count    = var.create_gke_cluster ? 0 : 1
  name     = var.gke_cluster_name
  location = var.region
}

resource "google_container_cluster" "churn" {
  #checkov:skip=CKV_GCP_12:Autopilot always runs Dataplane V2, which enforces NetworkPolicy (the chart ships one); the network_policy block is not for Autopilot
  #checkov:skip=CKV_GCP_61:Autopilot manages node networking; flow logs belong to gke_subnetwork, which this module does not own
  #checkov:skip=CKV_GCP_65:RBAC binds the functions' service accounts as users (charts/churn functions.*); no Google Groups are involved
  #checkov:skip=CKV_GCP_69:Autopilot always runs the GKE metadata server (Workload Identity is always on); node_config cannot be set on Autopilot
  count               = var.create_gke_cluster ? 1 : 0
  name                = var.gke_cluster_name
  location            = var.region
  enable_autopilot    = true
  network             = var.gke_network
  subnetwork          = var.gke_subnetwork
  deletion_protection = true
  resource_labels     = local.labels

  release_channel {
    channel = "REGULAR"
  }

  ip_allocation_policy {}
  datapath_provider = "ADVANCED_DATAPATH"

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = true
    master_ipv4_cidr_block  = "172.16.0.32/28"
  }

  master_authorized_networks_config {
    cidr_blocks {
      cidr_block   = var.gke_master_authorized_cidr
      display_name = "internal"
    }
    cidr_blocks {
      cidr_block   = var.functions_connector_cidr
      display_name = "cloud functions (VPC connector)"
    }
  }

  # Autopilot nodes run as the nodes' account, not the Compute Engine default one.
  cluster_autoscaling {
    auto_provisioning_defaults {
      service_account = google_service_account.nodes.email
      oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  database_encryption {
    state    = "ENCRYPTED"
    key_name = local.kms_key
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents, google_project_service.apis]
}
