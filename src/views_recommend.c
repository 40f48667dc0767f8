/*-------------------------------------------------------------------------
 *
 * views_recommend.c
 *		SQL functions behind the recommendations: each application's demand
 *		gathered from the statistics of its keys, the server-wide row, and
 *		pgpool_stats_advise() and pgpool_stats_advise_server(), the rules
 *		over given figures.
 *
 * The rules themselves are in rules.c, the figures they read in figures.c.
 * Everything here works on copies of the statistics, with no lock held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pgpool_stats.h"
#include "rules.h"
#include "store.h"

PG_FUNCTION_INFO_V1(pgpool_stats_advise_1_0);
PG_FUNCTION_INFO_V1(pgpool_stats_advise_1_1);
PG_FUNCTION_INFO_V1(pgpool_stats_advise_1_2);
PG_FUNCTION_INFO_V1(pgpool_stats_advise_1_4);
PG_FUNCTION_INFO_V1(pgpool_stats_advise_server_1_1);

/*
 * Columns of each function; 1.1 adds busy_burst to the recommendations,
 * 1.2 pooler and behind_pooler
 */
#define RECOMMENDATION_COLS_1_0	12
#define RECOMMENDATION_COLS_1_1	13
#define RECOMMENDATION_COLS	15
#define SERVER_COLS			8
#define ADVISE_COLS			4
#define ADVISE_SERVER_COLS	5

/* An application: the keys of one (database, role, application_name) */
typedef struct AppKey
{
	Oid			dbid;
	Oid			userid;
	char		appname[NAMEDATALEN];
} AppKey;

/* What the rules need of one key: its copy from the store */
typedef struct KeyPart
{
	AppKey		app;
	pgpsAddr	addr;
	pgpsKey		key;			/* whole, to find its history */
	int64		lent_samples;
	int64		pooled_samples;
	int32		open_connections;
	int32		peak_active;
	int32		peak_total;
	int64		long_iit_samples;
	int64		longest_iit_us;
	int64		connections;
	int64		disconnections;
	uint64		session_total_us;
	uint64		session_max_us;
	uint64		setup_total_us;
	TimestampTz last_seen;
	uint32		hist_total[PGPS_COUNT_BUCKETS];
	uint32		session_hist[PGPS_HIST_BUCKETS];
	pgpsLoadCopy load;			/* its window's start, its busy samples and
								 * its transactions: for the rules, and the
								 * wait model */
} KeyPart;

typedef struct App
{
	AppKey		key;			/* hash key; must be first */
	int			clients;		/* keys: one per client address */
	int64		open_connections;
	int32		peak_active;
	int32		peak_total;
	int64		samples;		/* the longest window of its keys */
	int64		instance_samples;	/* summed over its keys */
	int64		nonzero_samples;
	double		saturated_share;	/* of its most saturated instance */
	double		saturated_open_p50; /* that instance's median open */
	int			saturated_instances;
	int64		long_iit_samples;
	int64		longest_iit_us;
	uint64		hist_busy[PGPS_COUNT_BUCKETS];	/* sums over keys: 64 bits */
	uint64		hist_total[PGPS_COUNT_BUCKETS];
	int64		connections;
	int64		disconnections;
	uint64		session_total_us;
	uint64		session_max_us;
	uint64		setup_total_us;
	TimestampTz first_seen;
	TimestampTz last_seen;
	uint64		session_hist[PGPS_HIST_BUCKETS];
	int64		pooled_samples; /* an application behind a pooler */
	int			pooled_apps;	/* applications seen through it */
	bool		predicted;		/* an instance's load was fitted ... */
	bool		beyond_model;	/* an instance whose transactions are too
								 * short for the model, or that no pool
								 * within the server's slots serves within
								 * the target: the percentiles judge */
	pgpsLoad	load;			/* ... of the one that needs the largest
								 * pool within the wait target ... */
	int			predicted_pool; /* ... this one */
	pgpsDemand	demand;			/* its leak's figures set by find_leaks(),
								 * the rest by build_demand() */
	pgpsAdvice	advice;
} App;

/* The application a key belongs to */
static AppKey
app_key(const pgpsKey *key)
{
	AppKey		app;

	memset(&app, 0, sizeof(app));
	app.dbid = key->dbid;
	app.userid = key->userid;
	memcpy(app.appname, key->appname, NAMEDATALEN);
	return app;
}

/* Copy what the rules need of one entry; under its spinlock */
static void
copy_key_part(void *dst, const pgpsEntry *entry)
{
	KeyPart    *k = (KeyPart *) dst;
	const pgpsActivity *a = &entry->activity;
	const pgpsChurn *c = &entry->churn;

	k->app = app_key(&entry->key);
	k->addr = entry->key.addr;
	memcpy(&k->key, &entry->key, sizeof(pgpsKey));
	k->lent_samples = a->lent_samples;
	k->pooled_samples = a->pooled_samples;
	k->open_connections = c->open_connections;
	k->peak_active = a->peak_active;
	k->peak_total = a->peak_total;
	k->long_iit_samples = a->long_iit_samples;
	k->longest_iit_us = a->longest_iit_us;
	k->connections = c->connections;
	k->disconnections = c->disconnections;
	k->session_total_us = c->session_total_us;
	k->session_max_us = c->session_max_us;
	k->setup_total_us = c->setup_total_us;
	k->last_seen = entry->last_seen;
	pgps_load_copy(&k->load, c, &entry->usage, a);
	memcpy(k->hist_total, a->hist_total, sizeof(k->hist_total));
	memcpy(k->session_hist, c->session_hist, sizeof(k->session_hist));
}

/*
 * The wait model of one key, its instance: the application is judged on
 * the instance that needs the largest pool within the wait target, once it
 * has PGPS_MIN_TIMED timed transactions (fewer: the percentiles judge)
 */
static void
add_key_load(App *app, const KeyPart *k, const pgpsGlobalStats *stats,
			 const pgpsSpanIndex *span, int max_pool)
{
	pgpsLoadFacts facts;
	pgpsLoad	load;
	TimestampTz from;
	TimestampTz to;
	int			smallest;

	if (k->load.timed_transactions < PGPS_MIN_TIMED)
		return;
	/* its busiest hour, or its window (also when the hour has too few) */
	pgps_span_load_facts(span, &k->key, &k->load, stats, PGPS_MIN_TIMED,
						 &facts, &from, &to);
	if (!pgps_fit_load(&facts, 1, &load))
		return;
	smallest = pgps_smallest_pool(&load, pgps_wait_target_ms, max_pool);
	/* no model for any: short transactions (rules.c), or a load beyond it */
	if (smallest <= 0 || 1000 * load.hold_s < PGPS_MODEL_MIN_HOLD_MS)
	{
		app->beyond_model = true;
		return;
	}
	if (app->predicted && smallest <= app->predicted_pool)
		return;
	app->predicted = true;
	app->load = load;
	app->predicted_pool = smallest;
}

/* Add one key's statistics to its application */
static void
add_key(App *app, const KeyPart *k, const pgpsGlobalStats *stats,
		const pgpsSpanIndex *span, int max_pool)
{
	int64		samples = pgps_window_samples(k->load.window_start_no,
											  stats->samples_taken);
	int			b;

	app->clients++;
	app->pooled_samples += k->pooled_samples;
	app->open_connections += k->open_connections;
	app->peak_active = Max(app->peak_active, k->peak_active);
	app->peak_total = Max(app->peak_total, k->peak_total);
	app->samples = Max(app->samples, samples);
	app->instance_samples += samples;
	app->nonzero_samples += k->load.nonzero_samples;
	if (k->load.nonzero_samples >= PGPS_INSTANCE_SAMPLES)
	{
		/* each instance (client address) is judged on its own */
		double		share = (double) k->load.saturated_samples / k->load.nonzero_samples;

		if (pgps_instance_saturated(k->load.saturated_samples, k->load.nonzero_samples))
			app->saturated_instances++;
		if (share > app->saturated_share)
		{
			app->saturated_share = share;
			/* its open connections while connected: no zeros */
			app->saturated_open_p50 = Max(pgps_count32_percentile(k->hist_total, 0,
																  0.5, k->peak_total), 0);
		}
	}
	app->long_iit_samples += k->long_iit_samples;
	app->longest_iit_us = Max(app->longest_iit_us, k->longest_iit_us);
	for (b = 0; b < PGPS_COUNT_BUCKETS; b++)
	{
		app->hist_busy[b] += k->load.hist_busy[b];
		app->hist_total[b] += k->hist_total[b];
	}
	app->connections += k->connections;
	app->disconnections += k->disconnections;
	app->session_total_us += k->session_total_us;
	app->session_max_us = Max(app->session_max_us, k->session_max_us);
	app->setup_total_us += k->setup_total_us;
	if (app->first_seen == 0 || k->load.first_seen < app->first_seen)
		app->first_seen = k->load.first_seen;
	app->last_seen = Max(app->last_seen, k->last_seen);
	for (b = 0; b < PGPS_HIST_BUCKETS; b++)
		app->session_hist[b] += k->session_hist[b];
	add_key_load(app, k, stats, span, max_pool);
}

/* A percentile of one of an application's merged count histograms */
static double
app_count_percentile(const App *app, const uint64 *hist, double fraction)
{
	uint64		zeros = pgps_zero_samples(app->instance_samples,
										  app->nonzero_samples);

	return Max(pgps_count_percentile(hist, zeros, fraction, app->peak_total), 0);
}

/* The inputs of the rules, from an application's statistics */
static void
build_demand(App *app, TimestampTz now, double spare)
{
	pgpsDemand *d = &app->demand;

	d->samples = app->samples;
	d->connections = app->connections;
	d->connects_per_sec = app->connections /
		pgps_rate_seconds(app->first_seen, app->last_seen, app->open_connections,
						  now);
	d->session_p50_ms = pgps_lifetime_ms(app->session_hist,
										 app->session_max_us, 0.5);
	d->setup_share = -1;
	if (app->connections > 0 && app->disconnections > 0 && app->session_total_us > 0)
		d->setup_share = Min(pgps_mean(app->setup_total_us, app->connections) /
							 pgps_mean(app->session_total_us, app->disconnections),
							 1.0);
	d->busy_p50 = app_count_percentile(app, app->hist_busy, 0.50);
	d->busy_p95 = app_count_percentile(app, app->hist_busy, 0.95);
	d->busy_p99 = app_count_percentile(app, app->hist_busy, 0.99);
	d->busy_burst = Max(pgps_hist_kth_largest(app->hist_busy, PGPS_COUNT_SUB_BITS,
											  PGPS_COUNT_MAX_MSB,
											  pgps_zero_samples(app->instance_samples,
																app->nonzero_samples),
											  PGPS_BURST_SAMPLES,
											  (uint64) Max(app->peak_total, 0)), 0);
	d->open_p50 = app_count_percentile(app, app->hist_total, 0.50);
	d->saturated_share = app->saturated_share;
	d->saturated_open_p50 = app->saturated_open_p50;
	d->instances = app->clients;
	d->pooled_apps = app->pooled_apps;
	/* every sample of it came through a pooler: no connection of its own */
	d->behind_pooler = app->pooled_samples > 0 && app->connections == 0 &&
		app->open_connections == 0;
	d->saturated_instances = app->saturated_instances;
	d->spare_connections = spare;
	d->idle_in_transaction_share = Max(pgps_mean(app->long_iit_samples,
												 app->instance_samples), 0);
	d->idle_in_transaction_max_s = app->longest_iit_us / 1e6;
	d->headroom = pgps_headroom_pct / 100.0;
	d->short_session_ms = pgps_short_session_ms;
	d->idle_in_transaction_threshold_ms = pgps_iit_threshold_ms;
	d->predicted = app->predicted && !app->beyond_model;
	d->load = app->load;
	d->predicted_pool = app->predicted_pool;
	d->wait_target_ms = pgps_wait_target_ms;
	d->max_pool = pgps_max_pool();
}

/* A pooler's address: the database, role and client address of its keys */
typedef struct PoolerAddr
{
	Oid			dbid;
	Oid			userid;
	pgpsAddr	addr;
} PoolerAddr;

typedef struct PoolerAddrEntry
{
	PoolerAddr	key;			/* hash key; must be first */
	App		   *pooler;			/* the application whose key lent there */
} PoolerAddrEntry;

/* An application seen behind a pooler, once per pooler */
typedef struct PooledPair
{
	AppKey		pooler;
	char		appname[NAMEDATALEN];
} PooledPair;

static PoolerAddr
pooler_addr(const KeyPart *k)
{
	PoolerAddr	a;

	memset(&a, 0, sizeof(a));
	a.dbid = k->app.dbid;
	a.userid = k->app.userid;
	a.addr = k->addr;
	return a;
}

/*
 * How many applications each pooler serves: the keys that were lent its
 * sessions carry the database, role and client address of a key that lent
 * them, and another name.  An application behind two addresses of one
 * pooler counts once.  Two hashes, each key read twice: linear in keys.
 */
static void
count_pooled_apps(HTAB *apps, const KeyPart *keys, long count)
{
	HTAB	   *addrs = pgps_local_hash("pgpool_stats pooler addresses", 16,
										sizeof(PoolerAddr),
										sizeof(PoolerAddrEntry));
	HTAB	   *pairs = pgps_local_hash("pgpool_stats pooled applications", 16,
										sizeof(PooledPair), sizeof(PooledPair));

	for (long p = 0; p < count; p++)
	{
		PoolerAddr	a;
		PoolerAddrEntry *e;
		bool		found;

		if (keys[p].lent_samples == 0)
			continue;
		a = pooler_addr(&keys[p]);
		e = hash_search(addrs, &a, HASH_ENTER, &found);
		if (!found)
			e->pooler = hash_search(apps, &keys[p].app, HASH_FIND, NULL);
	}
	for (long k = 0; k < count; k++)
	{
		PoolerAddr	a;
		PoolerAddrEntry *e;
		PooledPair	pair;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (keys[k].pooled_samples == 0)
			continue;
		a = pooler_addr(&keys[k]);
		e = hash_search(addrs, &a, HASH_FIND, NULL);
		if (e == NULL || e->pooler == NULL ||
			strcmp(e->pooler->key.appname, keys[k].app.appname) == 0)
			continue;
		memset(&pair, 0, sizeof(pair));
		pair.pooler = e->pooler->key;
		strlcpy(pair.appname, keys[k].app.appname, NAMEDATALEN);
		(void) hash_search(pairs, &pair, HASH_ENTER, &found);
		if (!found)
			e->pooler->pooled_apps++;
	}
	hash_destroy(addrs);
	hash_destroy(pairs);
}

/*
 * Find the instances that leak now (pgps_instance_leaking): connections
 * left behind, and the instance's open connections grown since the oldest
 * of them went idle, as the history recorded them.
 */
static void
find_leaks(HTAB *apps, TimestampTz now)
{
	int			count;
	pgpsLeftBehind *lbs = pgps_left_behind((int64) pgps_leak_threshold_ms * 1000,
										   &count);

	for (int i = 0; i < count; i++)
	{
		const pgpsLeftBehind *lb = &lbs[i];
		AppKey		key;
		App		   *app;
		pgpsDemand *d;
		int32		before;

		if (lb->sessions < PGPS_LEAK_MIN_SESSIONS)
			continue;
		before = pgps_history_open_before(&lb->key, lb->oldest_idle_since);
		if (!pgps_instance_leaking(lb->sessions, before, lb->open))
			continue;
		key = app_key(&lb->key);
		app = hash_search(apps, &key, HASH_FIND, NULL);
		if (app == NULL)
			continue;			/* a key made since the walk */
		/* the instance with the most connections left behind */
		d = &app->demand;
		if (lb->sessions <= d->leaked_connections)
			continue;
		d->leaked_connections = lb->sessions;
		d->leaked_in_transaction = lb->in_transaction;
		d->leaked_idle_max_s = (now - lb->oldest_idle_since) / 1e6;
		d->leak_open_before = before;
		d->leak_open_now = lb->open;
	}
	pfree(lbs);
}

/*
 * Every application with its demand and advice, in a hash table of the
 * current memory context.  *stats gets the global statistics the figures
 * go with.
 */
/* What the keys' copies are gathered into, a partition at a time */
typedef struct GatherEmit
{
	HTAB	   *apps;
	const pgpsGlobalStats *stats;	/* filled before the first copy */
	KeyPart    *pooled;			/* the keys a pooler lent or was lent
								 * through, for count_pooled_apps */
	long		npooled;
	long		room;
	int			max_pool;		/* the most a pool may be advised */
	pgpsSpanIndex span;			/* the history, for each key's busiest hour */
} GatherEmit;

static void
gather_emit(const void *copy, void *arg)
{
	GatherEmit *ge = (GatherEmit *) arg;
	const KeyPart *k = (const KeyPart *) copy;
	App		   *app;
	bool		found;

	app = hash_search(ge->apps, &k->app, HASH_ENTER, &found);
	if (!found)
		memset((char *) app + sizeof(AppKey), 0, sizeof(App) - sizeof(AppKey));
	add_key(app, k, ge->stats, &ge->span, ge->max_pool);
	if (k->lent_samples == 0 && k->pooled_samples == 0)
		return;
	if (ge->npooled == ge->room)
	{
		ge->room = Max(ge->room * 2, 16);
		ge->pooled = ge->pooled == NULL
			? palloc(ge->room * sizeof(KeyPart))
			: repalloc_huge(ge->pooled, ge->room * sizeof(KeyPart));
	}
	ge->pooled[ge->npooled++] = *k;
}

static HTAB *
gather_apps(pgpsGlobalStats *stats)
{
	GatherEmit	ge;
	HTAB	   *apps;
	HASH_SEQ_STATUS status;
	App		   *app;
	TimestampTz now = GetCurrentTimestamp();
	int64		open_total = 0;
	double		spare;
	MemoryContext span_context;
	MemoryContext old;

	/*
	 * One entry per application, and a copy of only the keys of poolers:
	 * what it takes is bounded by what it returns, not by the table, but
	 * for the copy of the history it reads while the keys stream (as
	 * pgpool_stats_history does), freed after.
	 */
	memset(&ge, 0, sizeof(ge));
	ge.apps = pgps_local_hash("pgpool_stats applications", 64, sizeof(AppKey),
							  sizeof(App));
	ge.stats = stats;
	ge.max_pool = pgps_max_pool();
	/* the history, for each key's busiest hour: a copy, gone once read */
	span_context = AllocSetContextCreate(CurrentMemoryContext,
										 "pgpool_stats busiest spans",
										 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(span_context);
	pgps_span_index(&ge.span, (int64) pgps_busiest_span_s * USECS_PER_SEC, NULL);
	MemoryContextSwitchTo(old);
	pgps_entry_stream(sizeof(KeyPart), copy_key_part, gather_emit, &ge,
					  PGPS_SNAP_CONSISTENT, stats);
	MemoryContextDelete(span_context);
	apps = ge.apps;
	count_pooled_apps(apps, ge.pooled, ge.npooled);
	if (ge.pooled)
		pfree(ge.pooled);

	/* the server's free slots now, within which a full pool may grow */
	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
		open_total += app->open_connections;
	/* sessions that got no key (the table was full) hold slots too */
	spare = Max(pgps_usable_connections(MaxConnections, PGPS_RESERVED_CONNECTIONS) -
				open_total - pgps_unkeyed_sessions(), 0);

	find_leaks(apps, now);
	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
	{
		build_demand(app, now, spare);
		pgps_advise(&app->demand, &app->advice);
	}
	return apps;
}

/*
 * Pool-sizing recommendations, one row per application, with the columns
 * of the calling SQL's version (1.1 adds busy_burst)
 */
static Datum
recommendations(FunctionCallInfo fcinfo, int api)
{
	bool		api_1_1 = (api >= PGPS_API_1_1);
	bool		api_1_2 = (api >= PGPS_API_1_2);
	int			ncols = api_1_2 ? RECOMMENDATION_COLS :
		api_1_1 ? RECOMMENDATION_COLS_1_1 : RECOMMENDATION_COLS_1_0;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgpsGlobalStats stats;
	HTAB	   *apps;
	HASH_SEQ_STATUS status;
	App		   *app;
	bool		see_all;
	MemoryContext row_context;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	pgps_check_columns(rsinfo->setDesc, ncols);
	see_all = pgps_sees_all_rows();
	apps = gather_apps(&stats);
	row_context = pgps_row_context();

	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
	{
		Datum		values[RECOMMENDATION_COLS];
		bool		nulls[RECOMMENDATION_COLS];
		int			i = 0;
		MemoryContext old = MemoryContextSwitchTo(row_context);

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(app->key.dbid);
		values[i++] = ObjectIdGetDatum(app->key.userid);
		values[i++] = CStringGetTextDatum(app->key.appname);
		values[i++] = Int32GetDatum(app->clients);
		values[i++] = Int64GetDatum(app->open_connections);
		values[i++] = Int32GetDatum(app->peak_active);
		values[i++] = Float8GetDatum(app->demand.busy_p95);
		values[i++] = Float8GetDatum(app->demand.busy_p99);
		if (api_1_1)
			values[i++] = Float8GetDatum(app->demand.busy_burst);
		values[i++] = Int32GetDatum(app->advice.pool_size);
		values[i++] = Int32GetDatum(app->advice.min_idle);
		values[i++] = CStringGetTextDatum(pgps_verdict_name(app->advice.verdict));
		values[i++] = CStringGetTextDatum(app->advice.reason);
		if (api_1_2)
		{
			values[i++] = BoolGetDatum(app->demand.pooled_apps > 0);
			values[i++] = BoolGetDatum(app->demand.behind_pooler);
		}
		Assert(i == ncols);
		pgps_hide_figures(pgps_sees_row(see_all, app->key.userid), nulls, 3, ncols);
		MemoryContextSwitchTo(old);
		pgps_put_row(rsinfo, row_context, values, nulls);
	}
	MemoryContextDelete(row_context);
	return (Datum) 0;
}

PGPS_ENTRY_POINTS_1_0_1_2(pgpool_stats_recommendations, recommendations)

/* The composite result type of a function returning one row */
static TupleDesc
row_type(FunctionCallInfo fcinfo, int cols)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pgps_check_columns(tupdesc, cols);
	return tupdesc;
}

/*
 * The server as a whole: client connections against max_connections less
 * the reserved slots, and the sum of what the applications need.
 */
static Datum
server(FunctionCallInfo fcinfo, int api)
{
	TupleDesc	tupdesc;
	pgpsGlobalStats stats;
	HTAB	   *apps;
	HASH_SEQ_STATUS status;
	App		   *app;
	pgpsServerDemand s;
	pgpsServerAdvice advice;
	Datum		values[SERVER_COLS];
	bool		nulls[SERVER_COLS];
	int			i = 0;

	pgps_check_loaded();
	tupdesc = row_type(fcinfo, SERVER_COLS);
	apps = gather_apps(&stats);

	memset(&s, 0, sizeof(s));
	s.max_connections = MaxConnections;
	s.reserved_connections = PGPS_RESERVED_CONNECTIONS;
	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
		pgps_server_add_app(&s, &app->demand, &app->advice, app->clients,
							app->open_connections);
	/* sessions that got no key (the table was full) hold slots too */
	s.client_connections += pgps_unkeyed_sessions();
	s.client_connections_max = stats.peak_sessions;
	pgps_advise_server(&s, &advice);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int32GetDatum(s.max_connections);
	values[i++] = Int32GetDatum(s.reserved_connections);
	values[i++] = Int64GetDatum(s.client_connections);
	values[i++] = Int32GetDatum((int32) advice.peak);
	values[i++] = Int64GetDatum(advice.spare_connections);
	values[i++] = Int64GetDatum(s.recommended_total);
	values[i++] = CStringGetTextDatum(pgps_verdict_name(advice.verdict));
	values[i++] = CStringGetTextDatum(advice.reason);
	Assert(i == SERVER_COLS);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_server, server)

/* A share argument: NULL gives the default, else it must be in [0, 1] */
static double
share_arg(FunctionCallInfo fcinfo, int n, const char *name, double dflt)
{
	double		v;

	if (PG_ARGISNULL(n))
		return dflt;
	v = PG_GETARG_FLOAT8(n);
	if (!(v >= 0 && v <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1, not %g", name, v),
				 errhint("Give shares as fractions: 0.25 for 25%%.")));
	return v;
}

/*
 * A non-negative argument up to max: NULL gives the default.  Counts of
 * connections cannot pass the server's limit on backends; the bound also
 * keeps the pool sizes computed from them within an int.
 */
static double
amount_arg(FunctionCallInfo fcinfo, int n, const char *name, double dflt,
		   double max)
{
	double		v;

	if (PG_ARGISNULL(n))
		return dflt;
	v = PG_GETARG_FLOAT8(n);
	if (!(v >= 0) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number of at least 0, not %g", name, v)));
	if (v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most %g, not %g", name, max, v)));
	return v;
}

/*
 * A count argument, integer or bigint: NULL gives dflt,
 * else it must be from 0 to max.
 */
static int64
count_arg(FunctionCallInfo fcinfo, int n, const char *name, bool is_int32,
		  int64 dflt, int64 max)
{
	int64		v;

	if (PG_ARGISNULL(n))
		return dflt;
	v = is_int32 ? PG_GETARG_INT32(n) : PG_GETARG_INT64(n);
	if (v < 0 || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and " INT64_FORMAT ", not " INT64_FORMAT,
						name, max, v)));
	return v;
}

/*
 * The rules over given figures (arguments in the order of pgpsDemand; NULL
 * takes the default): to try what-ifs, and to test every rule on its
 * boundaries.  The argument names of the install script's version go into
 * the messages.
 */
static Datum
advise(FunctionCallInfo fcinfo, const char *const *names, int nargs)
{
	TupleDesc	tupdesc;
	Datum		values[ADVISE_COLS];
	bool		nulls[ADVISE_COLS];
	pgpsDemand	d;
	pgpsAdvice	advice;

	/* its defaults are the settings, which exist only when preloaded */
	pgps_check_loaded();
	tupdesc = row_type(fcinfo, ADVISE_COLS);
	if (PG_NARGS() != nargs)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("pgpool_stats_advise() is declared with %d arguments, but its C function takes %d",
						PG_NARGS(), nargs),
				 errhint("Update the extension: ALTER EXTENSION pgpool_stats UPDATE.")));

	memset(&d, 0, sizeof(d));
	d.samples = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	if (d.samples < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("samples must be at least 0, not " INT64_FORMAT, d.samples)));
	d.connects_per_sec = amount_arg(fcinfo, 1, names[1], 0, DBL_MAX);
	/* unless given (1.1), enough connections for a rate to mean something */
	d.connections = PGPS_NO_POOLING_MIN;
	d.session_p50_ms = PG_ARGISNULL(2) ? -1 :
		amount_arg(fcinfo, 2, names[2], 0, DBL_MAX);
	d.setup_share = PG_ARGISNULL(3) ? -1 : share_arg(fcinfo, 3, names[3], 0);
	d.busy_p50 = amount_arg(fcinfo, 4, names[4], 0, PGPS_MAX_CONNECTIONS);
	d.busy_p95 = amount_arg(fcinfo, 5, names[5], 0, PGPS_MAX_CONNECTIONS);
	d.busy_p99 = amount_arg(fcinfo, 6, names[6], 0, PGPS_MAX_CONNECTIONS);
	d.open_p50 = amount_arg(fcinfo, 7, names[7], 0, PGPS_MAX_CONNECTIONS);
	d.saturated_share = share_arg(fcinfo, 8, names[8], 0);
	d.idle_in_transaction_share = share_arg(fcinfo, 9, names[9], 0);
	d.idle_in_transaction_max_s = amount_arg(fcinfo, 10, names[10], 0, DBL_MAX);
	d.headroom = amount_arg(fcinfo, 11, names[11], pgps_headroom_pct,
							PGPS_MAX_HEADROOM_PCT) / 100.0;
	d.short_session_ms = amount_arg(fcinfo, 12, names[12],
									pgps_short_session_ms, DBL_MAX);
	d.idle_in_transaction_threshold_ms = pgps_iit_threshold_ms;

	/* 1.1's figures of instances and of the server's room; 1.0 has none */
	d.instances = 1;
	d.saturated_instances = d.saturated_share > PGPS_SATURATED_SHARE ? 1 : 0;
	d.saturated_open_p50 = d.open_p50;
	d.spare_connections = -1;
	if (PG_NARGS() > 13)
	{
		d.instances = (int) count_arg(fcinfo, 13, "instances", true, 1,
									  PGPS_MAX_CONNECTIONS);
		if (d.instances < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("instances must be at least 1, not %d", d.instances)));
		d.saturated_instances = (int) count_arg(fcinfo, 14, "saturated_instances",
												true, d.saturated_instances,
												d.instances);
		d.saturated_open_p50 = amount_arg(fcinfo, 15, "saturated_open_p50",
										  d.open_p50, PGPS_MAX_CONNECTIONS);
		d.spare_connections = count_arg(fcinfo, 16, "spare_connections", false,
										-1, PGPS_MAX_CONNECTIONS);
		d.busy_burst = amount_arg(fcinfo, 17, "busy_burst", 0,
								  PGPS_MAX_CONNECTIONS);
		d.connections = count_arg(fcinfo, 18, "connections", false,
								  PGPS_NO_POOLING_MIN, PG_INT64_MAX);
	}
	/* 1.2's figures of a leak; before it, none */
	if (PG_NARGS() > 19)
	{
		d.leaked_connections = (int) count_arg(fcinfo, 19, "leaked_connections",
											   true, 0, PGPS_MAX_CONNECTIONS);
		d.leaked_in_transaction = (int) count_arg(fcinfo, 20,
												  "leaked_in_transaction", true,
												  0, d.leaked_connections);
		d.leaked_idle_max_s = amount_arg(fcinfo, 21, "leaked_idle_max_s", 0,
										 DBL_MAX);
		d.leak_open_before = (int) count_arg(fcinfo, 22, "leak_open_before",
											 true, 0, PGPS_MAX_CONNECTIONS);
		d.leak_open_now = (int) count_arg(fcinfo, 23, "leak_open_now", true,
										  d.leaked_connections,
										  PGPS_MAX_CONNECTIONS);
		if (d.leak_open_now < d.leaked_connections)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("leak_open_now must be at least leaked_connections: %d < %d",
							d.leak_open_now, d.leaked_connections),
					 errhint("The connections left behind are among those open now.")));
		d.pooled_apps = (int) count_arg(fcinfo, 24, "pooled_apps", true, 0,
										PGPS_MAX_CONNECTIONS);
		d.behind_pooler = PG_ARGISNULL(25) ? false : PG_GETARG_BOOL(25);
		if (d.behind_pooler && d.pooled_apps > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an application behind a pooler cannot be a pooler itself"),
					 errhint("Give pooled_apps for a pooler's row, behind_pooler for an application seen through one.")));
	}
	/*
	 * 1.4's load for the wait model, of the instance that needs the most:
	 * without a rate and a hold, the percentiles alone judge
	 */
	d.wait_target_ms = pgps_wait_target_ms;
	d.max_pool = pgps_max_pool();
	if (PG_NARGS() > 26 && !PG_ARGISNULL(26) && !PG_ARGISNULL(27))
	{
		double		variability = amount_arg(fcinfo, 28, "hold_variability", 1,
											 DBL_MAX);
		double		burstiness = amount_arg(fcinfo, 29, "arrival_burstiness", 1,
											DBL_MAX);

		d.predicted = true;
		pgps_load_arg(PG_GETARG_FLOAT8(26), PG_GETARG_FLOAT8(27), burstiness,
					  variability, &d.load);
		d.wait_target_ms = amount_arg(fcinfo, 30, "wait_target_ms",
									  pgps_wait_target_ms,
									  PGPS_MAX_WAIT_TARGET_MS);
		d.predicted_pool = pgps_smallest_pool(&d.load, d.wait_target_ms,
											  d.max_pool);
	}
	else if (PG_NARGS() > 26 && !(PG_ARGISNULL(26) && PG_ARGISNULL(27)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transactions_per_sec and hold_avg_ms go together"),
				 errhint("Give both for a prediction of waits, or neither for the percentiles alone.")));
	if (!(d.busy_p50 <= d.busy_p95 && d.busy_p95 <= d.busy_p99))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("busy percentiles must not decrease: busy_p50 %g, busy_p95 %g, busy_p99 %g",
						d.busy_p50, d.busy_p95, d.busy_p99)));

	pgps_advise(&d, &advice);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(pgps_verdict_name(advice.verdict));
	values[1] = Int32GetDatum(advice.pool_size);
	values[2] = Int32GetDatum(advice.min_idle);
	values[3] = CStringGetTextDatum(advice.reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* advise()'s arguments in each version: 1.1 renamed some, and added */
static const char *const advise_names_1_0[] = {
	"samples", "connects_per_sec", "session_p50_ms", "setup_share",
	"busy_p50", "busy_p95", "busy_p99", "typical_open",
	"saturated_share", "iit_share", "longest_iit_s", "headroom_pct",
	"short_session_ms"
};
static const char *const advise_names_1_1[] = {
	"samples", "connects_per_sec", "session_p50_ms", "setup_share",
	"busy_p50", "busy_p95", "busy_p99", "open_p50",
	"saturated_share", "idle_in_transaction_share",
	"idle_in_transaction_max_s", "headroom_pct", "short_session_ms"
};

Datum
pgpool_stats_advise_1_0(PG_FUNCTION_ARGS)
{
	return advise(fcinfo, advise_names_1_0, 13);
}

Datum
pgpool_stats_advise_1_1(PG_FUNCTION_ARGS)
{
	return advise(fcinfo, advise_names_1_1, 19);
}

Datum
pgpool_stats_advise_1_2(PG_FUNCTION_ARGS)
{
	return advise(fcinfo, advise_names_1_1, 26);
}

Datum
pgpool_stats_advise_1_4(PG_FUNCTION_ARGS)
{
	return advise(fcinfo, advise_names_1_1, 31);
}

/*
 * The server's rules over given figures (arguments in the order of
 * pgpsServerDemand; NULL takes the server's own setting or 0): to test
 * them on their boundaries and to try what-ifs.
 */
Datum
pgpool_stats_advise_server_1_1(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	pgpsServerDemand s;
	pgpsServerAdvice advice;
	Datum		values[ADVISE_SERVER_COLS];
	bool		nulls[ADVISE_SERVER_COLS];

	pgps_check_loaded();
	tupdesc = row_type(fcinfo, ADVISE_SERVER_COLS);

	memset(&s, 0, sizeof(s));
	s.max_connections = (int) count_arg(fcinfo, 0, "max_connections", true,
										MaxConnections, PGPS_MAX_CONNECTIONS);
	s.reserved_connections = (int) count_arg(fcinfo, 1, "reserved_connections",
											 true, PGPS_RESERVED_CONNECTIONS,
											 PGPS_MAX_CONNECTIONS);
	s.client_connections = count_arg(fcinfo, 2, "client_connections", false, 0,
									 PGPS_MAX_CONNECTIONS);
	s.client_connections_max = count_arg(fcinfo, 3, "client_connections_max",
										 false, 0, PGPS_MAX_CONNECTIONS);
	/* each of the most backends could ask for a pool of the most backends */
	s.recommended_total = count_arg(fcinfo, 4, "recommended_total", false, 0,
									(int64) PGPS_MAX_CONNECTIONS * PGPS_MAX_CONNECTIONS);
	s.open_connections = count_arg(fcinfo, 5, "open_connections", false, 0,
								   PGPS_MAX_CONNECTIONS);
	s.idle_connections = amount_arg(fcinfo, 6, "idle_connections", 0,
									PGPS_MAX_CONNECTIONS);
	if (s.idle_connections > s.open_connections)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idle_connections must not exceed open_connections: %g > " INT64_FORMAT,
						s.idle_connections, s.open_connections)));

	pgps_advise_server(&s, &advice);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(pgps_verdict_name(advice.verdict));
	values[1] = CStringGetTextDatum(advice.reason);
	values[2] = Int64GetDatum(advice.usable);
	values[3] = Int64GetDatum(advice.peak);
	values[4] = Int64GetDatum(advice.spare_connections);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
