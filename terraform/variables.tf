variable "project_id" {
  description = "Google Cloud project that holds everything."
  type        = string
}

variable "region" {
  description = "Region of the bucket, the functions, the Eventarc triggers and the registry."
  type        = string
  default     = "europe-west1"
}

variable "bucket_name" {
  description = "The churn bucket (input/, weekly/, output/, models/, runs/)."
  type        = string
}

variable "runs_retention_days" {
  description = "Age after which run records and intermediates under runs/ are deleted."
  type        = number
  default     = 30
}

variable "noncurrent_retention_days" {
  description = "Age after which overwritten (noncurrent) object versions are deleted."
  type        = number
  default     = 30
}

variable "function_source_object" {
  description = "Object in the function source bucket holding the zipped package (npm pack of this repository)."
  type        = string
  default     = "functions/churn-functions.zip"
}

variable "kubernetes_namespace" {
  description = "Namespace of the runner (churn.yaml kubernetes.namespace)."
  type        = string
  default     = "churn"
}

variable "kubernetes_service_account" {
  description = "Kubernetes service account of the runner (churn.yaml kubernetes.service_account)."
  type        = string
  default     = "churn-runner"
}

variable "model_server_deployment" {
  description = "namespace/name of the model server Deployment that onModelPublished rolls."
  type        = string
  default     = "churn/churn-serve"
}

variable "create_gke_cluster" {
  description = "Create a private Autopilot GKE cluster for the runner and the model server."
  type        = bool
  default     = false
}

variable "gke_network" {
  description = "VPC network self link or name for the GKE cluster."
  type        = string
  default     = "default"
}

variable "gke_subnetwork" {
  description = "Subnetwork for the GKE cluster (with secondary ranges for pods and services)."
  type        = string
  default     = "default"
}

variable "gke_master_authorized_cidr" {
  description = "The only CIDR allowed to reach the cluster's control plane (an internal range; never 0.0.0.0/0)."
  type        = string
  default     = "10.0.0.0/8"
  validation {
    condition     = var.gke_master_authorized_cidr != "0.0.0.0/0"
    error_message = "The control plane must not be open to the internet."
  }
}

variable "kms_key_name" {
  description = "Cloud KMS key for the buckets and the registry (customer-managed encryption)."
  type        = string
}

variable "access_log_bucket" {
  description = "Existing bucket that receives the churn bucket's access logs."
  type        = string
}
