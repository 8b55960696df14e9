#!/usr/bin/env bash
# Run every benchmark in turn; the figures go to bench/results/*.json and the
# console. About 10 minutes on 2 cores. Run on a machine doing nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY bench/make_site.py
$PY bench/approval.py "$@"
$PY bench/post_load.py --seeded
