# Breaks the CMEK rule (test/terraform-policy.ts cmekGrantProblems): the bucket's agent is
# granted the key but the bucket does not wait for it; the registry's and the cluster's
# agents are never granted it; the key has no rotation period.
data "google_storage_project_service_account" "gcs" {}

resource "google_kms_crypto_key" "key" {
  name     = "churn"
  key_ring = "projects/p/locations/europe-west1/keyRings/churn"
}

resource "google_kms_crypto_key_iam_member" "storage" {
  crypto_key_id = google_kms_crypto_key.key.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_storage_bucket" "b" {
  name     = "b"
  location = "europe-west1"
  encryption {
    default_kms_key_name = google_kms_crypto_key.key.id
  }
}

resource "google_artifact_registry_repository" "r" {
  location      = "europe-west1"
  repository_id = "churn"
  format        = "DOCKER"
  kms_key_name  = google_kms_crypto_key.key.id
}

resource "google_container_cluster" "c" {
  name     = "churn"
  location = "europe-west1"
  database_encryption {
    state    = "ENCRYPTED"
    key_name = google_kms_crypto_key.key.id
  }
}
