#!/usr/bin/env bash
# Quick start, part two: set up, build, and run every test (unit, engine, and end-to-end
# tests that start real servers on loopback ports and kill them with kill -9).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --build-tests
swift test --skip-build "$@"
