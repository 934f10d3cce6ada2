#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, generate a
# realistic history, store it in the log, and show what is there.
#   USERS=2000 SEED=1 Tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build -c release
bin=.build/release/careerlog
export CAREERLOG_DATA_DIR="${CAREERLOG_DATA_DIR:-$PWD/.careerlog}"
users="${USERS:-2000}"
echo "== generating the history of $users people and importing it into $CAREERLOG_DATA_DIR/log"
"$bin" generate --users "$users" --seed "${SEED:-1}" | "$bin" log import -
echo "== log stats"
"$bin" log stats
echo "== verify"
"$bin" log verify
echo "== the first three events"
"$bin" log dump --limit 3
