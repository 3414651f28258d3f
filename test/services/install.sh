#!/usr/bin/env bash
# Installs every service the integration tests start. Idempotent: each tool is
# built once into ${CHURN_TEST_CACHE:-~/.cache/churn-test}/bin and reused by
# later runs; a second run with nothing to do returns in well under a second.
# Needs only the Go toolchain and the Go module proxy on a fresh machine.
set -euo pipefail
CACHE="${CHURN_TEST_CACHE:-$HOME/.cache/churn-test}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# Pinned versions. fake-gcs-server >= 1.50 honours ifGenerationMatch on
# resumable uploads and on copies, which the storage contract tests rely on.
FAKE_GCS_SERVER_VERSION="v1.56.1"

# Go module and build caches live beside the binaries, so a CI cache of one
# folder keeps everything and nothing touches the user's own GOPATH.
go_env() {
  export GOPATH="$CACHE/go"
  export GOMODCACHE="$CACHE/go/pkg/mod"
  export GOCACHE="$CACHE/go/build-cache"
  export GOBIN="$BIN"
  export GOFLAGS="-modcacherw"
  export CGO_ENABLED=0
}

# True when $1 is a Go binary built from module $2 at version $3.
has_go_binary() {
  local bin="$1" module="$2" version="$3" stamp="$1.version"
  [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$module@$version" ]]
}

# go install <module>/<pkg>@<version> into $BIN, once.
go_install() {
  local name="$1" module="$2" pkg="$3" version="$4"
  local bin="$BIN/$name"
  if has_go_binary "$bin" "$module" "$version"; then
    echo "test services: $name $version already in $BIN"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "test services: the Go toolchain is needed to build $name (install Go >= 1.21, which fetches newer toolchains through the Go proxy, and rerun)" >&2
    exit 1
  fi
  echo "test services: building $name $version (go install $pkg@$version) ..."
  local start=$SECONDS
  (go_env && go install -trimpath -ldflags="-s -w" "$pkg@$version")
  echo "$module@$version" >"$bin.version"
  echo "test services: built $name $version in $((SECONDS - start)) s"
}

go_install fake-gcs-server github.com/fsouza/fake-gcs-server github.com/fsouza/fake-gcs-server \
  "$FAKE_GCS_SERVER_VERSION"
