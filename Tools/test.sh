#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test.
# Size parameters (small by default; raise them for long runs):
#   CAREERLOG_CRASH_ITERATIONS   SIGKILL rounds of the log crash test (default 6)
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build --build-tests
swift test --skip-build
