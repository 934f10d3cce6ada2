#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test.
# Size parameters (small by default; raise them for long runs):
#   CAREERLOG_CRASH_ITERATIONS            SIGKILL rounds of the log crash test (default 6)
#   CAREERLOG_SERVER_CRASH_ITERATIONS     SIGKILL rounds of the ingest server crash test (default 3)
#   CAREERLOG_PROJECTOR_CRASH_ITERATIONS  SIGKILL rounds of the projector crash test (default 4)
# CAREERLOG_REQUIRE_SHARED_TESTDATA=1 (set by .ci/run) makes a missing
# conformance suite (../shared/testdata) a failure instead of a named skip.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build --build-tests
mkdir -p .build
output=.build/test-output.txt
status=0
# Every test is XCTest; Swift Testing's empty "0 tests" summary would read
# as if nothing ran, so it is turned off.
swift test --skip-build --disable-swift-testing 2>&1 | tee "$output" || status=$?
# The closing line says what ran: XCTest's grand total ("All tests").
total=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$output" | tail -n 1 || true)
if [[ "$total" =~ Executed\ ([0-9]+)\ tests?,\ with\ (([0-9]+)\ tests?\ skipped\ and\ )?([0-9]+)\ failures? ]]; then
  executed=${BASH_REMATCH[1]}
  skipped=${BASH_REMATCH[3]:-0}
  failed=${BASH_REMATCH[4]}
  echo "tests: $((executed - skipped - failed)) passed, $failed failed, $skipped skipped"
else
  echo "tests: no XCTest summary found in $output (exit status $status)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
