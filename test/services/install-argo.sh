#!/usr/bin/env bash
# Argo Workflows for the test control plane, all from the argo-workflows Go
# module on the Go module proxy (no images, no release downloads):
# - the full CRDs (with their OpenAPI schemas: the default ones preserve
#   unknown fields and so validate nothing), for server-side dry-runs of the
#   compiled Workflows;
# - workflow-controller and argoexec, built with `go build`, for the end-to-end
#   run of the compiled weekly Workflow (test/argo.e2e.test.ts);
# - the controller's and the emissary executor's RBAC from the manifests.
# Idempotent and cached: the CRDs behind a .complete marker, each binary behind
# a version file (module@version+hash of the build recipe), as install-kube.sh.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
ARGO_VERSION=v3.7.6 # keep in step with ARGO_VERSION in test/support/argo.ts (checked against the version files)
MODULE=github.com/argoproj/argo-workflows/v3
OUT="$CACHE/argo-$ARGO_VERSION"
BIN="$CACHE/bin"
mkdir -p "$OUT" "$BIN"
log() { echo "install-argo: $*"; }

# Module and build caches beside the binaries, as install-kube.sh.
export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

module_dir() {
  go mod download -json "$MODULE@$ARGO_VERSION" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error", "no Dir")))'
}

# --- CRDs and RBAC -----------------------------------------------------------
if [ -f "$OUT/crds/.complete" ] && [ -f "$OUT/rbac/.complete" ]; then
  log "$ARGO_VERSION CRDs and RBAC already in $OUT"
else
  start=$SECONDS
  dir=$(module_dir)
  rm -rf "$OUT/crds" "$OUT/rbac"
  mkdir -p "$OUT/crds" "$OUT/rbac"
  cp "$dir"/manifests/base/crds/full/argoproj.io_*.yaml "$OUT/crds/"
  cp "$dir"/manifests/namespace-install/workflow-controller-rbac/workflow-controller-role{,binding}.yaml \
    "$dir"/manifests/quick-start/base/executor/emissary/executor-role.yaml "$OUT/rbac/"
  chmod u+w "$OUT"/crds/*.yaml "$OUT"/rbac/*.yaml
  touch "$OUT/crds/.complete" "$OUT/rbac/.complete"
  log "$ARGO_VERSION CRDs ($(ls "$OUT"/crds/*.yaml | wc -l) files) and RBAC in $OUT ($((SECONDS - start)) s)"
fi

# --- workflow-controller, argoexec -------------------------------------------
# The version the binaries report (`argoexec version`, the controller's log).
LDFLAGS="-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION"
PACKAGES="./cmd/workflow-controller ./cmd/argoexec"
# The module zip drops symlinks, and upstream's osspecific/signal_linux.go is
# one (to signal_darwin.go): without it argoexec does not compile for Linux.
SYMLINKS="workflow/executor/osspecific/signal_linux.go:signal_darwin.go"
STAMP="$MODULE@$ARGO_VERSION+$(printf '%s\n' "$LDFLAGS" "$PACKAGES" "$SYMLINKS" "$(go env GOVERSION)" | sha256sum | cut -c1-16)"

is_built() {
  [[ -x "$BIN/$1" && -f "$BIN/$1.version" && "$(cat "$BIN/$1.version")" == "$STAMP" ]]
}
if is_built workflow-controller && is_built argoexec; then
  log "workflow-controller and argoexec $ARGO_VERSION already in $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-argo: the Go toolchain (>= 1.24) is needed to build workflow-controller and argoexec $ARGO_VERSION" >&2
  exit 1
fi
start=$SECONDS
dir=$(module_dir)
SRC="$OUT/src"
rm -rf "$SRC"
cp -r "$dir" "$SRC"
chmod -R u+w "$SRC"
for link in $SYMLINKS; do
  ln -sf "${link#*:}" "$SRC/${link%%:*}"
done
log "building workflow-controller and argoexec $ARGO_VERSION (go $(go env GOVERSION)) ..."
BUILD="$(mktemp -d "$BIN/.argo-build.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
# shellcheck disable=SC2086 # PACKAGES is a list
(cd "$SRC" && go build -p "${ARGO_BUILD_JOBS:-2}" -trimpath -ldflags "$LDFLAGS" -o "$BUILD/" $PACKAGES)
# Into place only after both built, so an interrupted build never looks current.
for name in workflow-controller argoexec; do
  mv -f "$BUILD/$name" "$BIN/$name"
  echo "$STAMP" >"$BIN/$name.version"
done
log "built in $((SECONDS - start)) s: $("$BIN/argoexec" version --short 2>/dev/null || echo "argoexec $ARGO_VERSION")"
