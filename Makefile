# Thin wrapper around CMake. `make` builds, `make demo` runs the nested demo
# (L0 -> turtle -> turtle -> cpuid workload), `make demo-bare` the demo guest,
# `make test` runs every test in a -Werror build and in an ASan/UBSan build
# except the long ones (`make test-long`: the depth-4 to depth-6 stacks).
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_IMAGE := $(BUILD)/guests/demo/demo.elf
CMAKE_ARGS ?=

.PHONY: all deps configure build demo demo-bare test test-werror test-asan test-long bench clean

all: build

deps:
	scripts/deps.sh

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# The demo: the default nested stack (configs/stack/depth3.json through
# `nvmx run --stack`), L0 (--l0) -> turtle L1 -> turtle L2 -> cpuid
# workload L3, traced; the per-level exit table, the exit multiplication,
# the modelled cycles per L3 exit (scripts/demo-nested.sh).
DEMO_STACK  ?= configs/stack/depth3.json
DEMO_TRACE  := $(BUILD)/demo-trace.jsonl
demo: configure
	cmake --build $(BUILD) -j$(JOBS) --target nvmx turtle turtle-32m workload-cpuid
	@sh scripts/demo-nested.sh $(BUILD)/nvmx $(DEMO_STACK) $(BUILD)/guests $(DEMO_TRACE)

# The bare demo: the demo guest with run statistics, then the bare-mode
# hypervisor image with a JSON trace and its per-exit summary. Each guest
# ends through debug-exit: writing 0 gives exit status 1 (docs/cli.md).
HV_IMAGE   := $(BUILD)/guests/hypervisor/hypervisor.elf
BARE_TRACE := $(BUILD)/demo-bare-trace.jsonl
demo-bare: configure
	cmake --build $(BUILD) -j$(JOBS) --target nvmx demo hypervisor
	@st=0; $(BUILD)/nvmx run $(DEMO_IMAGE) --stats || st=$$?; \
	if [ $$st -ne 1 ]; then echo "demo: nvmx exit status $$st (see docs/cli.md)"; exit 1; fi
	@st=0; $(BUILD)/nvmx run $(HV_IMAGE) --feature-control-locked --trace $(BARE_TRACE) || st=$$?; \
	if [ $$st -ne 1 ]; then echo "demo: nvmx exit status $$st (see docs/cli.md)"; exit 1; fi
	@echo "demo: trace in $(BARE_TRACE); summary:"
	@$(BUILD)/nvmx trace stats $(BARE_TRACE)

test: test-werror test-asan

test-werror: deps
	cmake -S . -B $(BUILD) -DNVMX_WERROR=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE long

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DNVMX_WERROR=ON -DNVMX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j$(JOBS) -LE long

# The long tests (ctest label `long`: the depth-4 to depth-6 stacks), in the -Werror
# build only; `make test` leaves them out.
test-long: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L long

bench: build
	cmake --build $(BUILD) -j$(JOBS) --target bench

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
