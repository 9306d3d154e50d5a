#!/usr/bin/env bash
# Installs the Debian 12 packages HeadLab needs to build, test and run.
# Idempotent: asks apt only for packages that are not installed yet, and uses
# sudo only when not already root. Usage: packaging/install-deps.sh [--no-gui]
set -euo pipefail

core_pkgs=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # LibTorch (CPU; 1.13 on Debian 12, 2.6 on 13) with headers and CMake config
  libgloo-dev             # the headers of c10d's Gloo process group: data-parallel training
  libopenblas0-openmp     # optimized BLAS: matmul 12-30x faster than the reference one
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libcli11-dev
  libpcre2-dev            # Hugging Face byte-level BPE: the pre-tokenizer regexes (Unicode classes, lookahead)
  libsentencepiece-dev    # SentencePiece tokenizer.model files of pretrained models
  libicu-dev              # NFC normalization (tokenizer.json normalizers)
  libboost-dev            # Boost.Math (header-only): Student-t quantiles for confidence intervals
  python3-numpy           # reads .npy in the CLI end-to-end tests
  python3-torch           # tests/reference/headlab_reference.py: interop test, headlab-bench's reference
)
gui_pkgs=(
  qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libimgui-dev libstb-dev libgl-dev libglx-mesa0 libgl1-mesa-dri   # the Head Atlas (ImGui on OpenGL)
  libgif-dev              # the timeline's replay export as an animated GIF
  xvfb xauth
)

# Debian 12 ships Qt's OpenGL widgets apart; from Debian 13 on they are part of qt6-base-dev.
debian_version="$(. /etc/os-release && echo "${VERSION_ID:-}")"
if [[ "$debian_version" == 12 ]]; then gui_pkgs+=(libqt6opengl6-dev); fi

want=("${core_pkgs[@]}")
if [[ "${1:-}" != "--no-gui" ]]; then want+=("${gui_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#want[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
