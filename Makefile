# sedx — two commands on a fresh Debian 12 machine:
#   make demo   installs missing packages, builds, renders a model with sedx-view (frame.png)
#   make test   same set-up, then the whole test suite (release, ASan+UBSan, TSan, downstream)
# Other targets: make build | bench | install PREFIX=/usr/local | info | clean

BUILD    ?= build
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-fast bench info install clean

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/fetch-lavapipe-rt.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The device report (short), then sedx-view on the default model (OBJ/spider.obj from Debian's
# assimp-testmodels: 19 meshes, 5 textures), 60 frames, two in flight: frame.png, stats.json,
# trace.json, memory.json and memory.png (the memory map) in $(BUILD)/sedx-view-out.
# Any other model: $(BUILD)/tools/sedx-view --model FILE (docs/viewer.md).
demo: build
	$(BUILD)/tools/sedx-info | head -12
	@echo
	$(BUILD)/tools/sedx-view --out $(BUILD)/sedx-view-out
	@echo
	@echo "The rendered frame: $(BUILD)/sedx-view-out/frame.png (memory map: $(BUILD)/sedx-view-out/memory.png)"

info: build
	$(BUILD)/tools/sedx-info

test: deps
	@bash scripts/run-tests.sh

# Release build and its tests only (no sanitizers): the quick loop while developing.
test-fast: build
	cd $(BUILD) && ctest -j$(JOBS) --output-on-failure

# Benchmarks on the default device (no validation); figures for bench/results/ come from here.
bench: build
	$(BUILD)/tools/sedx-bench alloc
	$(BUILD)/tools/sedx-bench buffers
	$(BUILD)/tools/sedx-bench upload

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-downstream
