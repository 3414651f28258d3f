# Breaks the network-path rule (test/terraform-policy.ts networkPathProblems): one function
# has no VPC connector, the other's connector range is not authorized on the private endpoint.
resource "google_vpc_access_connector" "c" {
  name          = "churn-functions"
  region        = "europe-west1"
  network       = "default"
  ip_cidr_range = "10.8.0.0/28"
}

resource "google_cloudfunctions2_function" "direct" {
  name     = "direct"
  location = "europe-west1"
  service_config {
    ingress_settings = "ALLOW_INTERNAL_ONLY"
  }
}

resource "google_cloudfunctions2_function" "connected" {
  name     = "connected"
  location = "europe-west1"
  service_config {
    ingress_settings              = "ALLOW_INTERNAL_ONLY"
    vpc_connector                 = google_vpc_access_connector.c.id
    vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"
  }
}

resource "google_container_cluster" "private" {
  name     = "churn"
  location = "europe-west1"
  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = true
    master_ipv4_cidr_block  = "172.16.0.32/28"
  }
  master_authorized_networks_config {
    cidr_blocks {
      cidr_block = "10.0.0.0/16"
    }
  }
}
