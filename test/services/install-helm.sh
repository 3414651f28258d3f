#!/usr/bin/env bash
# Installs helm (the chart tests render charts/churn with `helm template`) into
# ${CHURN_TEST_CACHE:-~/.cache/churn-test}/bin with `go install`, once: a stamp
# beside the binary makes reruns a no-op. Needs only Go and the Go module proxy.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
HELM_VERSION="v3.19.5"
MODULE="helm.sh/helm/v3"
if [[ -x "$BIN/helm" && -f "$BIN/helm.version" && "$(cat "$BIN/helm.version")" == "$MODULE@$HELM_VERSION" ]]; then
  echo "install-helm: helm $HELM_VERSION already in $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: the Go toolchain is needed to build helm (Go >= 1.21) " >&2
  exit 1
fi
echo "install-helm: building helm $HELM_VERSION (go install $MODULE/cmd/helm@$HELM_VERSION) ..."
start=$SECONDS
(
  export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go/build-cache" GOBIN="$BIN"
  export GOFLAGS="-modcacherw" CGO_ENABLED=0
  go install -trimpath -ldflags="-s -w" "$MODULE/cmd/helm@$HELM_VERSION"
)
echo "$MODULE@$HELM_VERSION" >"$BIN/helm.version"
echo "install-helm: built helm $HELM_VERSION in $((SECONDS - start)) s"
