# Breaks the function-roles rule (test/terraform-policy.ts functionRoleProblems): the weekly
# function's account has no role to authenticate to GKE, the model function's account has
# container.admin, neither function gets the cluster's endpoint and CA, and no helm_values
# output names them for the chart's RBAC.
resource "google_service_account" "weekly" {
  account_id = "churn-fn-weekly"
}

resource "google_service_account" "model" {
  account_id = "churn-fn-model"
}

resource "google_project_iam_member" "model_admin" {
  project = "p"
  role    = "roles/container.admin"
  member  = "serviceAccount:${google_service_account.model.email}"
}

resource "google_cloudfunctions2_function" "weekly" {
  name     = "weekly"
  location = "europe-west1"
  service_config {
    service_account_email = google_service_account.weekly.email
    environment_variables = { CHURN_LAUNCHER = "kubernetes" }
  }
}

resource "google_cloudfunctions2_function" "model" {
  name     = "model"
  location = "europe-west1"
  service_config {
    service_account_email = google_service_account.model.email
  }
}
