#!/usr/bin/env bash
# Builds OpenTofu's `tofu` (pinned) into ${CHURN_TEST_CACHE:-~/.cache/churn-test}/bin
# for `tofu fmt -check` and HCL syntax checks of terraform/ (test/terraform.test.ts).
#
# Why a build and not a download: the machine reaches the Go module proxy but
# no release host, and neither Terraform after 1.5 nor OpenTofu can be
# `go install`ed (their go.mod carries a replace directive, which go install
# refuses). So a throwaway main module in the cache requires OpenTofu at the
# pinned version and copies OpenTofu's own replace lines from its go.mod (read
# from the module proxy, so they always match the pinned release), and
# `go build`s cmd/tofu from it. `tofu validate` still needs the Google
# provider, which no reachable registry serves: schema checks stay with
# checkov and TFLint (install-terraform-tools.sh).
#
# Idempotent: a stamp beside the binary makes reruns a no-op (well under a
# second). A cold build takes about 4 minutes on 2 cores.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
BIN="$CACHE/bin"
TOFU_VERSION="v1.8.8"
MODULE="github.com/opentofu/opentofu"
STAMP="$MODULE@$TOFU_VERSION"
mkdir -p "$BIN"

log() { echo "install-tofu: $*"; }

if [[ -x "$BIN/tofu" && -f "$BIN/tofu.version" && "$(cat "$BIN/tofu.version")" == "$STAMP" ]]; then
  log "tofu $TOFU_VERSION already in $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-tofu: the Go toolchain (>= 1.22) is needed to build OpenTofu $TOFU_VERSION" >&2
  exit 1
fi

# Module and build caches beside the binaries, as the other install scripts.
export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOFLAGS="-modcacherw"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

start=$SECONDS
WORK="$(mktemp -d "$CACHE/.tofu-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# OpenTofu's own go.mod, from the proxy (checked against the checksum database).
upstream_mod="$(cd "$WORK" && go mod download -json "$STAMP" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
if [[ ! -f "$upstream_mod" ]]; then
  echo "install-tofu: could not download $STAMP from the Go module proxy" >&2
  exit 1
fi
if grep -q '^replace[[:space:]]*($' "$upstream_mod"; then
  echo "install-tofu: $STAMP's go.mod has a replace block; this script copies single replace lines only" >&2
  exit 1
fi
replaces="$(grep '^replace ' "$upstream_mod" || true)"
log "building tofu $TOFU_VERSION (go $(go env GOVERSION)); copied from its go.mod: ${replaces:-no replace}"

cat >"$WORK/go.mod" <<EOF
module churn-test/tofu-build

go 1.22

require $MODULE $TOFU_VERSION

$replaces
EOF
(
  cd "$WORK"
  # Resolves cmd/tofu's imports with OpenTofu's own minimum versions (MVS) and
  # writes go.sum; then the build.
  go get "$MODULE/cmd/tofu@$TOFU_VERSION"
  # version.dev=no as OpenTofu's release builds, so `tofu version` says v1.8.8, not -dev.
  go build -trimpath -ldflags="-s -w -X $MODULE/version.dev=no" -o "$WORK/tofu" "$MODULE/cmd/tofu"
)
# Into place only once built, so an interrupted build never looks current.
mv -f "$WORK/tofu" "$BIN/tofu"
echo "$STAMP" >"$BIN/tofu.version"
# (TF_CLI_CONFIG_FILE may name a file that does not exist here; tofu would warn.)
log "built in $((SECONDS - start)) s: $(env -u TF_CLI_CONFIG_FILE "$BIN/tofu" version | head -1)"
