# husk build. `make` leaves build/husk and build/husk-runtime; `make asan`
# builds the same tree with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/. Every .c file below src/ is compiled; a source file
# belongs to the library (libhusk.a) unless it is a CLI main.
O ?= build
CC ?= gcc
# The runtime links only what it needs: every shared library costs start time
# and RSS on each container start. The engine links the rest.
RT_PKGS := json-c libseccomp
ENGINE_PKGS := $(RT_PKGS) libarchive sqlite3 libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(ENGINE_PKGS) 2>/dev/null)
RT_LIBS := $(shell pkg-config --libs $(RT_PKGS) 2>/dev/null)
ENGINE_LIBS := $(shell pkg-config --libs $(ENGINE_PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ulinux $(WARN) -Isrc $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)

# libhusk-rt: core + runtime + the runtime CLI. libhusk-engine: images,
# engine and the husk CLI, on top of libhusk-rt.
RT_SRC := $(wildcard src/core/*.c src/runtime/*.c src/cli/runtime-*.c)
ENGINE_SRC := $(filter-out src/cli/main-%.c src/cli/runtime-%.c,$(wildcard src/image/*.c src/engine/*.c src/cli/*.c))
RT_OBJ := $(RT_SRC:%.c=$(O)/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/%.o)
LIB_OBJ := $(RT_OBJ) $(ENGINE_OBJ)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

all: $(O)/husk $(O)/husk-runtime $(O)/tests/probe

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(O)/libhusk-rt.a: $(RT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/libhusk-engine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/husk: $(O)/src/cli/main-husk.o $(O)/libhusk-engine.a $(O)/libhusk-rt.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ENGINE_LIBS) $(EXTRA_LDFLAGS)

$(O)/husk-runtime: $(O)/src/cli/main-runtime.o $(O)/libhusk-rt.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) $(EXTRA_LDFLAGS)

# The probe runs inside test containers: static, so it needs nothing from the rootfs.
$(O)/tests/probe: tests/helpers/probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<

$(O)/tests/test-%: tests/unit/test-%.c tests/unit/unit.h $(O)/libhusk-engine.a $(O)/libhusk-rt.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(O)/libhusk-engine.a $(O)/libhusk-rt.a $(ENGINE_LIBS) $(EXTRA_LDFLAGS)

unit: $(UNIT_BIN)

asan:
	$(MAKE) O=build-asan CC=gcc \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit

check: all unit
	tests/run-all.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan

.PHONY: all unit asan check format clean
-include $(LIB_OBJ:.o=.d)

# libFuzzer harnesses (tests/fuzz/fuzz-*.c), not part of `all`: the library
# is rebuilt with clang into build/fuzz/ and each harness linked against it.
# Run one with: build/fuzz/fuzz/fuzz-spec -max_total_time=120 CORPUS_DIR
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
fuzz:
	$(MAKE) O=build/fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS=-Wno-error EXTRA_LDFLAGS="-fsanitize=fuzzer,address,undefined" fuzz-bins

fuzz-bins: $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)

$(O)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(O)/libhusk-engine.a $(O)/libhusk-rt.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libhusk-engine.a $(O)/libhusk-rt.a $(ENGINE_LIBS) $(EXTRA_LDFLAGS)

.PHONY: fuzz fuzz-bins
