data "google_storage_project_service_account" "gcs" {}

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
    default_kms_key_name = var.kms_key_name
  }

  logging {
    log_bucket = var.access_log_bucket
  }

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
    default_kms_key_name = var.kms_key_name
  }

  logging {
    log_bucket = var.access_log_bucket
  }
}

# ---------------------------------------------------------------- registry

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "churn"
  description   = "The churn image (runner, components, model server)."
  format        = "DOCKER"
  kms_key_name  = var.kms_key_name
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }
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

# Both functions reach the cluster API only to be authenticated; what they may do
# there is Kubernetes RBAC in the chart (create Jobs / patch one Deployment in one namespace).
resource "google_project_iam_member" "functions_cluster_viewer" {
  for_each = {
    weekly = google_service_account.weekly.email
    model  = google_service_account.model.email
  }
  project = var.project_id
  role    = "roles/container.clusterViewer"
  member  = "serviceAccount:${each.value}"
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
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.kubernetes_namespace}/churn-serve]"
}

# Nodes pull the image; nobody else reads the registry.
resource "google_artifact_registry_repository_iam_member" "runner_pulls" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.runner.email}"
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
    environment_variables = merge(
      { CHURN_LOG_LEVEL = "info" },
      each.key == "weekly" ? { CHURN_LAUNCHER = "kubernetes" } : { CHURN_MODEL_SERVER_DEPLOYMENT = var.model_server_deployment },
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

  depends_on = [google_project_iam_member.gcs_publishes, google_project_iam_member.trigger_receiver]
}

# ---------------------------------------------------------------- optional GKE (private Autopilot)

resource "google_container_cluster" "churn" {
  count               = var.create_gke_cluster ? 1 : 0
  name                = "churn"
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
    key_name = var.kms_key_name
  }
}
