#!/usr/bin/env bash
# Installs the Debian packages sedx needs, only those that are missing.
# Runs as root (apt-get) or through sudo. Prints what it installs and why.
set -euo pipefail

# package            why
pkgs=(
  "cmake:build system (CMake >= 3.25)"
  "gcc:C11 compiler"
  "g++:compiles the public headers as C++ (header test)"
  "make:top-level Makefile"
  "pkg-config:downstream pkg-config test"
  "libvulkan-dev:Vulkan headers and the system loader"
  "mesa-vulkan-drivers:lavapipe, the software Vulkan driver used where there is no GPU"
  "vulkan-validationlayers:Khronos validation layer; every GPU test runs under it"
  "glslc:compiles the GLSL shaders to SPIR-V at build time"
  "libcmocka-dev:unit and GPU test framework"
  "libcjson-dev:JSON for configuration, statistics dumps and tests"
  "libpng-dev:PNG output of reports"
  "libclang-rt-14-dev:sanitizer runtimes"
  "clang:sanitizer and fuzz builds"
  "libassimp-dev:model loading in sedx-view (glTF, OBJ, FBX, Collada, PLY, ...)"
  "assimp-testmodels:the models sedx-view renders in make demo and in the rendering tests"
  "libstb-dev:stb_image, the header-only decoder sedx-view reads textures with (PNG, JPEG, TGA, ...)"
  "locales:locale sources; the configuration test builds a decimal-comma locale (de_DE) to check saved numbers"
)

missing=()
for entry in "${pkgs[@]}"; do
  name=${entry%%:*}
  if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$name")
    echo "install-deps: will install $name — ${entry#*:}"
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
