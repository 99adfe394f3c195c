#!/usr/bin/env bash
# Set up and run the dashboard on the synthetic data (generated on first run).
# Extra arguments go to app.py, e.g. scripts/run.sh --port 8051
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements.txt
exec .venv/bin/python app.py "$@"
