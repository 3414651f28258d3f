output "bucket" {
  description = "The churn bucket URI (churn --bucket)."
  value       = "gs://${google_storage_bucket.churn.name}"
}

output "function_source_bucket" {
  description = "Where the release job uploads the zipped function package."
  value       = google_storage_bucket.function_source.name
}

output "image_repository" {
  description = "Artifact Registry path for the churn image (churn.yaml kubernetes.image)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
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
  description = "The cluster name, when create_gke_cluster is set."
  value       = var.create_gke_cluster ? google_container_cluster.churn[0].name : null
}
