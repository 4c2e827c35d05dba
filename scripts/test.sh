#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CTest),
# then a smoke run of every fuzz harness (scripts/fuzz.sh, 10 s each).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DCRPSGD_WERROR=ON
ctest --test-dir build --output-on-failure -j"$(nproc)"
bash scripts/fuzz.sh 10
