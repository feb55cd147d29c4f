# hugewalk: GNU make.  `make run` and `make check` are the two commands.
#
# Builds go to build/<variant>/:
#   real   the library and the hugewalk command, optimised (-O2)
#   test   the same sources with -Werror, ASan and UBSan, plus the tests
#   explore  the race explorer: src/mm against src/sync/explore (tasks as
#          coroutines, every primitive a scheduling point), -DHW_EXPLORE;
#          builds build/explore/hugewalk-race and the tests/explore*.c
# SAN=thread gives a ThreadSanitizer build in build/tsan (make tsan-check).

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
PROVE	?= prove

URCU_CFLAGS := $(shell pkg-config --cflags liburcu-memb 2>/dev/null)
URCU_LIBS   := $(shell pkg-config --libs liburcu-memb 2>/dev/null)

WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wno-unused-parameter -Wvla
BASE	:= -std=gnu11 -g -pthread -Iinclude -Isrc $(URCU_CFLAGS) \
	   -D_GNU_SOURCE $(WARN)
LDLIBS	:= $(URCU_LIBS) -pthread

LIB_SRCS := $(wildcard src/sync/*.c) $(wildcard src/mm/*.c)
CLI_SRCS := $(filter-out src/cli/main.c,$(wildcard src/cli/*.c))
TEST_SRCS := $(wildcard tests/*.c)
# tests/explore*.c test the race explorer: built against build/explore.
EXPLORE_TESTS := $(wildcard tests/explore*.c)
TESTS	:= $(filter-out tests/tap.c $(EXPLORE_TESTS),$(TEST_SRCS))
# tests/*.c other than tap.c are test programs, each linked with tap.o
BENCH_SRCS := $(wildcard bench/*.c)
EXAMPLES := $(sort $(wildcard examples/*.hw))

real_CFLAGS := $(BASE) -O2 $(if $(CI),-Werror)
test_CFLAGS := $(BASE) -O1 -Werror -DHW_TEST -fno-omit-frame-pointer \
	       -fsanitize=address,undefined -fno-sanitize-recover=undefined
test_LDFLAGS := -fsanitize=address,undefined
tsan_CFLAGS := $(BASE) -O1 -DHW_TEST -fsanitize=thread
tsan_LDFLAGS := -fsanitize=thread
explore_CFLAGS := $(BASE) -O2 -DHW_EXPLORE $(if $(CI),-Werror)

# V=1 shows the commands; by default one line per step, kernel style.
ifeq ($(V),1)
Q_CC :=
Q_LD :=
Q_AR :=
else
Q_CC = @echo "  CC      $@";
Q_LD = @echo "  LD      $@";
Q_AR = @echo "  AR      $@";
endif

objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all deps run check tsan-check bench race clean install uninstall
all: deps
	@$(MAKE) --no-print-directory hugewalk

deps:
	@./scripts/ensure-deps.sh

# ---- the variants -------------------------------------------------------

define variant
build/$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(Q_CC)$$(CC) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@

build/$(1)/libhugewalk.a: $(call objs,$(1),$(LIB_SRCS))
	@rm -f $$@
	$$(Q_AR)$$(AR) rcs $$@ $$^

build/$(1)/libhwcli.a: $(call objs,$(1),$(CLI_SRCS))
	@rm -f $$@
	$$(Q_AR)$$(AR) rcs $$@ $$^

build/$(1)/hugewalk: build/$(1)/src/cli/main.o build/$(1)/libhwcli.a build/$(1)/libhugewalk.a
	$$(Q_LD)$$(CC) $$($(1)_LDFLAGS) -o $$@ $$^ $$(LDLIBS)

build/$(1)/tests/%.t: build/$(1)/tests/%.o build/$(1)/tests/tap.o build/$(1)/libhwcli.a build/$(1)/libhugewalk.a
	$$(Q_LD)$$(CC) $$($(1)_LDFLAGS) -o $$@ $$^ $$(LDLIBS)

endef
$(foreach v,real test tsan,$(eval $(call variant,$(v))))
-include $(shell find build -name '*.d' 2>/dev/null)

# `hugewalk race` execs build/explore/hugewalk-race: build both.
hugewalk: build/real/hugewalk build/explore/hugewalk-race
	cp $< $@

# ---- the explore variant ------------------------------------------------
# The same src/mm, its heap in the explorer's arena (alloc.h forced in),
# against src/sync/explore instead of src/sync/{lock,rcu,task,wait}.c;
# no sanitizers: the tasks switch stacks by hand.

EXPLORE_LIB_SRCS := src/sync/lockdep.c $(wildcard src/sync/explore/*.c) \
		    $(wildcard src/mm/*.c)
CHECK_SRCS := $(filter-out src/check/main.c,$(wildcard src/check/*.c))
EXPLORE_TEST_BINS = $(patsubst tests/%.c,build/explore/tests/%.t,$(EXPLORE_TESTS))

build/explore/src/mm/%.o: src/mm/%.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(explore_CFLAGS) -include sync/explore/alloc.h -MMD -MP -c $< -o $@

build/explore/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(explore_CFLAGS) -MMD -MP -c $< -o $@

build/explore/libhugewalk.a: $(call objs,explore,$(EXPLORE_LIB_SRCS))
	@rm -f $@
	$(Q_AR)$(AR) rcs $@ $^

# The scenario language, for `hugewalk race --scenario`: the parser on the
# explorer's own heap (a parsed file outlives every arena reset); the
# executor's halves that run inside schedules, and the model backend, with
# their heap in the arena like src/mm (a schedule's allocations roll back
# with it).  Not scenario_run.c or scenario_bg.c: their threads are
# replaced by the explorer's tasks (src/check/scenario.c).
SCEN_PARSE_SRCS := src/cli/scenario_parse.c src/cli/scenario_lex.c \
		   src/cli/scenario_args.c
SCEN_RUN_SRCS := src/cli/scenario_exec.c src/cli/scenario_check.c \
		 src/cli/backend_model.c

$(call objs,explore,$(SCEN_RUN_SRCS)): build/explore/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(explore_CFLAGS) -include sync/explore/alloc.h -MMD -MP -c $< -o $@

build/explore/libhwcheck.a: $(call objs,explore,$(CHECK_SRCS) $(SCEN_PARSE_SRCS) $(SCEN_RUN_SRCS))
	@rm -f $@
	$(Q_AR)$(AR) rcs $@ $^

build/explore/hugewalk-race: build/explore/src/check/main.o build/explore/libhwcheck.a build/explore/libhugewalk.a
	$(Q_LD)$(CC) -o $@ $^ -pthread

build/explore/tests/%.t: build/explore/tests/%.o build/explore/tests/tap.o build/explore/libhwcheck.a build/explore/libhugewalk.a
	$(Q_LD)$(CC) -o $@ $^ -pthread

# The race table: every call site under every policy (hugewalk race).
race: build/explore/hugewalk-race
	./build/explore/hugewalk-race

TEST_BINS = $(patsubst tests/%.c,build/test/tests/%.t,$(TESTS))

# ---- the two commands ---------------------------------------------------

# The main job: run every example scenario, with its output.
run: deps
	@$(MAKE) --no-print-directory hugewalk
	./hugewalk run --draw $(EXAMPLES)
	./hugewalk race
	@# The series' reproducer as a scenario: its findings exit 1.
	./hugewalk race --scenario examples/race-reproducer.hw; test $$? -eq 1

# Every test, under ASan and UBSan, as TAP through prove.
check: deps
	@$(MAKE) --no-print-directory $(TEST_BINS) build/test/hugewalk \
		$(EXPLORE_TEST_BINS) build/explore/hugewalk-race \
		build/real/hugewalk
	HW_EXAMPLES="$(EXAMPLES)" HW_BIN=build/test/hugewalk \
		HW_LIVE_BIN=build/real/hugewalk \
		$(PROVE) -f --exec '' $(TEST_BINS) $(EXPLORE_TEST_BINS) \
		tests/examples.sh tests/live.sh

tsan-check: deps
	@$(MAKE) --no-print-directory $(patsubst tests/%.c,build/tsan/tests/%.t,$(TESTS))
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1" \
		$(PROVE) -f --exec '' $(patsubst tests/%.c,build/tsan/tests/%.t,$(TESTS))

bench: deps
	@$(MAKE) --no-print-directory build/real/libhugewalk.a $(patsubst bench/%.c,build/real/bench/%,$(BENCH_SRCS))
	@for b in $(patsubst bench/%.c,build/real/bench/%,$(BENCH_SRCS)); do $$b || exit 1; done
	@$(MAKE) --no-print-directory build/explore/hugewalk-race
	@echo "race explorer: schedules per second, time to the first finding"
	./build/explore/hugewalk-race --bench --json-out build/bench-race.json

build/real/bench/%: build/real/bench/%.o build/real/libhugewalk.a
	$(Q_LD)$(CC) -o $@ $^ $(LDLIBS)

# Keep objects make would call intermediate.
.SECONDARY:

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include/hugewalk
	install -m 755 hugewalk $(DESTDIR)$(PREFIX)/bin/hugewalk
	install -m 755 build/explore/hugewalk-race $(DESTDIR)$(PREFIX)/bin/
	install -m 644 build/real/libhugewalk.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/hugewalk/*.h $(DESTDIR)$(PREFIX)/include/hugewalk/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/hugewalk $(DESTDIR)$(PREFIX)/lib/libhugewalk.a \
		$(DESTDIR)$(PREFIX)/bin/hugewalk-race
	rm -rf $(DESTDIR)$(PREFIX)/include/hugewalk

clean:
	rm -rf build hugewalk
