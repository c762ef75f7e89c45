#!/usr/bin/env bash
# Make sure Debian's headless Chromium is installed (browser tests: the HTML report, the
# enrollment flow). Installs it with apt-get when missing and we are root; never fails: the
# tests that need a browser skip locally without one, and fail under CI=true.
set -u
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: installing Debian's chromium (first run only)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/tmp/ensure-chromium.log 2>&1 \
    || echo "chromium: install failed, see /tmp/ensure-chromium.log"
fi
command -v chromium >/dev/null 2>&1 && echo "chromium: $(chromium --version 2>/dev/null | head -1)" \
  || echo "chromium: NOT available; browser tests will skip (or fail when CI=true)"
exit 0
