/*-------------------------------------------------------------------------
 *
 * views_pool.c
 *		The SQL functions behind pgpool_stats_pool_check(): how one
 *		application's instances used a pool configured to a given size and
 *		overflow, and the verdict on it (rules.c, pgps_check_pool); and
 *		behind pgpool_stats_what_if(): what pools of other sizes would make
 *		its transactions wait (waits.c).
 *
 * Works on copies of the statistics, streamed a partition at a time, with
 * no lock held while the rows are made.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"
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

/* What every function here streams: one application's keys, as rows */
typedef struct AppRows
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_context;
	bool		see_all;
	char		appname[NAMEDATALEN];
	pgpsGlobalStats stats;
} AppRows;

typedef struct PoolCheck
{
	AppRows		rows;
	int			pool_size;
	int			max_overflow;
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

/*
 * Stream every key's copy to emit(copy, arg) as rows of ncols columns, once
 * rows (within arg) is set up: the application's name compared as the
 * connection path cleans it, the result set, who sees what, the statistics
 * the copies agree with
 */
static void
stream_app_rows(FunctionCallInfo fcinfo, AppRows *rows, const char *appname,
				int ncols, Size size, pgpsCopyFn copy, pgpsEmitFn emit,
				void *arg)
{
	memset(rows->appname, 0, sizeof(rows->appname));
	pgps_copy_appname(rows->appname, appname);
	pgps_init_srf(fcinfo);
	rows->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgps_check_columns(rows->rsinfo->setDesc, ncols);
	rows->see_all = pgps_sees_all_rows();
	rows->row_context = pgps_row_context();
	pgps_entry_stream(size, copy, emit, arg, PGPS_SNAP_CONSISTENT, &rows->stats);
	MemoryContextDelete(rows->row_context);
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

	if (strcmp(c->key.appname, pc->rows.appname) != 0)
		return;
	/* a key that never connected (only failed) has no pool to check */
	if (c->nonzero_samples == 0 && c->peak_total == 0)
		return;

	samples = pgps_window_samples(c->window_start_no, pc->rows.stats.samples_taken);
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
	u.max_pool = pgps_max_pool();
	pgps_check_pool(&u, &advice);

	old = MemoryContextSwitchTo(pc->rows.row_context);
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
	if (!pgps_sees_row(pc->rows.see_all, c->key.userid))
		pgps_hide_figures(false, nulls, 3, POOL_CHECK_COLS);
	MemoryContextSwitchTo(old);
	pgps_put_row(pc->rows.rsinfo, pc->rows.row_context, values, nulls);
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
	stream_app_rows(fcinfo, &pc.rows, appname, POOL_CHECK_COLS,
					sizeof(PoolCopy), copy_pool, pool_emit, &pc);
	return (Datum) 0;
}

PGPS_ENTRY_POINT(pgpool_stats_pool_check_keys, pool_check, 1_3)

#define WHAT_IF_COLS		23
/* the most pool sizes one call predicts, per instance */
#define WHAT_IF_MAX_SIZES	10000
/* the most times the measured rate a prediction may be asked for */
#define PGPS_MAX_RATE_FACTOR	1000

/* What the prediction needs of one key: its copy from the store */
typedef struct WhatIfCopy
{
	pgpsKey		key;
	int64		connections;
	pgpsLoadCopy load;
} WhatIfCopy;

typedef struct WhatIf
{
	AppRows		rows;
	int			size_from;		/* 0: from the smallest that keeps up */
	int			size_to;		/* 0: to the smallest that meets the target */
	double		target_ms;
	double		rate_factor;	/* the measured rate times this */
	int			max_pool;
	pgpsSpanIndex span;			/* the history, for the busiest span */
} WhatIf;

static void
copy_what_if(void *dst, const pgpsEntry *entry)
{
	WhatIfCopy *c = (WhatIfCopy *) dst;

	c->key = entry->key;
	c->connections = entry->churn.connections;
	pgps_load_copy(&c->load, &entry->churn, &entry->usage, &entry->activity);
}

/* One instance's rows, one per pool size, if the key is the application's */
static void
what_if_emit(const void *copy, void *arg)
{
	const WhatIfCopy *c = (const WhatIfCopy *) copy;
	WhatIf	   *wi = (WhatIf *) arg;
	pgpsLoadFacts facts;
	pgpsLoad	load;
	TimestampTz span_start;
	TimestampTz span_end;
	bool		fitted;
	bool		sees;
	int			smallest = -1;
	int			from;
	int			to;

	if (strcmp(c->key.appname, wi->rows.appname) != 0)
		return;
	/* a key that never connected (only failed) has no pool */
	if (c->connections == 0 && c->load.nonzero_samples == 0)
		return;

	pgps_span_load_facts(&wi->span, &c->key, &c->load, &wi->rows.stats, 0,
						 &facts, &span_start, &span_end);
	fitted = pgps_fit_load(&facts, wi->rate_factor, &load);
	/* another role's instance: one row, its names, never a figure */
	sees = pgps_sees_row(wi->rows.see_all, c->key.userid);
	fitted = fitted && sees;
	if (fitted)
	{
		smallest = pgps_smallest_pool(&load, wi->target_ms, wi->max_pool);
		from = wi->size_from > 0 ? wi->size_from :
			pgps_pool_keeping_up(&load, wi->max_pool);
		to = wi->size_to > 0 ? wi->size_to :
			wi->size_from > 0 ? wi->size_from :
			smallest > 0 ? Max(smallest, from) : from;
	}
	else
		from = to = wi->size_from;	/* one row, with no prediction */

	for (int size = from; size <= to; size++)
	{
		Datum		values[WHAT_IF_COLS];
		bool		nulls[WHAT_IF_COLS];
		MemoryContext old;
		pgpsWait	w;
		int			i = 0;

		CHECK_FOR_INTERRUPTS();
		memset(&w, 0, sizeof(w));
		if (fitted)
			pgps_predict_wait(&load, size, &w);
		old = MemoryContextSwitchTo(wi->rows.row_context);
		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(c->key.dbid);
		values[i++] = ObjectIdGetDatum(c->key.userid);
		values[i++] = CStringGetTextDatum(c->key.appname);
		values[i] = pgps_addr_datum(&c->key.addr, &nulls[i]);
		i++;
		values[i++] = TimestampTzGetDatum(span_start);
		values[i++] = TimestampTzGetDatum(span_end);
		values[i++] = Float8GetDatum(facts.span_s);
		values[i++] = Int64GetDatum(facts.transactions);
		values[i] = Float8GetDatum(load.rate);
		nulls[i++] = load.rate <= 0;
		values[i] = Float8GetDatum(1000 * load.hold_s);
		nulls[i++] = load.hold_s <= 0;
		values[i] = Float8GetDatum(load.hold_scv);
		nulls[i++] = load.hold_s <= 0;
		values[i++] = Float8GetDatum(facts.busy_avg);
		values[i++] = Float8GetDatum(facts.busy_dispersion);
		values[i] = Float8GetDatum(fitted && !isinf(load.shape) ? 1 / load.shape : 0);
		nulls[i++] = !fitted;
		values[i] = Int32GetDatum(size);
		nulls[i++] = size <= 0;
		values[i++] = Float8GetDatum(w.utilization);
		values[i++] = Float8GetDatum(w.wait_share);
		values[i++] = Float8GetDatum(w.wait_avg_ms);
		values[i++] = Float8GetDatum(w.wait_p95_ms);
		values[i++] = Float8GetDatum(w.wait_p99_ms);
		values[i++] = BoolGetDatum(w.wait_p99_ms <= wi->target_ms);
		values[i] = Int32GetDatum(smallest);
		nulls[i++] = smallest < 0;
		values[i++] = Float8GetDatum(wi->target_ms);
		Assert(i == WHAT_IF_COLS);
		/* no model: the size's figures are unknown */
		if (!fitted)
			for (int n = 15; n < 21; n++)
				nulls[n] = true;
		if (!sees)
			pgps_hide_figures(false, nulls, 3, WHAT_IF_COLS);
		MemoryContextSwitchTo(old);
		pgps_put_row(wi->rows.rsinfo, wi->rows.row_context, values, nulls);
	}
}

/* A factor on a measured rate: more than 0, at most PGPS_MAX_RATE_FACTOR */
static void
check_rate_factor(double factor)
{
	if (!(factor > 0 && factor <= PGPS_MAX_RATE_FACTOR))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rate_factor must be more than 0 and at most %d, not %g",
						PGPS_MAX_RATE_FACTOR, factor),
				 errhint("Give how many times the measured rate of transactions to predict for: 3 for three times the traffic.")));
}

/*
 * pgpool_stats_what_if_keys(application_name, pool_size, pool_size_max,
 * wait_target_ms, rate_factor, span): per instance (key) of the
 * application, of every database and role, the predicted waits of each
 * pool size from pool_size to pool_size_max (NULL: pool_size alone; both
 * NULL: from the smallest pool that keeps up to the smallest that meets the
 * target), at rate_factor times the rate measured in its busiest span
 * (NULL: pgpool_stats.busiest_span; 0: its window).  The SQL function
 * pgpool_stats_what_if filters and names them.
 */
static Datum
what_if(FunctionCallInfo fcinfo, int api)
{
	WhatIf		wi;
	char	   *appname;

	pgps_check_loaded();
	require_arg(fcinfo, 0, "application_name");
	appname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	wi.size_from = PG_ARGISNULL(1) ? 0 : pool_arg(fcinfo, 1, "pool_size", 1);
	wi.size_to = PG_ARGISNULL(2) ? 0 : pool_arg(fcinfo, 2, "pool_size_max", 1);
	if (wi.size_to > 0 && wi.size_from == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pool_size_max needs pool_size"),
				 errhint("Give the range's smallest size as pool_size.")));
	if (wi.size_to > 0 && wi.size_to < wi.size_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pool_size_max (%d) must not be less than pool_size (%d)",
						wi.size_to, wi.size_from)));
	if (wi.size_to - wi.size_from >= WHAT_IF_MAX_SIZES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d pool sizes can be predicted at once, not %d",
						WHAT_IF_MAX_SIZES, wi.size_to - wi.size_from + 1)));
	wi.target_ms = PG_ARGISNULL(3) ? pgps_wait_target_ms : PG_GETARG_FLOAT8(3);
	if (!(wi.target_ms >= 0 && wi.target_ms <= PGPS_MAX_WAIT_TARGET_MS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("wait_target_ms must be between 0 and %d, not %g",
						PGPS_MAX_WAIT_TARGET_MS, wi.target_ms),
				 errhint("Give the longest wait for a connection, at the 99th percentile, in milliseconds.")));
	wi.rate_factor = PG_ARGISNULL(4) ? 1 : PG_GETARG_FLOAT8(4);
	check_rate_factor(wi.rate_factor);
	wi.max_pool = pgps_max_pool();
	/* the busiest span of this long (NULL: the setting's; 0: the window) */
	{
		double		us = (double) pgps_busiest_span_s * USECS_PER_SEC;
		char		clean[NAMEDATALEN];

		if (!PG_ARGISNULL(5))
		{
			Interval   *span = PG_GETARG_INTERVAL_P(5);

			us = (double) span->time +
				((double) span->day + (double) span->month * DAYS_PER_MONTH) *
				USECS_PER_DAY;
			if (!(us >= 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("span must not be negative"),
						 errhint("Give the length of history to find the busiest stretch of, as '1 hour', or 0 for the whole window.")));
		}
		/* the application's rows only, its name as its keys hold it */
		memset(clean, 0, sizeof(clean));
		pgps_copy_appname(clean, appname);
		/* longer than any history (an infinite one too): the window's */
		pgps_span_index(&wi.span, (int64) Min(us, 1e18), clean);
	}
	stream_app_rows(fcinfo, &wi.rows, appname, WHAT_IF_COLS,
					sizeof(WhatIfCopy), copy_what_if, what_if_emit, &wi);
	return (Datum) 0;
}

PGPS_ENTRY_POINT(pgpool_stats_what_if_keys, what_if, 1_4)


#define PREDICT_COLS		5
/*
 * The most spread of holds predict_wait() takes: a squared coefficient of
 * variation of 100 (a few transactions a hundred times the others')
 */
#define PGPS_MAX_HOLD_SCV	100

/*
 * pgpool_stats_predict_wait(transactions_per_sec, hold_avg_ms, pool_size,
 * arrival_burstiness, hold_variability): the wait model alone, for given
 * figures (a load measured elsewhere, or planned), as advise() is the
 * rules alone.
 */
static Datum
predict_wait(FunctionCallInfo fcinfo, int api)
{
	pgpsLoad	load;
	pgpsWait	w;
	int			pool_size;
	double		hold_ms = PG_GETARG_FLOAT8(1);
	double		burstiness = PG_GETARG_FLOAT8(3);
	double		variability = PG_GETARG_FLOAT8(4);
	TupleDesc	tupdesc;
	Datum		values[PREDICT_COLS];
	bool		nulls[PREDICT_COLS] = {0};

	pool_size = pool_arg(fcinfo, 2, "pool_size", 1);
	pgps_load_arg(PG_GETARG_FLOAT8(0), hold_ms, burstiness, variability, &load);
	pgps_predict_wait(&load, pool_size, &w);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pgps_check_columns(tupdesc, PREDICT_COLS);
	values[0] = Float8GetDatum(w.utilization);
	values[1] = Float8GetDatum(w.wait_share);
	values[2] = Float8GetDatum(w.wait_avg_ms);
	values[3] = Float8GetDatum(w.wait_p95_ms);
	values[4] = Float8GetDatum(w.wait_p99_ms);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * A load given as arguments (predict_wait(), advise()), checked: a rate of
 * transactions, the mean time each holds its connection, the arrivals'
 * burstiness (Ca^2) and the holds' variability (Cs^2)
 */
void
pgps_load_arg(double rate, double hold_ms, double burstiness,
			  double variability, pgpsLoad *load)
{
	if (!(rate > 0 && isfinite(rate)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transactions_per_sec must be a positive number, not %g",
						rate)));
	if (!(hold_ms > 0 && hold_ms <= PGPS_MAX_WAIT_TARGET_MS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hold_avg_ms must be more than 0 and at most %d, not %g",
						PGPS_MAX_WAIT_TARGET_MS, hold_ms)));
	if (!(burstiness >= 0 && burstiness <= 1 / PGPS_SHAPE_MIN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arrival_burstiness must be between 0 and %g, not %g",
						1 / PGPS_SHAPE_MIN, burstiness),
				 errhint("0 is arrivals at a fixed pace, 1 random ones (Poisson), more bursts.")));
	if (!(variability >= 0 && variability <= PGPS_MAX_HOLD_SCV))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hold_variability must be between 0 and %d, not %g",
						PGPS_MAX_HOLD_SCV, variability),
				 errhint("0 is transactions all as long, 1 as spread as exponential ones, more a long tail.")));
	load->rate = rate;
	load->hold_s = hold_ms / 1000;
	load->hold_scv = variability;
	load->shape = burstiness > 0 ? 1 / burstiness : INFINITY;
}

PGPS_ENTRY_POINT(pgpool_stats_predict_wait, predict_wait, 1_4)