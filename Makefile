# segmilter - a campaign milter and its customer store.
#
#   make            build build/segctl, build/segmilter, build/segfeed
#   make check      unit and integration tests (a private Postfix on
#                   loopback, miltertest), then all again under
#                   AddressSanitizer + UBSan
#   make demo       the main job: a synthetic store, a broadcast through a
#                   private Postfix with segmilter (contrib/demo.sh)
#   make bench      benchmarks; they print figures, they do not pass/fail
#   make fuzz       libFuzzer on the parsers that meet outside input
#                   (tests/fuzz/; needs clang), FUZZ_SECONDS each;
#                   make check runs a slice of each (tests/fuzz/slice)
#   make unit       the unit tests and fuzz corpora alone (no Postfix)
#   make install    PREFIX (default /usr/local) and DESTDIR honoured;
#                   make uninstall takes it back, the configuration kept
#   make compile_commands.json   for clangd and the like
#   make deps       install the Debian packages (contrib/install-deps.sh)

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
EXAMPLEDIR ?= $(PREFIX)/share/segmilter/examples
BUILD	?= build
VERSION	 = 0.1.0

PKGS	 = sqlite3 libpq libconfig libcrypto gmime-3.0 libcurl json-glib-1.0 libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSEGM_VERSION='"$(VERSION)"' \
	     -DSEGM_SYSCONFDIR='"$(SYSCONFDIR)"' $(WARN) -Iinclude \
	     $(PKG_CFLAGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS	 = $(PKG_LIBS) -lm -pthread

ifeq ($(SAN),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
endif
ifeq ($(SAN),fuzz)
SAN_FLAGS = -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
FUZZ_SECONDS ?= 60

# The library: every module but the programs' mains and the libmilter
# glue, so that unit tests reach everything else.
MILTER_SRCS = src/milter/main.c src/milter/mlfi.c
FEED_SRCS = src/feedback/main.c
LIB_SRCS = $(filter-out $(MILTER_SRCS) $(FEED_SRCS), \
	   $(wildcard src/util/*.c src/conf/*.c src/store/*.c src/store/*/*.c \
		src/segment/*.c src/import/*.c src/demo/*.c \
		src/render/*.c src/policy/*.c src/audit/*.c src/daemon/*.c \
		src/milter/*.c \
		src/outbox/*.c src/gateway/*.c src/feedback/*.c \
		src/report/*.c))
CLI_SRCS = $(wildcard src/cli/*.c)
TEST_SRCS = $(wildcard tests/unit/test_*.c)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/pgsql_schema.o
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/%.o)
MILTER_OBJS = $(MILTER_SRCS:%.c=$(BUILD)/%.o)
FEED_OBJS = $(FEED_SRCS:%.c=$(BUILD)/%.o)
TESTS	 = $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_REPLAY = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZERS	 = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%-fuzz)
LIBSEGM	 = $(BUILD)/libsegm.a

all: $(BUILD)/segctl $(BUILD)/segmilter $(BUILD)/segfeed

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The PostgreSQL baseline stays a file that psql can load and a DBA can
# read; the binaries carry it as a string.
$(BUILD)/gen/pgsql_schema.c: src/store/pgsql/schema.sql
	@mkdir -p $(dir $@)
	{ echo '/* made by make from $<: edit that */'; \
	  echo 'extern const char pgsql_schema_baseline[];'; \
	  echo 'const char pgsql_schema_baseline[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

$(LIBSEGM): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/segctl: $(CLI_OBJS) $(LIBSEGM)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIBSEGM) $(LIBS)

# libmilter ships no pkg-config file
$(BUILD)/segmilter: $(MILTER_OBJS) $(LIBSEGM)
	$(CC) $(ALL_LDFLAGS) -o $@ $(MILTER_OBJS) $(LIBSEGM) -lmilter $(LIBS)

# the feedback listener (segfeed(8))
$(BUILD)/segfeed: $(FEED_OBJS) $(LIBSEGM)
	$(CC) $(ALL_LDFLAGS) -o $@ $(FEED_OBJS) $(LIBSEGM) $(LIBS)

$(BUILD)/nullmilter: tests/bench/nullmilter.c $(LIBSEGM)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBSEGM) $(ALL_LDFLAGS) -lmilter $(LIBS)

$(BUILD)/msgbench: tests/bench/msgbench.c $(LIBSEGM)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBSEGM) $(ALL_LDFLAGS) $(LIBS)

# Each test with its header dependencies (a changed header rebuilds it),
# and the store it runs on (tests/unit/tstore.h, naming it with
# tests/fuzz/fstore.h), kept between runs.
FSTORE	 = $(BUILD)/tests/fuzz/fstore.o
.PRECIOUS: $(BUILD)/tests/unit/tstore.o
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/tests/unit/tstore.o $(FSTORE) \
	    $(LIBSEGM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $@.d -Itests/unit -o $@ $< \
	    $(BUILD)/tests/unit/tstore.o $(FSTORE) $(LIBSEGM) $(ALL_LDFLAGS) \
	    $(LIBS) \
	    $(shell pkg-config --libs cmocka)

# A fuzz target replaying its corpus (make check), or driven by libFuzzer;
# the store it runs on from tests/fuzz/fstore.h, kept between runs.
.PRECIOUS: $(FSTORE)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fstore.h \
	    $(FSTORE) $(LIBSEGM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FSTORE) \
	    $(LIBSEGM) $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/fuzz/%-fuzz: tests/fuzz/%.c tests/fuzz/fstore.h $(FSTORE) \
	    $(LIBSEGM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FSTORE) \
	    $(LIBSEGM) $(ALL_LDFLAGS) $(LIBS)

tests: $(TESTS) $(FUZZ_REPLAY) $(BUILD)/segctl $(BUILD)/segmilter \
	    $(BUILD)/segfeed

# libFuzzer builds: clang and SAN=fuzz only, through `make fuzz'
fuzzers: $(FUZZERS)

# Unit and integration tests, then all of them again under ASan + UBSan
# (the integration tests drive the sanitized segmilter and segctl).
check: tests
	BUILD=$(BUILD) tests/run.sh
	$(MAKE) --no-print-directory fuzzers-build
	BUILD=build-fuzz tests/fuzz/explore.sh slice 1
	$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS="-O1 -g" tests
	BUILD=build-asan tests/run.sh

demo: all
	BUILD=$(BUILD) contrib/demo.sh

bench: all $(BUILD)/nullmilter $(BUILD)/msgbench
	BUILD=$(BUILD) tests/bench/run.sh

# New inputs go to build-fuzz/corpus/NAME, never into the source tree;
# one worth keeping (a crash once fixed) is copied to tests/fuzz/corpus.
fuzzers-build:
	@command -v clang >/dev/null || { echo "make fuzz: needs clang" \
	    "(apt-get install clang)"; exit 1; }
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SAN=fuzz \
	    CFLAGS="-O1 -g" fuzzers

fuzz: fuzzers-build
	BUILD=build-fuzz tests/fuzz/explore.sh $(FUZZ_SECONDS)

deps:
	contrib/install-deps.sh

# The units name the programs, and the configuration, where this install
# puts them (the files in systemd/ say /usr/sbin, /usr/bin and /etc).
UNITS	 = segmilter.service segfeed.service segments-rebuild.service \
	   segments-rebuild.timer segmilter-prune.service segmilter-prune.timer \
	   audit-archive.service audit-archive.timer
UNIT_SED = -e 's|/usr/sbin/segmilter|$(SBINDIR)/segmilter|g' \
	   -e 's|/usr/sbin/segfeed|$(SBINDIR)/segfeed|g' \
	   -e 's|/usr/bin/segctl|$(BINDIR)/segctl|g' \
	   -e 's|/etc/segmilter/|$(SYSCONFDIR)/segmilter/|g'
EXAMPLES = conf/campaigns/spring-launch.conf conf/campaigns/cart-rescue.conf \
	   conf/campaigns/coffee-winback.conf \
	   contrib/demo-broadcast.eml

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(EXAMPLEDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/segmilter/campaigns
	install -m 755 $(BUILD)/segctl $(DESTDIR)$(BINDIR)/segctl
	install -m 755 $(BUILD)/segmilter $(DESTDIR)$(SBINDIR)/segmilter
	install -m 755 $(BUILD)/segfeed $(DESTDIR)$(SBINDIR)/segfeed
	install -m 644 src/cli/segctl.1 $(DESTDIR)$(MANDIR)/man1/segctl.1
	install -m 644 src/conf/segmilter.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/segmilter.conf.5
	install -m 644 src/milter/segmilter.8 \
	    $(DESTDIR)$(MANDIR)/man8/segmilter.8
	install -m 644 src/feedback/segfeed.8 \
	    $(DESTDIR)$(MANDIR)/man8/segfeed.8
	for u in $(UNITS); do \
		sed $(UNIT_SED) systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 $(EXAMPLES) $(DESTDIR)$(EXAMPLEDIR)/
	install -m 644 contrib/nginx/segfeed.conf \
	    $(DESTDIR)$(EXAMPLEDIR)/nginx-segfeed.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/segmilter/unsubscribe.html || \
	    install -m 644 conf/unsubscribe.html \
	    $(DESTDIR)$(SYSCONFDIR)/segmilter/unsubscribe.html
	test -e $(DESTDIR)$(SYSCONFDIR)/segmilter/segmilter.conf || \
	    install -m 644 conf/segmilter.conf \
	    $(DESTDIR)$(SYSCONFDIR)/segmilter/segmilter.conf

# What install put there, but the configuration (edited, perhaps) and
# the store: those are the operator's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/segctl $(DESTDIR)$(SBINDIR)/segmilter \
	    $(DESTDIR)$(SBINDIR)/segfeed $(DESTDIR)$(MANDIR)/man1/segctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/segmilter.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/segmilter.8 \
	    $(DESTDIR)$(MANDIR)/man8/segfeed.8 \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(addprefix $(DESTDIR)$(EXAMPLEDIR)/,$(notdir $(EXAMPLES))) \
	    $(DESTDIR)$(EXAMPLEDIR)/nginx-segfeed.conf
	-rmdir $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(PREFIX)/share/segmilter

# The unit tests and the fuzz corpora alone: a minute, no Postfix.
unit: tests
	BUILD=$(BUILD) tests/run.sh --unit-only

# For clangd and other tools: each source file's compile command, as
# the shell would run it, written by make itself (no shell quoting).
CC_JSON	 = $(subst ",\",$(CC) $(ALL_CFLAGS) -Itests/unit)
CC_SRCS	 = $(LIB_SRCS) $(CLI_SRCS) $(MILTER_SRCS) $(FEED_SRCS) $(TEST_SRCS)
compile_commands.json: Makefile
	$(file >$@,[)
	$(foreach f,$(CC_SRCS),$(file >>$@,{"directory": "$(CURDIR)", \
	    "file": "$(f)", "command": "$(CC_JSON) -c $(f)"}$(if \
	    $(filter $(f),$(lastword $(CC_SRCS))),,,)))
	$(file >>$@,])
	@echo "$@: $(words $(CC_SRCS)) files"

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all tests fuzzers fuzzers-build check unit demo bench fuzz deps \
	install uninstall clean

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(MILTER_OBJS:.o=.d) \
    $(FEED_OBJS:.o=.d) $(TESTS:=.d) $(BUILD)/tests/unit/tstore.d \
    $(FSTORE:.o=.d)
