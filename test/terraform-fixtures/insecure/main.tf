# Deliberately insecure: the policy test proves checkov fails on each broken rule.
resource "google_storage_bucket" "open" {
  name                        = "churn-insecure"
  location                    = "europe-west1"
  uniform_bucket_level_access = false
  public_access_prevention    = "inherited"
}

resource "google_storage_bucket_iam_member" "public_read" {
  bucket = google_storage_bucket.open.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}

resource "google_project_iam_member" "editor" {
  project = "p"
  role    = "roles/editor"
  member  = "serviceAccount:churn@p.iam.gserviceaccount.com"
}

resource "google_cloudfunctions2_function" "open" {
  name     = "open"
  location = "europe-west1"
  build_config {
    runtime     = "nodejs20"
    entry_point = "onWeeklyUpload"
  }
  service_config {
    ingress_settings = "ALLOW_ALL"
  }
}

resource "google_cloud_run_service_iam_member" "public_invoke" {
  location = "europe-west1"
  service  = "open"
  role     = "roles/run.invoker"
  member   = "allUsers"
}
