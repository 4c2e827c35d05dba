#!/usr/bin/env bash
# Installs the Debian 12 packages crpsgd needs to build, test and run its main job.
# Idempotent: installs only what is missing; runs apt-get update at most once.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin          # the mpi backend
  libeigen3-dev                       # linear algebra
  libcli11-dev nlohmann-json3-dev     # command line, JSON output
  libtomlplusplus-dev                 # TOML config files (--config)
  zlib1g-dev                          # gzip-compressed IDX files
  libgtest-dev libbenchmark-dev       # tests and benchmarks
  dataset-fashion-mnist               # the real data set of the main job
  liblinear-tools                     # heart_scale (a real LIBSVM file) for tests
  gnuplot-nox                         # figures
  clang                               # libFuzzer harnesses (scripts/fuzz.sh)
  clang-format                        # the code's layout (scripts/format.sh; the format_check test)
  universal-ctags                     # functions' lengths (scripts/function-length.sh; the function_length test)
  libtorch-dev                        # networks (softmax, MLP, ResNet-20): target crpsgd_torch
  python3-torch                       # a real peer: the model-file test loads crpsgd's models in PyTorch
  iproute2                            # ip, tc: the test cluster of network namespaces (scripts/testcluster)
  slurm-wlm munge                     # a real scheduler: the Slurm test (scripts/slurm-cluster.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present" >&2
fi
