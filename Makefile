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

# ThreadSanitizer build of the core tests; runs the session tests, stress test included (see README).
tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

clean:
	rm -rf $(BUILD) build-tsan
