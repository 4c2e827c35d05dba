#!/usr/bin/env bash
# Configures and builds crpsgd (Release) into ./build. Extra arguments go to
# the configure step, e.g. -DCRPSGD_WITH_MPI=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
rm -f build.log
echo "build: ./build/crpsgd ready" >&2
