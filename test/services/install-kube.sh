#!/usr/bin/env bash
# Installs the Kubernetes control plane the integration tests start (see
# test/services/kube/README.md): etcd from Debian's packages, and
# kube-apiserver + kube-controller-manager built from the k8s.io/kubernetes Go
# module into ${CHURN_TEST_CACHE:-~/.cache/churn-test}/bin.
#
# Idempotent: the binaries carry a stamp of the version and of the build inputs
# (go.mod, go.sum, the main packages); when it matches, nothing is rebuilt and
# the script returns in about a second. A cold build downloads ~1 GiB of Go
# modules and compiles for several minutes (see README for measured times).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
KUBE_SRC="$HERE/kube"
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# Kubernetes 1.30 is the newest line that runs on Debian bookworm's etcd 3.4.23
# (1.31+ wants etcd 3.4.31+/3.5.13+). Keep in step with kube/go.mod.
KUBE_VERSION="v1.30.14"

log() { echo "install-kube: $*"; }

# --- etcd ------------------------------------------------------------------
if command -v etcd >/dev/null 2>&1; then
  log "etcd already installed ($(etcd --version | head -1))"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-kube: etcd is missing and apt-get is not available; install etcd 3.4/3.5 and rerun" >&2
    exit 1
  fi
  log "installing etcd-server from Debian ..."
  start=$SECONDS
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
  # The package enables a system etcd on :2379; the tests start their own on
  # free ports, so stop the system one where a service manager started it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    $SUDO systemctl stop etcd || true
  fi
  log "etcd installed in $((SECONDS - start)) s ($(etcd --version | head -1))"
fi

# --- kube-apiserver, kube-controller-manager --------------------------------
stamp_of_inputs() {
  (cd "$KUBE_SRC" && cat go.mod go.sum cmd/*/main.go | sha256sum | cut -c1-16)
}
STAMP="k8s.io/kubernetes@$KUBE_VERSION+$(stamp_of_inputs)"

is_built() {
  local name="$1"
  [[ -x "$BIN/$name" && -f "$BIN/$name.version" && "$(cat "$BIN/$name.version")" == "$STAMP" ]]
}

if is_built kube-apiserver && is_built kube-controller-manager; then
  log "kube-apiserver and kube-controller-manager $KUBE_VERSION already in $BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-kube: the Go toolchain (>= 1.22) is needed to build Kubernetes $KUBE_VERSION" >&2
  exit 1
fi

# Module and build caches beside the binaries, as test/services/install.sh.
export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOFLAGS="-modcacherw -mod=readonly"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
# Two compile jobs peak at about 2.5 GiB; the link of kube-apiserver is the
# biggest single step. KUBE_BUILD_JOBS=1 halves the peak on a tighter machine.
JOBS="${KUBE_BUILD_JOBS:-2}"

# The version the binaries report on /version; clients and the tests read it.
LDFLAGS="-s -w"
LDFLAGS+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
LDFLAGS+=" -X k8s.io/component-base/version.gitMajor=1"
LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=30"
LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"

log "building kube-apiserver and kube-controller-manager $KUBE_VERSION (go $(go env GOVERSION), -p $JOBS) ..."
start=$SECONDS
OUT="$(mktemp -d "$BIN/.kube-build.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
(
  cd "$KUBE_SRC"
  go build -p "$JOBS" -trimpath -ldflags "$LDFLAGS" -o "$OUT/" ./cmd/kube-apiserver ./cmd/kube-controller-manager
)
# Move into place only after both built, so an interrupted build never leaves
# a binary that looks current.
for name in kube-apiserver kube-controller-manager; do
  mv -f "$OUT/$name" "$BIN/$name"
  echo "$STAMP" >"$BIN/$name.version"
done
log "built in $((SECONDS - start)) s: $("$BIN/kube-apiserver" --version)"
