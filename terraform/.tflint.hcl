# TFLint with its bundled Terraform rules only (no plugin downloads here).
plugin "terraform" {
  enabled = true
  preset  = "all"
}
