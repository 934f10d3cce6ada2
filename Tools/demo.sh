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
  # Name the directory that stops it: the first one on the path that the
  # postgres account cannot enter.
  blocked="$CAREERLOG_DATA_DIR"
  probe=""
  IFS=/ read -ra parts <<< "${CAREERLOG_DATA_DIR#/}"
  for part in "${parts[@]}"; do
    probe="$probe/$part"
    if ! runuser -u postgres -- test -x "$probe"; then blocked="$probe"; break; fi
  done
  export CAREERLOG_DATA_DIR="/var/tmp/careerlog-demo"
  echo "== the postgres account cannot enter $blocked; keeping the demo's data in $CAREERLOG_DATA_DIR instead"
  mkdir -p "$CAREERLOG_DATA_DIR"
fi
data_dir="$CAREERLOG_DATA_DIR"
# The documented default address, so the README's examples reach this server.
listen="${LISTEN:-127.0.0.1:7400}"

if [ -f "$CAREERLOG_DATA_DIR/serve.pid" ] && kill -0 "$(cat "$CAREERLOG_DATA_DIR/serve.pid")" 2>/dev/null; then
  echo "== careerlog serve is already running (pid $(cat "$CAREERLOG_DATA_DIR/serve.pid"))"
else
  echo "== starting careerlog serve (data in $CAREERLOG_DATA_DIR)"
  "$bin" serve --data-dir "$data_dir" --listen "$listen" > "$CAREERLOG_DATA_DIR/serve.ready" 2> "$CAREERLOG_DATA_DIR/serve.log" &
  echo $! > "$CAREERLOG_DATA_DIR/serve.pid"
  for _ in $(seq 1 600); do
    [ -s "$CAREERLOG_DATA_DIR/serve.ready" ] && break
    kill -0 "$(cat "$CAREERLOG_DATA_DIR/serve.pid")" 2>/dev/null || { echo "serve failed to start:"; tail -20 "$CAREERLOG_DATA_DIR/serve.log"; exit 1; }
    sleep 0.1
  done
  cat "$CAREERLOG_DATA_DIR/serve.ready"
fi

echo "== streaming the history of $users people through $CAREERLOG_DATA_DIR/ingest.sock"
"$bin" generate --users "$users" --seed "${SEED:-1}" | "$bin" emit --socket "$CAREERLOG_DATA_DIR/ingest.sock" -

echo "== waiting for the read models to catch up"
for _ in $(seq 1 600); do
  if "$bin" projections status --data-dir "$data_dir" --json | grep -q '"role":"live"' && ! "$bin" projections status --data-dir "$data_dir" --json | grep '"role":"live"' | grep -vq '"lag_events":0,'; then
    break
  fi
  sleep 0.5
done
"$bin" projections status --data-dir "$data_dir"

for analytic in placement "mentorship --program-wide" funnel; do
  echo
  echo "== careerlog analytics $analytic"
  "$bin" analytics $analytic --data-dir "$data_dir"
done

tcp=$(sed -n 's/.*"tcp":"\([^"]*\)".*/\1/p' "$data_dir/serve.ready")
http=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' "$data_dir/serve.ready")
cat <<MSG

careerlog is running (pid $(cat "$data_dir/serve.pid")), listening on ${tcp:-no TCP} and $data_dir/ingest.sock,
data in $data_dir. Every command below works from any directory:
  Send more events:        $bin emit --connect ${tcp:-127.0.0.1:7400} FILE
                           $bin emit --socket $data_dir/ingest.sock FILE
  Query the analytics:     $bin analytics placement --data-dir $data_dir
  Query the read models:   psql "\$($bin db url --data-dir $data_dir)"
  Its state on one screen: $bin status --http ${http:-127.0.0.1:7401}
  Metrics for Prometheus:  curl http://${http:-127.0.0.1:7401}/metrics
  Stop it:                 kill $(cat "$data_dir/serve.pid") && $bin db stop --data-dir $data_dir

The dashboard (the demo's analytics as charts, refreshed every 5 s):
  http://${http:-127.0.0.1:7401}/
MSG
