# pgpool_stats: build with PGXS against the PostgreSQL that pg_config names.
MODULE_big = pgpool_stats
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

EXTENSION = pgpool_stats
DATA = $(wildcard sql/pgpool_stats--*.sql)
PGFILEDESC = "pgpool_stats - connection pool statistics per application"

# -Wextra's unused-parameter check is off: the server's own headers and the
# callback signatures it imposes trip it.  The project's own builds and CI
# make a warning a failure (test/lib.sh sets PGPS_WERROR=-Werror); a
# packager's plain "make" with a newer compiler does not.
PGPS_WERROR ?=
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter $(PGPS_WERROR)

# pg_regress starts its own scratch server with the library preloaded:
# --temp-config alone would do nothing, --temp-instance makes it start one.
REGRESS = setup connections activity recommend what_if info upgrade
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/test/regress.conf

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: every object depends on all of ours, since
# they share the layout of shared memory.
$(OBJS): $(wildcard src/*.h)
