/*-------------------------------------------------------------------------
 *
 * views_pool.c
 *		The SQL function behind pgpool_stats_pool_check(): how one
 *		application's instances used a pool configured to a given size and
 *		overflow, and the verdict on it (rules.c, pgps_check_pool).
 *
 * Works on copies of the statistics, streamed a partition at a time, with
 * no lock held while the rows are made.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/tuplestore.h"

#include "pgpool_stats.h"
#include "rules.h"
#include "store.h"

#define POOL_CHECK_COLS		19

/* What the check needs of one key: its copy from the store */
typedef struct PoolCopy
{
	pgpsKey		key;
	int64		window_start_no;
	int64		nonzero_samples;
	int32		peak_total;
	uint32		hist_busy[PGPS_COUNT_BUCKETS];
	uint32		hist_total[PGPS_COUNT_BUCKETS];
} PoolCopy;

typedef struct PoolCheck
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_context;
	bool		see_all;
	char		appname[NAMEDATALEN];
	int			pool_size;
	int			max_overflow;
	pgpsGlobalStats stats;
} PoolCheck;

static void
copy_pool(void *dst, const pgpsEntry *entry)
{
	PoolCopy   *c = (PoolCopy *) dst;

	c->key = entry->key;
	c->window_start_no = entry->activity.window_start_no;
	c->nonzero_samples = entry->activity.nonzero_samples;
	c->peak_total = entry->activity.peak_total;
	memcpy(c->hist_busy, entry->activity.hist_busy, sizeof(c->hist_busy));
	memcpy(c->hist_total, entry->activity.hist_total, sizeof(c->hist_total));
}

/* A percentage of the pool, for a count of connections */
static double
of_pool(double count, int pool_size)
{
	return 100.0 * count / pool_size;
}

/* The share of a key's samples with at least value connections */
static double
share_at_least(const uint32 *hist, uint64 zeros, int64 value)
{
	return pgps_hist_share_at_least32(hist, PGPS_COUNT_SUB_BITS,
									  PGPS_COUNT_MAX_MSB, zeros,
									  (uint64) Max(value, 0));
}

/* One instance's row, if the key is the application's */
static void
pool_emit(const void *copy, void *arg)
{
	const PoolCopy *c = (const PoolCopy *) copy;
	PoolCheck  *pc = (PoolCheck *) arg;
	Datum		values[POOL_CHECK_COLS];
	bool		nulls[POOL_CHECK_COLS];
	MemoryContext old;
	pgpsPoolUse u;
	pgpsAdvice	advice;
	int64		samples;
	uint64		zeros;
	double		interval_s = pgps_sample_interval_ms / 1000.0;
	int			capacity = pc->pool_size + pc->max_overflow;
	int			i = 0;

	if (strcmp(c->key.appname, pc->appname) != 0)
		return;
	/* a key that never connected (only failed) has no pool to check */
	if (c->nonzero_samples == 0 && c->peak_total == 0)
		return;

	samples = pgps_window_samples(c->window_start_no, pc->stats.samples_taken);
	zeros = (uint64) pgps_zero_samples(samples, c->nonzero_samples);

	memset(&u, 0, sizeof(u));
	u.pool_size = pc->pool_size;
	u.max_overflow = pc->max_overflow;
	u.samples = samples;
	u.busy_p50 = Max(pgps_count32_percentile(c->hist_busy, zeros, 0.50, c->peak_total), 0);
	u.busy_p95 = Max(pgps_count32_percentile(c->hist_busy, zeros, 0.95, c->peak_total), 0);
	u.busy_p99 = Max(pgps_count32_percentile(c->hist_busy, zeros, 0.99, c->peak_total), 0);
	u.busy_max = Max(pgps_count32_percentile(c->hist_busy, zeros, 1.0, c->peak_total), 0);
	u.busy_burst = Max(pgps_count32_kth_largest(c->hist_busy, zeros,
												PGPS_BURST_SAMPLES,
												c->peak_total), 0);
	/* more than 85% of the pool busy: at least the next whole connection */
	u.alert_share = share_at_least(c->hist_busy, zeros,
								   (int64) (PGPS_POOL_ALERT * pc->pool_size) + 1);
	u.overflow_share = share_at_least(c->hist_total, zeros,
									  (int64) pc->pool_size + 1);
	u.full_share = share_at_least(c->hist_busy, zeros, capacity);
	u.headroom = pgps_headroom_pct / 100.0;
	u.max_pool = (int) Min(pgps_usable_connections(MaxConnections,
												   PGPS_RESERVED_CONNECTIONS),
						   PGPS_MAX_CONNECTIONS);
	pgps_check_pool(&u, &advice);

	old = MemoryContextSwitchTo(pc->row_context);
	memset(nulls, 0, sizeof(nulls));
	values[i++] = ObjectIdGetDatum(c->key.dbid);
	values[i++] = ObjectIdGetDatum(c->key.userid);
	values[i++] = CStringGetTextDatum(c->key.appname);
	values[i] = pgps_addr_datum(&c->key.addr, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum(samples);
	values[i++] = Int32GetDatum(c->peak_total);
	values[i++] = Float8GetDatum(of_pool(u.busy_p50, pc->pool_size));
	values[i++] = Float8GetDatum(of_pool(u.busy_p95, pc->pool_size));
	values[i++] = Float8GetDatum(of_pool(u.busy_p99, pc->pool_size));
	values[i++] = Float8GetDatum(of_pool(u.busy_max, pc->pool_size));
	values[i++] = Float8GetDatum(u.alert_share);
	values[i++] = BoolGetDatum(c->peak_total > pc->pool_size);
	values[i++] = Float8GetDatum(u.overflow_share);
	values[i++] = Float8GetDatum(u.overflow_share * samples * interval_s);
	values[i++] = Float8GetDatum(u.full_share);
	values[i++] = Float8GetDatum(u.full_share * samples * interval_s);
	values[i++] = CStringGetTextDatum(pgps_verdict_name(advice.verdict));
	values[i] = Int32GetDatum(advice.pool_size);
	nulls[i] = (advice.verdict == PGPS_INSUFFICIENT_DATA);
	i++;
	values[i++] = CStringGetTextDatum(advice.reason);
	Assert(i == POOL_CHECK_COLS);
	/* another role's instance: its names, never its address or a figure */
	if (!pgps_sees_row(pc->see_all, c->key.userid))
		pgps_hide_figures(false, nulls, 3, POOL_CHECK_COLS);
	MemoryContextSwitchTo(old);
	pgps_put_row(pc->rsinfo, pc->row_context, values, nulls);
}

/* An argument that must be given */
static void
require_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/* A count argument: at least min, at most the connections a server has */
static int
pool_arg(FunctionCallInfo fcinfo, int n, const char *name, int min)
{
	int32		value;

	require_arg(fcinfo, n, name);
	value = PG_GETARG_INT32(n);

	if (value < min || value > PGPS_MAX_CONNECTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not %d", name, min,
						PGPS_MAX_CONNECTIONS, value),
				 errhint("Give the pool's size per instance, as the application configures it.")));
	return value;
}

/*
 * pgpool_stats_pool_check_keys(application_name, pool_size, max_overflow):
 * one row per instance (key) of the application, of every database and
 * role; the SQL function pgpool_stats_pool_check filters and names them.
 */
static Datum
pool_check(FunctionCallInfo fcinfo, int api)
{
	PoolCheck	pc;
	char	   *appname;

	pgps_check_loaded();
	require_arg(fcinfo, 0, "application_name");
	appname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pc.pool_size = pool_arg(fcinfo, 1, "pool_size", 1);
	pc.max_overflow = pool_arg(fcinfo, 2, "max_overflow", 0);
	if ((int64) pc.pool_size + pc.max_overflow > PGPS_MAX_CONNECTIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pool_size plus max_overflow must be at most %d, not %lld",
						PGPS_MAX_CONNECTIONS,
						(long long) pc.pool_size + pc.max_overflow)));
	/* a name is compared as the connection path cleans it */
	memset(pc.appname, 0, sizeof(pc.appname));
	pgps_copy_appname(pc.appname, appname);

	pgps_init_srf(fcinfo);
	pc.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgps_check_columns(pc.rsinfo->setDesc, POOL_CHECK_COLS);
	pc.see_all = pgps_sees_all_rows();
	pc.row_context = pgps_row_context();
	pgps_entry_stream(sizeof(PoolCopy), copy_pool, pool_emit, &pc,
					  PGPS_SNAP_CONSISTENT, &pc.stats);
	MemoryContextDelete(pc.row_context);
	return (Datum) 0;
}

PGPS_ENTRY_POINT(pgpool_stats_pool_check_keys, pool_check, 1_3)
