#!/usr/bin/env bash
# Installs the Prometheus Pushgateway (test/metrics.dashboard.test.ts pushes a
# real run's metrics to it) into ${CHURN_TEST_CACHE:-~/.cache/churn-test}/bin
# with `go install`, once: a stamp beside the binary makes reruns a no-op.
# Needs only Go and the Go module proxy.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
PUSHGATEWAY_VERSION="v1.11.1"
MODULE="github.com/prometheus/pushgateway"
if [[ -x "$BIN/pushgateway" && -f "$BIN/pushgateway.version" && "$(cat "$BIN/pushgateway.version")" == "$MODULE@$PUSHGATEWAY_VERSION" ]]; then
  echo "install-pushgateway: pushgateway $PUSHGATEWAY_VERSION already in $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-pushgateway: the Go toolchain is needed to build the Pushgateway (Go >= 1.22)" >&2
  exit 1
fi
echo "install-pushgateway: building pushgateway $PUSHGATEWAY_VERSION ($MODULE@$PUSHGATEWAY_VERSION) ..."
start=$SECONDS
# Not `go install module@version`: that also asks the proxy for the module's
# version list (deprecation check), which the proxy refuses for this module;
# a throwaway module that requires the pinned version builds the same binary.
MOD="$CACHE/pushgateway-build"
rm -rf "$MOD"
mkdir -p "$MOD"
(
  export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go/build-cache"
  export GOFLAGS="-modcacherw" CGO_ENABLED=0
  cd "$MOD"
  printf 'module churn-test/pushgateway\n\ngo 1.22\n' >go.mod
  go get "$MODULE@$PUSHGATEWAY_VERSION"
  go build -trimpath -ldflags="-s -w" -o "$BIN/pushgateway" "$MODULE"
)
rm -rf "$MOD"
echo "$MODULE@$PUSHGATEWAY_VERSION" >"$BIN/pushgateway.version"
echo "install-pushgateway: built pushgateway $PUSHGATEWAY_VERSION in $((SECONDS - start)) s"
