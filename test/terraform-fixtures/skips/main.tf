# Fixture for the skip-justification rule: one justified, one unjustified suppression.
resource "google_storage_bucket" "b" {
  #checkov:skip=CKV_GCP_62:logs go elsewhere
  #checkov:skip=CKV_GCP_78:no reason given in the README
  name     = "b"
  location = "EU"
}
