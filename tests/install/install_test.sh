#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds a separate consumer
# project against it with find_package(crpsgd), runs it (and, with MPI,
# examples/distributed_train.cc under mpirun -np 2), and checks the
# pkg-config file and the installed CLI.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
test -f "$work/prefix/include/crpsgd/crpsgd.h"
test -f "$work/prefix/include/crpsgd/config.h"
"$work/prefix/bin/crpsgd" --version
cmake -S "$source/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCRPSGD_EXAMPLE_SOURCE="$source/examples/custom_objective.cc" \
      -DCRPSGD_DISTRIBUTED_EXAMPLE_SOURCE="$source/examples/distributed_train.cc" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/consumer" > /dev/null
"$work/consumer/consumer"
if [ -x "$work/consumer/distributed_train" ]; then  # built when the package has crpsgd::mpi
  bash "$source/examples/run_distributed_train.sh" "$work/consumer/distributed_train"
fi
if [ -f "$work/prefix/lib/cmake/crpsgd/crpsgdTargets.cmake" ] && grep -q "crpsgd::torch" "$work/prefix/lib/cmake/crpsgd/crpsgdTargets.cmake"; then
  "$work/consumer/consumer_torch"
fi
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --modversion crpsgd
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags crpsgd | grep -q -- "-I$work/prefix/lib/pkgconfig/../../include"
echo "install test: consumer built and ran against $work/prefix"
