output "bucket" {
  description = "The churn bucket URI (churn --bucket)."
  value       = "gs://${google_storage_bucket.churn.name}"
}

output "function_source_bucket" {
  description = "Where the release job uploads the zipped function package."
  value       = google_storage_bucket.function_source.name
}

output "image_repository" {
  description = "Artifact Registry repository path (push the image under it)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "image" {
  description = "The churn image without its tag (chart image.repository; churn.yaml kubernetes.image is this:<tag>)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/churn"
}

output "runner_service_account" {
  description = "Google service account to annotate the runner's Kubernetes service account with."
  value       = google_service_account.runner.email
}

output "serve_service_account" {
  description = "Google service account to annotate the model server's Kubernetes service account with."
  value       = google_service_account.serve.email
}

output "functions" {
  description = "Deployed function names."
  value       = { for k, f in google_cloudfunctions2_function.fn : k => f.name }
}

output "gke_cluster" {
  description = "The cluster the functions start Jobs in (created here or existing)."
  value       = var.gke_cluster_name
}

output "function_gke_env" {
  description = "The GKE settings both functions carry (CHURN_GKE_ENDPOINT: the private endpoint; CHURN_GKE_CA_CERT: base64 PEM)."
  value       = local.function_gke_env
}

output "functions_kubernetes_users" {
  description = "How GKE names the functions' identities (the chart's functions.*.user)."
  value = {
    weekly = google_service_account.weekly.email
    model  = google_service_account.model.email
  }
}

output "kms_key" {
  description = "The Cloud KMS key the buckets, the registry and the cluster's secrets are encrypted with."
  value       = local.kms_key
}

output "vpc_connector" {
  description = "The Serverless VPC Access connector the functions reach the control plane through."
  value       = google_vpc_access_connector.functions.id
}

# `terraform output -json helm_values > values-gcp.json` then `helm install -f values-gcp.json`:
# every key is a charts/churn value (test/terraform.test.ts renders a sample through helm).
output "helm_values" {
  description = "charts/churn values for this project: bucket, image, Workload Identity annotations, the functions' RBAC users."
  value = {
    bucket = "gs://${google_storage_bucket.churn.name}"
    image = {
      repository = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/churn"
    }
    runner = {
      serviceAccount = {
        name        = var.kubernetes_service_account
        annotations = { "iam.gke.io/gcp-service-account" = google_service_account.runner.email }
      }
    }
    server = {
      serviceAccount = {
        annotations = { "iam.gke.io/gcp-service-account" = google_service_account.serve.email }
      }
    }
    functions = {
      weekly = { user = google_service_account.weekly.email }
      model  = { user = google_service_account.model.email }
    }
  }
}

output "vertex_pipeline_root" {
  description = "weekly_launcher = \"kfp\": the gs:// pipeline root onWeeklyUpload gives Vertex AI Pipelines (CHURN_VERTEX_PIPELINE_ROOT); null otherwise."
  value       = local.vertex_pipeline_root
}
