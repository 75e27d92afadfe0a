# loopstall — build, demo and tests. All output goes under build/.
# `make V=1` shows the commands.

OUT      := build
# `make SANITIZE=1 [all|unit-test|test]`: the same, built with ASan and UBSan
# into build/san (docs/reliability.md); a report fails the run.
ifeq ($(SANITIZE),1)
OUT      := build/san
# (gcc's maybe-uninitialized misfires under ASan: the normal build checks it)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-Wno-maybe-uninitialized
# the first report ends the test; leaks too in unit tests, not in e2e's
# loopstall (whose exit codes they check)
SAN_ENV   := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1
UNIT_ENV  := $(SAN_ENV):detect_leaks=1
E2E_ENV   := $(SAN_ENV):detect_leaks=0 LOOPSTALL=$(abspath $(OUT)/loopstall)
endif
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
UNISTD   ?= $(firstword $(wildcard /usr/include/$(shell uname -m)-linux-gnu/asm/unistd_64.h /usr/include/asm/unistd_64.h))

CFLAGS   ?= -g -O2
CFLAGS   += -Wall -Werror -std=gnu11 -MMD -MP -I$(OUT) -Ibpf -Iprobe -Ireport -Isymbolizer -Irules
CFLAGS   += $(SAN_FLAGS)
LDLIBS   := -lbpf -ldw -lelf -lz -lyaml -lm
BPFFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf

PROBE_SRCS := $(wildcard probe/*.c report/*.c symbolizer/*.c rules/*.c)
LIB_SRCS   := $(filter-out probe/main.c,$(PROBE_SRCS))
LIB_OBJS   := $(LIB_SRCS:%.c=$(OUT)/obj/%.o)
MAIN_OBJ   := $(OUT)/obj/probe/main.o
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(OUT)/tests/%)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps demo test san-test valgrind unit-test e2e-test layers pythons linetable-fixtures clean fuzz \
	install uninstall deb

# Build build/loopstall.
all: $(OUT)/loopstall

# Install build dependencies when something is missing (fast when all is).
$(OUT)/.deps: scripts/setup-deps
	$(call msg,DEPS,setup-deps)
	$(Q)scripts/setup-deps
	$(Q)mkdir -p $(OUT) && touch $@
# Install the missing build and test packages now.
deps: $(OUT)/.deps

$(OUT)/vmlinux.h: | $(OUT)/.deps
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/syscall_names.h: scripts/gen-syscalls $(UNISTD) | $(OUT)/.deps
	$(call msg,GEN,$@)
	$(Q)scripts/gen-syscalls $(UNISTD) > $@

# The default rule pack, built into the binary (rules/load.c).
$(OUT)/default_rules.h: rules/default.yaml scripts/embed | $(OUT)/.deps
	$(call msg,GEN,$@)
	$(Q)scripts/embed default_rules_yaml rules/default.yaml > $@

$(OUT)/obj/rules/load.o: $(OUT)/default_rules.h

$(OUT)/loopstall.bpf.o: bpf/loopstall.bpf.c bpf/loopstall.h $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPFFLAGS) -c $< -o $@

$(OUT)/loopstall.skel.h: $(OUT)/loopstall.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name loopstall_bpf > $@

$(OUT)/obj/%.o: %.c | $(OUT)/.deps $(OUT)/loopstall.skel.h $(OUT)/syscall_names.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/loopstall: $(MAIN_OBJ) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUT)/.deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcriterion -o $@

# Helpers the end-to-end tests run (tests/e2e/test_native.py).
E2E_BINS += $(OUT)/tests/native_probe

NATIVE_PROBE_OBJS = $(OUT)/obj/symbolizer/native.o $(OUT)/obj/symbolizer/rootfs.o

$(OUT)/tests/native_probe: tests/native/native_probe.c $(NATIVE_PROBE_OBJS) | $(OUT)/.deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(NATIVE_PROBE_OBJS) $(LDLIBS) -o $@

# Start examples/stally.py and watch it with loopstall.
demo: $(OUT)/loopstall
	$(Q)scripts/demo

# The Criterion tests of tests/unit, and the location-table fixtures they check.
unit-test: $(UNIT_BINS) linetable-fixtures
	$(Q)$(UNIT_ENV) scripts/run-unit-tests $(UNIT_BINS)

# The end-to-end tests of tests/e2e (root: they load BPF programs).
e2e-test: $(OUT)/loopstall $(E2E_BINS) pythons
	$(Q)$(E2E_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# The test Pythons (3.13-3.15 chroots, cached outside the checkout) are
# built when missing; tests then cover every interpreter that exists.
pythons:
	$(Q)scripts/setup-pythons >/dev/null || \
		echo "WARNING: scripts/setup-pythons failed: only the Pythons present are tested" >&2

# Dependencies run one way and no includes form a cycle (docs/architecture.md).
layers:
	$(Q)scripts/check-layers

# Every test: layers, unit, end-to-end; then (CI's run, .ci/run) the unit
# tests and SAN_E2E built with ASan and UBSan, valgrind's runs, and every
# fuzz target for FUZZ_S seconds. `make test SANITIZE=1`: the whole suite sanitized.
test: layers $(OUT)/loopstall $(E2E_BINS) unit-test
	$(Q)$(E2E_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
ifneq ($(SANITIZE),1)
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 san-test
	$(Q)$(MAKE) --no-print-directory valgrind
	$(Q)$(MAKE) --no-print-directory fuzz
endif

# build/loopstall under valgrind: report in every format, a 30 s attach.
valgrind: $(OUT)/loopstall
	$(Q)tests/valgrind/run

# The end-to-end tests run sanitized by `make test`: attach, record,
# report, bad input, faults, and rules of each kind on the host's Python
# (not the churn tests: they measure loopstall's memory, which ASan's
# quarantine of freed blocks makes grow).
SAN_E2E   := tests/e2e/test_detector.py tests/e2e/test_record.py \
	tests/e2e/test_errors.py tests/e2e/test_faults.py tests/e2e/test_rules.py
SAN_E2E_K := (not test_rules and not churn and not code_objects) or sleep-3.11 \
	or http_requests-3.11 or cpu_json-3.11 or gil-3.11 or file_read-3.11 or lock_wait-3.11

san-test: $(OUT)/loopstall unit-test
	$(Q)$(E2E_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider $(SAN_E2E) \
		-k "$(SAN_E2E_K)"

# ---- Fuzzing (tests/fuzz/README.md, docs/reliability.md) ----
# libFuzzer targets tests/fuzz/fuzz_NAME.c, each on one parser, linked with
# report/, rules/, symbolizer/ (and probe/snapshot.c) built with the same
# sanitizers into build/fuzz/obj, apart from the normal build's objects.
FUZZ_OUT   := build/fuzz
FUZZ_S     ?= 30
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Wall -Werror -std=gnu11 -MMD -MP \
	-I$(OUT) -Ibpf -Iprobe -Ireport -Isymbolizer -Irules
FUZZ_SRCS  := $(wildcard report/*.c rules/*.c symbolizer/*.c) probe/snapshot.c
FUZZ_LIB   := $(FUZZ_OUT)/libloopstall.a
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_OUT)/obj/%.o: %.c | $(OUT)/default_rules.h $(OUT)/syscall_names.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_SRCS:%.c=$(FUZZ_OUT)/obj/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(LDLIBS) -o $@

# Build the fuzz targets, replay tests/fuzz/regressions, then run each for
# FUZZ_S seconds (default 30) on a copy of its corpus; fails on a crash.
# The long run: `make fuzz FUZZ_S=3600`.
fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run $(FUZZ_S) $(FUZZ_BINS)

-include $(shell find $(FUZZ_OUT) -name '*.d' 2>/dev/null)

# ---- Installed like a system tool (README.md, "Install") ----
# GNU directory variables: `make install PREFIX=/usr DESTDIR=stage` stages a
# package. The binary goes to bin, as perf's and bpftrace's do, not to sbin
# as bcc's tools and bpftool (root for every command): report and rules need
# no privileges, and Debian's PATH for users has no sbin.
PREFIX      = /usr/local
BINDIR      = $(PREFIX)/bin
MANDIR      = $(PREFIX)/share/man
DOCDIR      = $(PREFIX)/share/doc/loopstall
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
VERSION    := $(shell sed -n 's/.*LOOPSTALL_VERSION "\(.*\)".*/\1/p' probe/version.h)
DOCS       := $(wildcard docs/*.md)
DEB_ARCH   := $(shell dpkg --print-architecture 2>/dev/null)
DEB        := $(OUT)/loopstall_$(VERSION)_$(DEB_ARCH).deb

# The man page, with the version of probe/version.h in its footer.
$(OUT)/loopstall.8: docs/loopstall.8 probe/version.h
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed 's/@VERSION@/$(VERSION)/' $< > $@

# The binary, the man page, bash completion and the docs into $(DESTDIR)$(PREFIX).
install: $(OUT)/loopstall $(OUT)/loopstall.8
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 755 $(OUT)/loopstall $(DESTDIR)$(BINDIR)/loopstall
	$(Q)install -D -m 644 $(OUT)/loopstall.8 $(DESTDIR)$(MANDIR)/man8/loopstall.8
	$(Q)install -D -m 644 scripts/loopstall.bash-completion $(DESTDIR)$(BASHCOMPDIR)/loopstall
	$(Q)install -D -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(Q)install -D -m 644 -t $(DESTDIR)$(DOCDIR)/docs $(DOCS)

# Remove what `make install` put there (give it the same PREFIX and DESTDIR).
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(BINDIR)/loopstall $(DESTDIR)$(MANDIR)/man8/loopstall.8 \
		$(DESTDIR)$(BASHCOMPDIR)/loopstall $(DESTDIR)$(DOCDIR)/README.md \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS))
	$(Q)rmdir $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# build/loopstall_VERSION_ARCH.deb: `make install` into build/deb/root (the
# binary as built above: -o), then packaging/build-deb.
deb: $(DEB)
$(DEB): $(OUT)/loopstall $(OUT)/loopstall.8 scripts/loopstall.bash-completion README.md \
		$(DOCS) $(wildcard packaging/*) Makefile
	$(Q)rm -rf $(OUT)/deb
	$(Q)$(MAKE) --no-print-directory -o $(OUT)/loopstall install \
		DESTDIR=$(OUT)/deb/root PREFIX=/usr
	$(call msg,DEB,$@)
	$(Q)packaging/build-deb $(OUT)/deb $(VERSION) $(DEB_ARCH) $@

# Remove build/, all that the build made.
clean:
	$(Q)rm -rf $(OUT)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

# Location-table fixtures from every interpreter `scripts/setup-pythons --list` shows:
# build/fixtures/linetable-<ver>.txt (where test_linetable reads them, SANITIZE or not).
linetable-fixtures: scripts/gen-linetable-fixtures pythons
	$(Q)scripts/setup-pythons --list | while read -r ver root py; do \
		printf '  %-8s %s\n' GEN build/fixtures/linetable-$$ver.txt; \
		scripts/gen-linetable-fixtures --root "$$root" "$$py" \
			build/fixtures/linetable-$$ver.txt || exit 1; \
	done
