/*-------------------------------------------------------------------------
 *
 * views.c
 *		SQL-callable functions behind the pgpool_stats views.
 *
 * Each copies the shared statistics out first (shmem.c), then builds its
 * tuples with no lock held.  Entry points carry the API version of the
 * install script that declares them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pgpool_stats.h"

PG_FUNCTION_INFO_V1(pgpool_stats_connections_1_0);
PG_FUNCTION_INFO_V1(pgpool_stats_info_1_0);
PG_FUNCTION_INFO_V1(pgpool_stats_reset_1_0);

#define CONNECTIONS_COLS	19
#define INFO_COLS			6

/* The inet datum of a key's client address, or NULL for none */
static Datum
addr_datum(const pgpsAddr *addr, bool *isnull)
{
	inet	   *result;

	*isnull = (addr->family == 0);
	if (*isnull)
		return (Datum) 0;
	result = (inet *) palloc0(sizeof(inet));
	ip_family(result) = addr->family;
	ip_bits(result) = (addr->family == PGSQL_AF_INET) ? 32 : 128;
	memcpy(ip_addr(result), addr->bytes, ip_addrsize(result));
	SET_INET_VARSIZE(result);
	return InetPGetDatum(result);
}

/* A float8 datum, NULL when the value is negative (meaning: none) */
static Datum
float8_or_null(double value, bool *isnull)
{
	*isnull = (value < 0);
	return Float8GetDatum(*isnull ? 0 : value);
}

/* A timestamptz datum, NULL when the value is 0 (meaning: never) */
static Datum
timestamp_or_null(TimestampTz value, bool *isnull)
{
	*isnull = (value == 0);
	return TimestampTzGetDatum(value);
}

/*
 * Whether the caller may see the application names and client addresses of
 * other roles' keys: as in pg_stat_activity, superusers and members of
 * pg_read_all_stats may.
 */
static bool
sees_all_rows(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/* One row of pgpool_stats_connections */
static void
connections_row(const pgpsEntry *entry, bool full, TimestampTz now,
				TimestampTz stats_reset, Datum *values, bool *nulls)
{
	const pgpsChurn *c = &entry->churn;
	double		window_s;
	int			i = 0;

	values[i++] = ObjectIdGetDatum(entry->key.dbid);
	values[i++] = ObjectIdGetDatum(entry->key.userid);
	if (full)
	{
		values[i++] = CStringGetTextDatum(entry->key.appname);
		values[i] = addr_datum(&entry->key.addr, &nulls[i]);
		i++;
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	values[i++] = Int64GetDatum(c->connections);
	values[i++] = Int64GetDatum(c->disconnections);
	values[i++] = Int64GetDatum(c->auth_failures);
	values[i++] = Int64GetDatum(c->login_failures);
	values[i++] = Int32GetDatum(c->open_connections);

	/* the rate over the time since the key was first seen, at least 1 s */
	window_s = Max((double) (now - c->first_seen) / USECS_PER_SEC, 1.0);
	values[i++] = Float8GetDatum(c->connections / window_s);

	values[i] = float8_or_null(c->disconnections > 0 ?
							   (double) c->session_total_us / c->disconnections / 1000.0 : -1,
							   &nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_hist_percentile(c->session_hist, PGPS_HIST_BUCKETS,
													0.50, c->session_max_us) / 1000.0,
							   &nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_hist_percentile(c->session_hist, PGPS_HIST_BUCKETS,
													0.95, c->session_max_us) / 1000.0,
							   &nulls[i]);
	i++;
	values[i] = float8_or_null(c->disconnections > 0 ?
							   c->session_max_us / 1000.0 : -1, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum(c->short_sessions);
	values[i] = float8_or_null(c->connections > 0 ?
							   (double) c->setup_total_us / c->connections / 1000.0 : -1,
							   &nulls[i]);
	i++;
	values[i] = timestamp_or_null(c->first_seen, &nulls[i]);
	i++;
	values[i] = timestamp_or_null(c->last_connect, &nulls[i]);
	i++;
	values[i] = timestamp_or_null(stats_reset, &nulls[i]);
	i++;
	Assert(i == CONNECTIONS_COLS);
}

/* Connection churn, one row per key */
Datum
pgpool_stats_connections_1_0(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgpsEntry  *entries;
	long		count;
	long		n;
	bool		see_all;
	Oid			me = GetUserId();
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz stats_reset;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	see_all = sees_all_rows();

	entries = pgps_entry_snapshot(&count);
	SpinLockAcquire(&pgps_state->mutex);
	stats_reset = pgps_state->stats_reset;
	SpinLockRelease(&pgps_state->mutex);

	for (n = 0; n < count; n++)
	{
		Datum		values[CONNECTIONS_COLS];
		bool		nulls[CONNECTIONS_COLS];

		memset(nulls, 0, sizeof(nulls));
		connections_row(&entries[n], see_all || entries[n].key.userid == me,
						now, stats_reset, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(entries);
	return (Datum) 0;
}

/* One row about the extension itself */
Datum
pgpool_stats_info_1_0(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[INFO_COLS];
	bool		nulls[INFO_COLS];
	int64		evicted;
	int64		dropped;
	TimestampTz stats_reset;
	int			i = 0;

	pgps_check_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&pgps_state->mutex);
	evicted = pgps_state->evicted;
	dropped = pgps_state->dropped;
	stats_reset = pgps_state->stats_reset;
	SpinLockRelease(&pgps_state->mutex);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int64GetDatum(pgps_entry_count());
	values[i++] = Int32GetDatum(pgps_max_entries);
	values[i++] = Int64GetDatum(evicted);
	values[i++] = Int64GetDatum(dropped);
	values[i++] = TimestampTzGetDatum(stats_reset);
	values[i++] = Int64GetDatum((int64) pgps_shmem_size());
	Assert(i == INFO_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* Forget all statistics but the open connections of live sessions */
Datum
pgpool_stats_reset_1_0(PG_FUNCTION_ARGS)
{
	pgps_check_loaded();
	pgps_reset_all();
	PG_RETURN_VOID();
}
