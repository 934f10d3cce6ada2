#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, start
# `careerlog serve` (log + ingest + projector) on its own private PostgreSQL,
# stream a generated history of a few thousand people through the socket,
# wait for the read models to catch up, and print the analytics.
#   USERS=3000 SEED=1 Tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
echo "== building (release)"
swift build -c release
bin="$PWD/.build/release/careerlog"
export CAREERLOG_DATA_DIR="${CAREERLOG_DATA_DIR:-$PWD/.careerlog}"
users="${USERS:-3000}"
mkdir -p "$CAREERLOG_DATA_DIR"
# PostgreSQL refuses to run as root; careerlog then runs it as the `postgres`
# account, which must be able to reach the data directory. A checkout under
# /root is not reachable: use a directory it can reach instead.
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$CAREERLOG_DATA_DIR"; then
  export CAREERLOG_DATA_DIR="/var/tmp/careerlog-demo"
  echo "== $PWD is not reachable by the postgres account; keeping the demo's data in $CAREERLOG_DATA_DIR"
  mkdir -p "$CAREERLOG_DATA_DIR"
fi

if [ -f "$CAREERLOG_DATA_DIR/serve.pid" ] && kill -0 "$(cat "$CAREERLOG_DATA_DIR/serve.pid")" 2>/dev/null; then
  echo "== careerlog serve is already running (pid $(cat "$CAREERLOG_DATA_DIR/serve.pid"))"
else
  echo "== starting careerlog serve (data in $CAREERLOG_DATA_DIR)"
  "$bin" serve --listen 127.0.0.1:0 > "$CAREERLOG_DATA_DIR/serve.ready" 2> "$CAREERLOG_DATA_DIR/serve.log" &
  echo $! > "$CAREERLOG_DATA_DIR/serve.pid"
  for _ in $(seq 1 600); do
    [ -s "$CAREERLOG_DATA_DIR/serve.ready" ] && break
    kill -0 "$(cat "$CAREERLOG_DATA_DIR/serve.pid")" 2>/dev/null || { echo "serve failed to start:"; tail -20 "$CAREERLOG_DATA_DIR/serve.log"; exit 1; }
    sleep 0.1
  done
  cat "$CAREERLOG_DATA_DIR/serve.ready"
fi

echo "== streaming the history of $users people through $CAREERLOG_DATA_DIR/ingest.sock"
"$bin" generate --users "$users" --seed "${SEED:-1}" | "$bin" emit --socket "$CAREERLOG_DATA_DIR/ingest.sock" - || true

echo "== waiting for the read models to catch up"
for _ in $(seq 1 600); do
  if "$bin" projections status --json | grep -q '"role":"live"' && ! "$bin" projections status --json | grep '"role":"live"' | grep -vq '"lag_events":0,'; then
    break
  fi
  sleep 0.5
done
"$bin" projections status

for analytic in placement "mentorship --program-wide" funnel; do
  echo
  echo "== careerlog analytics $analytic"
  "$bin" analytics $analytic
done

cat <<MSG

careerlog is running (pid $(cat "$CAREERLOG_DATA_DIR/serve.pid")), data in $CAREERLOG_DATA_DIR.
  Query the read models:   psql "\$($bin db url)"
  Send more events:        $bin emit --socket $CAREERLOG_DATA_DIR/ingest.sock FILE
  Stop it:                 kill $(cat "$CAREERLOG_DATA_DIR/serve.pid") && $bin db stop
MSG
