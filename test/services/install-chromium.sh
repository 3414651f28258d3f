#!/usr/bin/env bash
# Debian's chromium for the browser tests (report.html and the web console),
# driven headless by playwright-core. Playwright's own browser download comes
# from a CDN that CI cannot reach, so the browser comes from apt. Idempotent:
# a no-op when chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null | head -1) already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "chromium: installing Debian's chromium with apt-get ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
