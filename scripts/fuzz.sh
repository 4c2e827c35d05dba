#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, AddressSanitizer + UBSan) in
# build-fuzz/ and runs each for SECONDS (default 10) from its seed corpus in
# fuzz/corpus/. Fails on any crash, sanitizer report, leak, timeout or
# allocation over 1 GB (what an absurd header size would cause).
# The mutation sequence is seeded (FUZZ_SEED, default 1) so that a run can be
# repeated; FUZZ_SEED=0 lets libFuzzer pick a new seed each time.
# Usage: [FUZZ_SEED=N] scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
command -v clang++ > /dev/null || { echo "fuzz: clang++ is missing: run scripts/install-deps.sh" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRPSGD_FUZZ=ON \
  -DCRPSGD_SANITIZE=address,undefined -DCRPSGD_WITH_MPI=OFF -DCRPSGD_WITH_TORCH=OFF \
  -DCRPSGD_BUILD_TESTS=OFF -DCRPSGD_BUILD_BENCHMARKS=OFF > build-fuzz.log
cmake --build build-fuzz -j"$(nproc)" --target libsvm_fuzz idx_fuzz cifar10_fuzz config_fuzz table_fuzz >> build-fuzz.log
rm -f build-fuzz.log
for name in libsvm idx cifar10 config table; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$name"/* "$work"/  # the corpus grows in a scratch copy, not in the repository
  echo "fuzz: $name for ${seconds}s" >&2
  if ! build-fuzz/fuzz/"$name"_fuzz "$work" -max_total_time="$seconds" -rss_limit_mb=2048 \
       -malloc_limit_mb=1024 -timeout=10 -seed="${FUZZ_SEED:-1}" -print_final_stats=1 \
       -artifact_prefix=build-fuzz/"$name"- \
       > build-fuzz/"$name".log 2>&1; then
    tail -40 build-fuzz/"$name".log >&2
    echo "fuzz: $name FAILED (input saved as build-fuzz/$name-*; log build-fuzz/$name.log)" >&2
    rm -rf "$work"
    exit 1
  fi
  grep -E "stat::number_of_executed_units" build-fuzz/"$name".log | sed "s/^/fuzz: $name: /" >&2
  rm -rf "$work"
done
echo "fuzz: no crash in any harness" >&2
