/*-------------------------------------------------------------------------
 *
 * advice.c
 *		SQL functions behind the recommendations: each application's demand
 *		gathered from the statistics of its keys, the server-wide row, and
 *		pgpool_stats_advise(), the rules over given figures.
 *
 * The rules themselves are in recommend.c.  Everything here works on copies
 * of the statistics, with no lock held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pgpool_stats.h"
#include "recommend.h"

PG_FUNCTION_INFO_V1(pgpool_stats_recommendations_1_0);
PG_FUNCTION_INFO_V1(pgpool_stats_server_1_0);
PG_FUNCTION_INFO_V1(pgpool_stats_advise_1_0);

#define RECOMMENDATION_COLS	12
#define SERVER_COLS			8
#define ADVISE_COLS			4

/* An application: the keys of one (database, role, application_name) */
typedef struct AppKey
{
	Oid			dbid;
	Oid			userid;
	char		appname[NAMEDATALEN];
} AppKey;

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
	int64		saturated_samples;
	int64		iit_samples;
	int64		longest_iit_us;
	uint64		hist_busy[PGPS_COUNT_BUCKETS];	/* sums over keys: 64 bits */
	uint64		hist_total[PGPS_COUNT_BUCKETS];
	int64		connections;
	int64		disconnections;
	uint64		session_total_us;
	uint64		session_max_us;
	uint64		setup_total_us;
	TimestampTz first_seen;
	uint64		session_hist[PGPS_HIST_BUCKETS];
	pgpsDemand	demand;
	pgpsAdvice	advice;
} App;

/* Add one key's statistics to its application */
static void
add_key(App *app, const pgpsEntry *entry, int64 samples_taken)
{
	const pgpsActivity *a = &entry->activity;
	const pgpsChurn *c = &entry->churn;
	int64		samples = Max(samples_taken - a->window_start_no, 0);
	int			b;

	app->clients++;
	app->open_connections += c->open_connections;
	app->peak_active = Max(app->peak_active, a->peak_active);
	app->peak_total = Max(app->peak_total, a->peak_total);
	app->samples = Max(app->samples, samples);
	app->instance_samples += samples;
	app->nonzero_samples += a->nonzero_samples;
	app->saturated_samples += a->saturated_samples;
	app->iit_samples += a->iit_samples;
	app->longest_iit_us = Max(app->longest_iit_us, a->longest_iit_us);
	for (b = 0; b < PGPS_COUNT_BUCKETS; b++)
	{
		app->hist_busy[b] += a->hist_busy[b];
		app->hist_total[b] += a->hist_total[b];
	}
	app->connections += c->connections;
	app->disconnections += c->disconnections;
	app->session_total_us += c->session_total_us;
	app->session_max_us = Max(app->session_max_us, c->session_max_us);
	app->setup_total_us += c->setup_total_us;
	if (app->first_seen == 0 || c->first_seen < app->first_seen)
		app->first_seen = c->first_seen;
	for (b = 0; b < PGPS_HIST_BUCKETS; b++)
		app->session_hist[b] += c->session_hist[b];
}

/* A percentile of a merged count histogram, zeros of empty samples added */
static double
count_percentile(const App *app, const uint64 *hist, double fraction)
{
	uint64		zeros = Max(app->instance_samples - app->nonzero_samples, 0);
	double		v = pgps_hist_percentile(hist, PGPS_COUNT_SUB_BITS,
										 PGPS_COUNT_MAX_MSB, zeros, fraction,
										 (uint64) Max(app->peak_total, 0));

	return Max(v, 0);
}

/* The inputs of the rules, from an application's statistics */
static void
build_demand(App *app, TimestampTz now)
{
	pgpsDemand *d = &app->demand;
	double		window_s = Max((double) (now - app->first_seen) / USECS_PER_SEC, 1.0);
	double		lifetime_us;

	d->samples = app->samples;
	d->connects_per_sec = app->connections / window_s;
	lifetime_us = pgps_hist_percentile(app->session_hist, PGPS_HIST_SUB_BITS,
									   PGPS_HIST_MAX_MSB, 0, 0.5,
									   app->session_max_us);
	d->session_p50_ms = lifetime_us < 0 ? -1 : lifetime_us / 1000.0;
	d->setup_share = -1;
	if (app->connections > 0 && app->disconnections > 0 && app->session_total_us > 0)
		d->setup_share = Min(((double) app->setup_total_us / app->connections) /
							 ((double) app->session_total_us / app->disconnections),
							 1.0);
	d->busy_p50 = count_percentile(app, app->hist_busy, 0.50);
	d->busy_p95 = count_percentile(app, app->hist_busy, 0.95);
	d->busy_p99 = count_percentile(app, app->hist_busy, 0.99);
	d->typical_open = count_percentile(app, app->hist_total, 0.50);
	d->saturated_share = app->nonzero_samples > 0 ?
		(double) app->saturated_samples / app->nonzero_samples : 0;
	d->iit_share = app->instance_samples > 0 ?
		(double) app->iit_samples / app->instance_samples : 0;
	d->longest_iit_s = app->longest_iit_us / 1e6;
	d->headroom = pgps_headroom_pct / 100.0;
	d->short_session_ms = pgps_short_session_ms;
}

/*
 * Every application with its demand and advice, in a hash table of the
 * current memory context.  *st gets the shared state the figures go with.
 */
static HTAB *
gather_apps(pgpsSharedState *st)
{
	HASHCTL		ctl;
	HTAB	   *apps;
	pgpsEntry  *entries;
	long		count;
	long		n;
	HASH_SEQ_STATUS status;
	App		   *app;
	TimestampTz now = GetCurrentTimestamp();

	entries = pgps_entry_snapshot(&count, st);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AppKey);
	ctl.entrysize = sizeof(App);
	ctl.hcxt = CurrentMemoryContext;
	apps = hash_create("pgpool_stats applications", 64, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	for (n = 0; n < count; n++)
	{
		AppKey		key;
		bool		found;

		memset(&key, 0, sizeof(key));
		key.dbid = entries[n].key.dbid;
		key.userid = entries[n].key.userid;
		strlcpy(key.appname, entries[n].key.appname, NAMEDATALEN);
		app = hash_search(apps, &key, HASH_ENTER, &found);
		if (!found)
			memset((char *) app + sizeof(AppKey), 0, sizeof(App) - sizeof(AppKey));
		add_key(app, &entries[n], st->samples_taken);
	}
	pfree(entries);

	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
	{
		build_demand(app, now);
		pgps_advise(&app->demand, &app->advice);
	}
	return apps;
}

/* Pool-sizing recommendations, one row per application */
Datum
pgpool_stats_recommendations_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgpsSharedState st;
	HTAB	   *apps;
	HASH_SEQ_STATUS status;
	App		   *app;
	bool		see_all;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	see_all = pgps_sees_all_rows();
	apps = gather_apps(&st);

	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
	{
		Datum		values[RECOMMENDATION_COLS];
		bool		nulls[RECOMMENDATION_COLS];
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = ObjectIdGetDatum(app->key.dbid);
		values[i++] = ObjectIdGetDatum(app->key.userid);
		if (pgps_sees_row(see_all, app->key.userid))
			values[i] = CStringGetTextDatum(app->key.appname);
		else
			nulls[i] = true;
		i++;
		values[i++] = Int32GetDatum(app->clients);
		values[i++] = Int64GetDatum(app->open_connections);
		values[i++] = Int32GetDatum(app->peak_active);
		values[i++] = Float8GetDatum(app->demand.busy_p95);
		values[i++] = Float8GetDatum(app->demand.busy_p99);
		values[i++] = Int32GetDatum(app->advice.pool_size);
		values[i++] = Int32GetDatum(app->advice.min_idle);
		values[i++] = CStringGetTextDatum(app->advice.verdict);
		values[i++] = CStringGetTextDatum(app->advice.reason);
		Assert(i == RECOMMENDATION_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The server as a whole: client connections against max_connections less
 * the reserved slots, and the sum of what the applications need.
 */
Datum
pgpool_stats_server_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[SERVER_COLS];
	bool		nulls[SERVER_COLS];
	pgpsSharedState st;
	HTAB	   *apps;
	HASH_SEQ_STATUS status;
	App		   *app;
	int			reserved = PGPS_RESERVED_CONNECTIONS;
	int			usable = Max(MaxConnections - reserved, 1);
	int64		clients = 0;
	int64		recommended = 0;
	int64		open_total = 0;
	double		idle_total = 0;
	int			peak;
	const char *verdict;
	char		reason[600];
	char		pooler[200] = "";
	int			i = 0;

	pgps_check_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	apps = gather_apps(&st);

	hash_seq_init(&status, apps);
	while ((app = hash_seq_search(&status)) != NULL)
	{
		clients += app->open_connections;
		if (strcmp(app->advice.verdict, "insufficient_data") != 0)
		{
			recommended += (int64) app->advice.pool_size * app->clients;
			open_total += app->open_connections;
			idle_total += Max(app->demand.typical_open - app->demand.busy_p95, 0) *
				app->clients;
		}
	}
	peak = Max(st.peak_sessions, (int) clients);

	/* many connections held mostly idle: sharing them is the cure */
	if (open_total >= 10 && idle_total >= 0.5 * open_total)
		snprintf(pooler, sizeof(pooler),
				 "; about %.0f of %lld connections sit idle: a server-side pooler (PgBouncer in transaction mode) would let them share far fewer server connections",
				 idle_total, (long long) open_total);

	if (recommended > usable)
	{
		verdict = "over_committed";
		snprintf(reason, sizeof(reason),
				 "the applications' recommended pools add up to %lld connections, more than the %d available (max_connections %d less %d reserved)%s",
				 (long long) recommended, usable, MaxConnections, reserved,
				 pooler[0] ? pooler : ": shrink the pools or put a server-side pooler in front");
	}
	else if (peak >= 0.9 * usable)
	{
		verdict = "near_limit";
		snprintf(reason, sizeof(reason),
				 "client connections peaked at %d, %d%% of the %d available (max_connections %d less %d reserved): new connections will soon be refused%s",
				 peak, (int) rint(100.0 * peak / usable), usable,
				 MaxConnections, reserved, pooler);
	}
	else
	{
		verdict = "ok";
		snprintf(reason, sizeof(reason),
				 "client connections peaked at %d of the %d available; the recommended pools add up to %lld%s",
				 peak, usable, (long long) recommended, pooler);
	}

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int32GetDatum(MaxConnections);
	values[i++] = Int32GetDatum(reserved);
	values[i++] = Int64GetDatum(clients);
	values[i++] = Int32GetDatum(peak);
	values[i++] = Int64GetDatum(usable - clients);
	values[i++] = Int64GetDatum(recommended);
	values[i++] = CStringGetTextDatum(verdict);
	values[i++] = CStringGetTextDatum(reason);
	Assert(i == SERVER_COLS);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

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
 * connections cannot pass the server's limit on backends; the bound also keeps the pool sizes
 * computed from them within an int.
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
 * The rules over given figures (arguments in the order of pgpsDemand; NULL
 * takes the default): to try what-ifs, and to test every rule on its
 * boundaries.
 */
Datum
pgpool_stats_advise_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[ADVISE_COLS];
	bool		nulls[ADVISE_COLS];
	pgpsDemand	d;
	pgpsAdvice	advice;

	/* its defaults are the settings, which exist only when preloaded */
	pgps_check_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&d, 0, sizeof(d));
	d.samples = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	if (d.samples < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("samples must be at least 0, not " INT64_FORMAT, d.samples)));
	d.connects_per_sec = amount_arg(fcinfo, 1, "connects_per_sec", 0, DBL_MAX);
	d.session_p50_ms = PG_ARGISNULL(2) ? -1 :
		amount_arg(fcinfo, 2, "session_p50_ms", 0, DBL_MAX);
	d.setup_share = PG_ARGISNULL(3) ? -1 : share_arg(fcinfo, 3, "setup_share", 0);
	d.busy_p50 = amount_arg(fcinfo, 4, "busy_p50", 0, PGPS_MAX_CONNECTIONS);
	d.busy_p95 = amount_arg(fcinfo, 5, "busy_p95", 0, PGPS_MAX_CONNECTIONS);
	d.busy_p99 = amount_arg(fcinfo, 6, "busy_p99", 0, PGPS_MAX_CONNECTIONS);
	d.typical_open = amount_arg(fcinfo, 7, "typical_open", 0, PGPS_MAX_CONNECTIONS);
	d.saturated_share = share_arg(fcinfo, 8, "saturated_share", 0);
	d.iit_share = share_arg(fcinfo, 9, "iit_share", 0);
	d.longest_iit_s = amount_arg(fcinfo, 10, "longest_iit_s", 0, DBL_MAX);
	d.headroom = amount_arg(fcinfo, 11, "headroom_pct", pgps_headroom_pct,
							PGPS_MAX_HEADROOM_PCT) / 100.0;
	d.short_session_ms = amount_arg(fcinfo, 12, "short_session_ms",
									pgps_short_session_ms, DBL_MAX);
	if (!(d.busy_p50 <= d.busy_p95 && d.busy_p95 <= d.busy_p99))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("busy percentiles must not decrease: busy_p50 %g, busy_p95 %g, busy_p99 %g",
						d.busy_p50, d.busy_p95, d.busy_p99)));

	pgps_advise(&d, &advice);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(advice.verdict);
	values[1] = Int32GetDatum(advice.pool_size);
	values[2] = Int32GetDatum(advice.min_idle);
	values[3] = CStringGetTextDatum(advice.reason);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
