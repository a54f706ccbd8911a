#!/usr/bin/env bash
# README command 1: install dependencies, build, and run cused in the
# foreground with the default backend.  Extra arguments go to cused.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec "${BUILD:-build}/cused/frontend/cused" "$@"
