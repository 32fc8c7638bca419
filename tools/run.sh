#!/usr/bin/env bash
# Quick start, part one: set up, build in release mode, and run the server on the embedded
# default configuration (Config/eddy.yaml): http://127.0.0.1:7420, data in ./eddy-data.
# Extra arguments go to `eddy serve`, e.g. tools/run.sh --listen 127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --product eddy
exec .build/release/eddy serve "$@"
