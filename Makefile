# husk build. `make` leaves build/husk and build/husk-runtime; `make asan`
# builds the same tree with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/. Every .c file below src/ is compiled; a source file
# belongs to the library (libhusk.a) unless it is a CLI main.
O ?= build
CC ?= gcc
# The runtime links only what it needs: every shared library costs start time
# and RSS on each container start. The engine links the rest.
RT_PKGS := json-c libseccomp
# libisal: ISA-L's igzip inflates gzip layers several times faster than zlib.
ENGINE_PKGS := $(RT_PKGS) libarchive sqlite3 libcrypto libcurl libnftables libisal nettle
PKG_CFLAGS := $(shell pkg-config --cflags $(ENGINE_PKGS) 2>/dev/null)
# json-c and libseccomp go in statically (Debian's -dev packages ship the .a):
# two fewer shared objects to map and relocate on every container start.
RT_LIBS := -Wl,-Bstatic -ljson-c -lseccomp -Wl,-Bdynamic
# -pthread: layer streams decompress in a helper thread (image/stream.h).
# speed: libarchive, libcrypto, libnftables and libisal (with libxml2, ICU,
# libstdc++, xtables, gmp... behind them) are not linked but dlopen'ed on
# first use (core/lazylib.h): `husk ps` and `husk run` never map them. The
# sonames come from the -dev packages' .so links, so headers and library agree.
LAZY_LIBS := archive:ARCHIVE crypto:CRYPTO nftables:NFT isal:ISAL
soname = $(shell objdump -p $$($(CC) -print-file-name=lib$(1).so) 2>/dev/null | awk '/SONAME/{print $$2}')
PKG_CFLAGS += $(foreach l,$(LAZY_LIBS),$(if $(call soname,$(word 1,$(subst :, ,$(l)))),-DHUSK_SONAME_$(word 2,$(subst :, ,$(l)))='"$(call soname,$(word 1,$(subst :, ,$(l))))"'))
# SQLite goes in statically too (Debian's libsqlite3-dev ships the .a): no
# 1.5 MB library to map and ~3000 relocations to apply on each of the
# two or three husk starts of every run (~2 ms each here). startproto: and
# libnettle's SHA-256 (image configs and manifests are hashed on every run;
# opening libnettle.so on first use cost ~0.6 ms of each).
ENGINE_LIBS := -Wl,-Bstatic -ljson-c -lseccomp -lsqlite3 -lnettle -Wl,-Bdynamic -lm -pthread
# initpath: symbols bound at start (and the GOT then read-only), not on first
# call: a container's init is a fork of the runtime (or of the engine's
# monitor) until it execs, and each libc function it called first resolved
# itself in ld.so, faulting in symbol tables and writing the GOT, ~10 page
# faults at ~15-20 us each here, in the init's critical path.
BIN_LDFLAGS := -Wl,-z,relro,-z,now
# Unit tests and fuzzers build their fixtures with these libraries directly.
TEST_LIBS := $(shell pkg-config --libs libarchive libcrypto libnftables libisal nettle 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CFLAGS ?= -O2 -g
# -fms-extensions: engine/monitor.c embeds the loop's state unnamed (monitor-small);
# clang warns about that by default.
MS_EXT := -fms-extensions $(if $(findstring clang,$(CC)),-Wno-microsoft-anon-tag)
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ulinux $(MS_EXT) $(WARN) -Isrc $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)

# libhusk-rt: core + runtime + the runtime CLI. libhusk-engine: images,
# engine and the husk CLI, on top of libhusk-rt.
RT_SRC := $(wildcard src/core/*.c src/runtime/*.c src/cli/runtime-*.c)
ENGINE_SRC := $(filter-out src/cli/main-%.c src/cli/runtime-%.c,$(wildcard src/image/*.c src/engine/*.c src/cli/*.c))
RT_OBJ := $(RT_SRC:%.c=$(O)/%.o) $(O)/tramp-blob.o
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/%.o)
LIB_OBJ := $(RT_OBJ) $(ENGINE_OBJ)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

all: $(O)/husk $(O)/husk-runtime $(O)/husk-monitor $(O)/tests/probe

# V=1 shows whole command lines.
Q := $(if $(V),,@)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The exec trampoline (src/runtime/trampoline/tramp.c): static, no libc, no
# sanitizers, embedded into the runtime as bytes (blob.S).
$(O)/tramp: src/runtime/trampoline/tramp.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TRAMP   $@")
	$(Q)gcc -Os -nostdlib -static -fno-stack-protector -fno-asynchronous-unwind-tables \
	  -ffreestanding -fno-builtin -fno-pie -no-pie -Wl,--build-id=none -Wl,-z,noseparate-code -s -Wall -Wextra -Werror -o $@ $<

$(O)/tramp-blob.o: src/runtime/trampoline/blob.S $(O)/tramp
	$(Q)$(CC) -c -Wa,-I$(O) -o $@ $<

$(O)/libhusk-rt.a: $(RT_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(O)/libhusk-engine.a: $(ENGINE_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(O)/husk: $(O)/src/cli/main-husk.o $(O)/libhusk-engine.a $(O)/libhusk-rt.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ENGINE_LIBS) $(BIN_LDFLAGS) $(EXTRA_LDFLAGS)

$(O)/husk-runtime: $(O)/src/cli/main-runtime.o $(O)/libhusk-rt.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) $(BIN_LDFLAGS) $(EXTRA_LDFLAGS)

# monitor-small: the small monitor a detached container's `husk __monitor`
# execve's into (docs/engine.md "Monitor memory"): only the loop, the log
# sink and the attach frames, linked statically against musl (musl-tools)
# so that it maps no shared library and little libc; with gcc (no musl-gcc)
# against static glibc, twice its RSS. The sanitizer build compiles it with
# $(CC) and links it dynamically (ASan needs that).
MONITOR_CC ?= $(or $(shell command -v musl-gcc 2>/dev/null),$(CC))
MONITOR_STATIC ?= -static
MONITOR_SRC := src/cli/main-monitor.c src/engine/monloop.c src/engine/logsink.c \
  src/engine/attach.c src/core/util.c src/core/error.c
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(O)/monitor/%.o)
$(O)/monitor/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (husk-monitor)")
	$(Q)$(MONITOR_CC) -std=gnu11 -D_GNU_SOURCE -Isrc $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP -c $< -o $@
$(O)/husk-monitor: $(MONITOR_OBJ)
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(MONITOR_CC) $(CFLAGS) $(MONITOR_STATIC) -o $@ $^ $(EXTRA_LDFLAGS)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(O)/husk $(O)/husk-runtime $(O)/husk-monitor $(DESTDIR)$(PREFIX)/bin/

# The probe runs inside test containers: static, so it needs nothing from the rootfs.
$(O)/tests/probe: tests/helpers/probe.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  PROBE   $@")
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<

$(O)/tests/test-%: tests/unit/test-%.c tests/unit/unit.h $(O)/libhusk-engine.a $(O)/libhusk-rt.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(O)/libhusk-engine.a $(O)/libhusk-rt.a $(ENGINE_LIBS) $(TEST_LIBS) $(EXTRA_LDFLAGS)

unit: $(UNIT_BIN)

asan:
	$(MAKE) O=build-asan CC=gcc MONITOR_CC=gcc MONITOR_STATIC= \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit

check: all unit
	tests/run-all.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan

.PHONY: all unit asan check format clean install
-include $(LIB_OBJ:.o=.d) $(MONITOR_OBJ:.o=.d)

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
	$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libhusk-engine.a $(O)/libhusk-rt.a $(ENGINE_LIBS) $(TEST_LIBS) $(EXTRA_LDFLAGS)

.PHONY: fuzz fuzz-bins
