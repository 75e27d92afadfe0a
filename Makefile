# loopstall — build, demo and tests. All output goes under build/.
# `make V=1` shows the commands.

OUT      := build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
UNISTD   ?= $(firstword $(wildcard /usr/include/$(shell uname -m)-linux-gnu/asm/unistd_64.h /usr/include/asm/unistd_64.h))

CFLAGS   ?= -g -O2
CFLAGS   += -Wall -Werror -std=gnu11 -MMD -MP -I$(OUT) -Ibpf -Iprobe -Ireport -Isymbolizer -Irules
LDLIBS   := -lbpf -ldw -lelf -lz -lyaml
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
.PHONY: all deps demo test unit-test e2e-test layers pythons linetable-fixtures clean

all: $(OUT)/loopstall

# Install build dependencies when something is missing (fast when all is).
$(OUT)/.deps: scripts/setup-deps
	$(call msg,DEPS,setup-deps)
	$(Q)scripts/setup-deps
	$(Q)mkdir -p $(OUT) && touch $@
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

demo: $(OUT)/loopstall
	$(Q)scripts/demo

unit-test: $(UNIT_BINS) linetable-fixtures
	$(Q)scripts/run-unit-tests $(UNIT_BINS)

e2e-test: $(OUT)/loopstall $(E2E_BINS) pythons
	$(Q)/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# The test Pythons (3.13-3.15 chroots, cached outside the checkout) are
# built when missing; tests then cover every interpreter that exists.
pythons:
	$(Q)scripts/setup-pythons >/dev/null || \
		echo "WARNING: scripts/setup-pythons failed: only the Pythons present are tested" >&2

# Dependencies run one way and no includes form a cycle (docs/architecture.md).
layers:
	$(Q)scripts/check-layers

test: layers $(OUT)/loopstall $(E2E_BINS) unit-test
	$(Q)/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

clean:
	$(Q)rm -rf $(OUT)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

# Location-table fixtures from every interpreter `scripts/setup-pythons --list` shows:
# build/fixtures/linetable-<ver>.txt, also checked by build/tests/test_linetable.
linetable-fixtures: scripts/gen-linetable-fixtures pythons
	$(Q)scripts/setup-pythons --list | while read -r ver root py; do \
		printf '  %-8s %s\n' GEN $(OUT)/fixtures/linetable-$$ver.txt; \
		scripts/gen-linetable-fixtures --root "$$root" "$$py" \
			$(OUT)/fixtures/linetable-$$ver.txt || exit 1; \
	done
