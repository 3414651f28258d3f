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

variable "helm_release" {
  description = "Name of the charts/churn Helm release: its server Deployment and ServiceAccount are <release>-server."
  type        = string
  default     = "churn"
}

variable "model_server_deployment" {
  description = "namespace/name of the model server Deployment that onModelPublished rolls (default <kubernetes_namespace>/<helm_release>-server)."
  type        = string
  default     = null
}

variable "create_gke_cluster" {
  description = "Create the private Autopilot GKE cluster gke_cluster_name; false: use an existing cluster of that name in var.region."
  type        = bool
  default     = true
}

variable "gke_cluster_name" {
  description = "The GKE cluster the runner, the model server and the functions' Jobs live in."
  type        = string
  default     = "churn"
}

variable "functions_connector_cidr" {
  description = "Unused /28 in gke_network for the functions' Serverless VPC Access connector (their path to the private control plane)."
  type        = string
  default     = "10.8.0.0/28"
  validation {
    condition     = can(cidrhost(var.functions_connector_cidr, 0)) && endswith(var.functions_connector_cidr, "/28")
    error_message = "A Serverless VPC Access connector needs a /28 range."
  }
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
  description = "Existing Cloud KMS key (projects/.../cryptoKeys/...) for the buckets, the registry and the cluster's secrets; null: the module creates key ring and key \"churn\" in var.region."
  type        = string
  default     = null
}

variable "kms_rotation_period" {
  description = "Rotation period of the key the module creates (at most 90 days)."
  type        = string
  default     = "7776000s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.kms_rotation_period)) && tonumber(trimsuffix(var.kms_rotation_period, "s")) <= 7776000
    error_message = "Give seconds with an s suffix, at most 7776000s (90 days)."
  }
}

variable "access_log_bucket" {
  description = "Existing bucket that receives the churn bucket's access logs."
  type        = string
}

variable "weekly_launcher" {
  description = "How onWeeklyUpload starts a run (functions/config.ts CHURN_LAUNCHER): \"kubernetes\" (the runner's driver Job in the cluster) or \"kfp\" (a Vertex AI Pipelines PipelineJob of the compiled weekly spec)."
  type        = string
  default     = "kubernetes"
  validation {
    condition     = contains(["kubernetes", "kfp"], var.weekly_launcher)
    error_message = "weekly_launcher takes \"kubernetes\" or \"kfp\"."
  }
}

variable "vertex_pipeline_root" {
  description = "weekly_launcher = \"kfp\": the gs://bucket[/folder] for Vertex AI Pipelines' own job files (the runner's account gets roles/storage.objectUser on that bucket); null: a dedicated bucket <bucket_name>-pipeline-root."
  type        = string
  default     = null
  validation {
    condition     = var.vertex_pipeline_root == null || can(regex("^gs://[^/\\s]+(/\\S*)?$", var.vertex_pipeline_root))
    error_message = "Give a gs://bucket[/folder] URI."
  }
}
