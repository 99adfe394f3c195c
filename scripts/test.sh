#!/usr/bin/env bash
# Set up and run every check: lint, then the whole test suite (browser tests
# included, in Debian's headless Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-dev.txt
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v redis-server >/dev/null; then
  # Browser tests drive Debian's Chromium; no test downloads a browser. The shared-cache tests start
  # Debian's redis-server on loopback.
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver redis-server >/dev/null
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
