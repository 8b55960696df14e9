#!/usr/bin/env bash
# Run every benchmark in turn; the figures go to bench/results/*.json and the
# console. About 50 minutes on 2 cores, half of it approval.py (100, 1,000 and
# 10,000 articles, and a 2,000-comment thread). Run on a machine doing nothing
# else (each script waits up to --max-wait seconds for quiet before each run
# and records how busy the machine was). Needs Debian's wrk and nginx, and
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust) for post_load.py's
# default --database sqlite,postgres. Extra arguments go to post_load.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY bench/make_site.py
$PY bench/post_load.py --seeded "$@"
$PY bench/page_weight.py
$PY bench/read_load.py
$PY bench/approval.py
