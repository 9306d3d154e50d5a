# Thin wrapper over CMake. `make run` and `make test` each install what they need first
# (packaging/install-deps.sh is idempotent), so both work on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test run package tsan clean

all: build

deps:
	packaging/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	packaging/run-tests.sh $(BUILD)

run: build
	packaging/run-app.sh $(BUILD)

package: build
	cd $(BUILD) && cpack -G DEB

# ThreadSanitizer build of the core tests (see README).
tsan: deps
	cmake -S . -B build-tsan -G Ninja -DHEADLAB_TSAN=ON -DHEADLAB_WITH_GUI=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-tsan -j $(JOBS) --target headlab_core_tests
	cd build-tsan && ctest --output-on-failure -R 'Stress'

clean:
	rm -rf $(BUILD) build-tsan
