#!/usr/bin/env bash
# Builds and runs the test suite under sanitizers, in its own build folder:
#   scripts/sanitize.sh address   AddressSanitizer + UndefinedBehaviorSanitizer, every test
#                                  but those that need LibTorch or MPI (build-asan/)
#   scripts/sanitize.sh thread    ThreadSanitizer on the in-process backend: the
#                                  communicator, algorithm and CLI-in-process tests (build-tsan/)
# Fails on any sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|thread}
case "$kind" in
  address) dir=build-asan; flags=address,undefined; filter="" ;;
  thread)  dir=build-tsan; flags=thread; filter="Inproc|Train|Algorithm|Batch|Comm|Checkpoint" ;;
  *) echo "sanitize: expected address or thread, got '$kind'" >&2; exit 2 ;;
esac
# LibTorch and OpenMPI are not built with sanitizers and would report their own
# internals, so these builds leave them out.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRPSGD_SANITIZE="$flags" \
  -DCRPSGD_WITH_MPI=OFF -DCRPSGD_WITH_TORCH=OFF -DCRPSGD_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build "$dir" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
if [ -n "$filter" ]; then
  ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -R "$filter" -E install
else
  ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -E install
fi
echo "sanitize: $kind: no report" >&2
