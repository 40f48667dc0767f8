/*-------------------------------------------------------------------------
 *
 * views.c
 *		SQL-callable functions behind the pgpool_stats views.
 *
 * Each copies out what it shows of the shared statistics first (shmem.c),
 * then builds its tuples with no lock held; figures derived from counters
 * come from figures.c.  Entry points carry the API version of the install
 * script that declares them, and each checks the column count its SQL
 * declares, so that a script and a library that disagree fail clearly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/socket.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pgpool_stats.h"
#include "rules.h"
#include "store.h"

PG_FUNCTION_INFO_V1(pgpool_stats_memory_1_1);

/* Columns of each function; 1.1 adds total_trend to the activity */
#define CONNECTIONS_COLS_1_0	19
#define CONNECTIONS_COLS	27	/* 1.3 adds the usage and the ends */
#define ACTIVITY_COLS_1_0	19
#define ACTIVITY_COLS		20	/* 1.1 adds total_trend */
#define HISTORY_COLS		14
#define INFO_COLS			14
#define MEMORY_COLS			4

/* History buckets the activity view's sparkline spans */
#define TREND_BUCKETS		20

/* The inet datum of a key's client address, or NULL for none */
Datum
pgps_addr_datum(const pgpsAddr *addr, bool *isnull)
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
 * Who sees what, as in pg_stat_activity: what names a session there (its
 * database, role and application_name) every role sees; where it comes from
 * and what it does (its client address, states, times and counts) only
 * superusers, members of pg_read_all_stats and members of its role.  So a
 * row of another role shows its key but its client_addr, and NULL figures:
 * its failed logins too, so that a failed login reveals nothing a reader
 * could not see in pg_stat_activity.
 *
 * Whether the caller sees every row in full.
 */
bool
pgps_sees_all_rows(void)
{
	return has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

/*
 * Whether a row of a role is shown in full: to those who see every row, and
 * as in pg_stat_activity to the members of the role.
 */
bool
pgps_sees_row(bool see_all, Oid userid)
{
	return see_all || has_privs_of_role(GetUserId(), userid);
}

/* A row not shown in full: its figures, columns from to ncols - 1, NULL */
void
pgps_hide_figures(bool full, bool *nulls, int from, int ncols)
{
	if (full)
		return;
	for (int i = from; i < ncols; i++)
		nulls[i] = true;
}

/*
 * A hash table with binary keys in the current memory context, for a
 * reader's own copies (gone with the query's memory)
 */
HTAB *
pgps_local_hash(const char *name, long nelem, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Raise a clear error when the SQL declaring a function has another number
 * of columns than the library fills: an install script and a library of
 * different versions.
 */
void
pgps_check_columns(TupleDesc tupdesc, int expected)
{
	if (tupdesc->natts != expected)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pgpool_stats: the SQL function declares %d result columns, but the library fills %d",
						tupdesc->natts, expected),
				 errhint("Update the extension with ALTER EXTENSION pgpool_stats UPDATE.")));
}

/* The key columns every view starts with: dbid, userid, name, address */
static int
key_columns(const pgpsKey *key, bool full, Datum *values, bool *nulls)
{
	values[0] = ObjectIdGetDatum(key->dbid);
	values[1] = ObjectIdGetDatum(key->userid);
	values[2] = CStringGetTextDatum(key->appname);
	if (full)
		values[3] = pgps_addr_datum(&key->addr, &nulls[3]);
	else
		nulls[3] = true;
	return 4;
}

/* What pgpool_stats_connections shows of a key: its copy from the store */
typedef struct ChurnCopy
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsUsage	usage;
} ChurnCopy;

static void
copy_churn(void *dst, const pgpsEntry *entry)
{
	ChurnCopy  *c = (ChurnCopy *) dst;

	c->key = entry->key;
	c->last_seen = entry->last_seen;
	c->churn = entry->churn;
	c->usage = entry->usage;
}

/* One row of pgpool_stats_connections */
static void
connections_row(const ChurnCopy *copy, bool full, int api, TimestampTz now,
				TimestampTz stats_reset, Datum *values, bool *nulls)
{
	const pgpsChurn *c = &copy->churn;
	const pgpsUsage *u = &copy->usage;
	int			ncols = api >= PGPS_API_1_3 ? CONNECTIONS_COLS : CONNECTIONS_COLS_1_0;
	int			i = key_columns(&copy->key, full, values, nulls);

	values[i++] = Int64GetDatum(c->connections);
	values[i++] = Int64GetDatum(c->disconnections);
	values[i++] = Int64GetDatum(c->auth_failures);
	values[i++] = Int64GetDatum(c->login_failures);
	values[i++] = Int32GetDatum(c->open_connections);
	values[i++] = Float8GetDatum(c->connections /
								 pgps_rate_seconds(c->first_seen, copy->last_seen,
												   c->open_connections, now));
	values[i] = float8_or_null(pgps_ms(pgps_mean(c->session_total_us,
													  c->disconnections)),
									&nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_lifetime32_ms(c->session_hist,
													   c->session_max_us, 0.50),
									&nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_lifetime32_ms(c->session_hist,
													   c->session_max_us, 0.95),
									&nulls[i]);
	i++;
	values[i] = float8_or_null(c->disconnections > 0 ?
									pgps_ms(c->session_max_us) : -1, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum(c->short_sessions);
	values[i] = float8_or_null(pgps_ms(pgps_mean(c->setup_total_us,
													  c->connections)),
									&nulls[i]);
	i++;
	if (api >= PGPS_API_1_3)
	{
		values[i++] = Int64GetDatum(u->transactions);
		values[i++] = Int64GetDatum(u->statements);
		values[i] = float8_or_null(pgps_mean(u->transactions, u->connections),
								   &nulls[i]);
		i++;
		values[i] = float8_or_null(pgps_reuse_share(u->transactions,
													u->connections),
								   &nulls[i]);
		i++;
		values[i++] = Int64GetDatum(u->sessions_normal);
		values[i++] = Int64GetDatum(u->sessions_abandoned);
		values[i++] = Int64GetDatum(u->sessions_fatal);
		values[i++] = Int64GetDatum(u->sessions_killed);
	}
	values[i] = timestamp_or_null(c->first_seen, &nulls[i]);
	i++;
	values[i] = timestamp_or_null(c->last_connect, &nulls[i]);
	i++;
	values[i] = timestamp_or_null(stats_reset, &nulls[i]);
	i++;
	Assert(i == ncols);
	/* stats_reset is the store's, not the key's */
	pgps_hide_figures(full, nulls, 4, ncols - 1);
}

/*
 * A row context for a view that emits one row per key: each row's values
 * are made in it and it is reset after the row is stored, so the memory a
 * view takes is bounded by what it returns (the tuplestore spills to disk
 * past work_mem), not by the table.
 */
MemoryContext
pgps_row_context(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "pgpool_stats row",
								 ALLOCSET_SMALL_SIZES);
}

/* The most connections a pool may be advised: the server's usable slots */
int
pgps_max_pool(void)
{
	return (int) Min(pgps_usable_connections(MaxConnections,
											 PGPS_RESERVED_CONNECTIONS),
					 PGPS_MAX_CONNECTIONS);
}

/* A key's rows in the history, in bucket order (pgpsSpanIndex) */
typedef struct SpanKey
{
	pgpsKey		key;			/* hash key; must be first */
	int			n;
	int			room;
	int		   *bucket;			/* each row's bucket */
	const pgpsHistRow **row;
} SpanKey;

/*
 * Index a snapshot of the history by key, for pgps_span_load_facts: one pass
 * over the rows, in the current memory context
 */
void
pgps_span_index(pgpsSpanIndex *ix, int64 span_us, const char *appname)
{
	memset(ix, 0, sizeof(*ix));
	ix->span_us = span_us;
	if (span_us <= 0)
		return;					/* the window: no history needed */
	ix->buckets = pgps_history_snapshot(0, &ix->nbuckets, &ix->rows);
	ix->samples_before = palloc(sizeof(int64) * (ix->nbuckets + 1));
	ix->keys = pgps_local_hash("pgpool_stats history by key", 64,
							   sizeof(pgpsKey), sizeof(SpanKey));
	ix->samples_before[0] = 0;
	for (int b = 0; b < ix->nbuckets; b++)
	{
		CHECK_FOR_INTERRUPTS();
		ix->samples_before[b + 1] = ix->samples_before[b] + ix->buckets[b].samples;
		for (int r = 0; r < ix->buckets[b].nrows; r++)
		{
			const pgpsHistRow *row = &ix->rows[ix->buckets[b].first_row + r];
			SpanKey    *k;
			bool		found;

			if (appname != NULL && strcmp(row->key.appname, appname) != 0)
				continue;
			k = hash_search(ix->keys, &row->key, HASH_ENTER, &found);
			if (!found)
			{
				k->n = 0;
				k->room = 8;
				k->bucket = palloc(sizeof(int) * k->room);
				k->row = palloc(sizeof(pgpsHistRow *) * k->room);
			}
			else if (k->n == k->room)
			{
				k->room *= 2;
				k->bucket = repalloc(k->bucket, sizeof(int) * k->room);
				k->row = repalloc(k->row, sizeof(pgpsHistRow *) * k->room);
			}
			k->bucket[k->n] = b;
			k->row[k->n++] = row;
		}
	}
}

/*
 * A key's load in the busiest span of the history: the consecutive closed
 * buckets, at most span_us from the first's start to the last's end (one
 * bucket at least), in which it ended the most transactions (samples of
 * buckets without its row count as zeros).  False, and the window is to be
 * read instead, without a span, when its window (from its first event, or
 * the reset, to last_sample) fits in the span: the window holds it all and
 * the bucket being filled too; or when the key has no transaction in the
 * history.  c gives what the history does not keep per bucket: whether its
 * pool ran out.
 */
static bool
busiest_span(const pgpsSpanIndex *ix, const pgpsKey *key,
			 const pgpsLoadCopy *c, TimestampTz last_sample,
			 pgpsLoadFacts *f, TimestampTz *start, TimestampTz *end)
{
	const pgpsHistBucket *b = ix->buckets;
	const SpanKey *k;
	int			first = -1;
	int			from = 0;
	int			to = -1;
	int64		best = 0;
	int64		sum = 0;
	int64		sum_busy = 0;
	double		sum_busy_sq = 0;
	double		variance;

	if (ix->span_us <= 0 || ix->keys == NULL ||
		last_sample - c->first_seen <= ix->span_us)
		return false;
	k = hash_search(ix->keys, key, HASH_FIND, NULL);
	if (k == NULL)
		return false;
	for (int i = 0; i < k->n && first < 0; i++)
		if (k->row[i]->transactions > 0)
			first = i;
	if (first < 0)
		return false;

	/* a window sliding over its rows: the most transactions */
	for (int i = 0, j = 0; j < k->n; j++)
	{
		sum += k->row[j]->transactions;
		while (i < j && b[k->bucket[j]].end - b[k->bucket[i]].start > ix->span_us)
			sum -= k->row[i++]->transactions;
		if (sum > best)
		{
			best = sum;
			from = i;
			to = j;
		}
	}

	memset(f, 0, sizeof(*f));
	for (int i = from; i <= to; i++)
	{
		f->transactions += k->row[i]->transactions;
		f->timed_transactions += k->row[i]->timed_transactions;
		f->xact_time_us += k->row[i]->xact_time_us;
		f->xact_time_sq += k->row[i]->xact_time_sq;
		sum_busy += k->row[i]->sum_busy;
		sum_busy_sq += (double) k->row[i]->sum_busy_sq;
	}
	*start = b[k->bucket[from]].start;
	*end = b[k->bucket[to]].end;
	/* the clock set back between buckets: no span to take a rate over */
	if (*end <= *start)
		return false;
	f->samples = ix->samples_before[k->bucket[to] + 1] -
		ix->samples_before[k->bucket[from]];
	f->span_s = (double) (*end - *start) / USECS_PER_SEC;
	f->busy_avg = f->samples > 0 ? (double) sum_busy / f->samples : 0;
	variance = f->samples > 0 ?
		Max(sum_busy_sq / f->samples - f->busy_avg * f->busy_avg, 0) : 0;
	f->busy_dispersion = f->busy_avg > 0 ? variance / f->busy_avg : 0;
	f->saturated = pgps_instance_saturated(c->saturated_samples,
										   c->nonzero_samples);
	f->sample_interval_s = pgps_sample_interval_ms / 1000.0;
	return true;
}

/*
 * A key's load for the wait model: in its busiest span of the history
 * (busiest_span) when that holds at least min_timed timed transactions,
 * else over its window; *start and *end say which was read
 */
void
pgps_span_load_facts(const pgpsSpanIndex *ix, const pgpsKey *key,
					 const pgpsLoadCopy *c, const pgpsGlobalStats *stats,
					 int64 min_timed, pgpsLoadFacts *f, TimestampTz *start,
					 TimestampTz *end)
{
	if (busiest_span(ix, key, c, stats->last_sample, f, start, end) &&
		f->timed_transactions >= min_timed)
		return;
	pgps_load_facts(c, stats->samples_taken, stats->last_sample, f);
	*start = c->first_seen;
	*end = stats->last_sample;
}

/* Store one row made in the row context, then empty the context */
void
pgps_put_row(ReturnSetInfo *rsinfo, MemoryContext row_context,
			 Datum *values, bool *nulls)
{
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	MemoryContextReset(row_context);
}

/* What every key's row of pgpool_stats_connections is made with */
typedef struct ConnectionsEmit
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_context;
	bool		see_all;
	int			api;
	TimestampTz now;
	pgpsGlobalStats stats;
} ConnectionsEmit;

static void
connections_emit(const void *copy, void *arg)
{
	ConnectionsEmit *ce = (ConnectionsEmit *) arg;
	const ChurnCopy *c = (const ChurnCopy *) copy;
	Datum		values[CONNECTIONS_COLS];
	bool		nulls[CONNECTIONS_COLS];
	MemoryContext old = MemoryContextSwitchTo(ce->row_context);

	memset(nulls, 0, sizeof(nulls));
	connections_row(c, pgps_sees_row(ce->see_all, c->key.userid), ce->api,
					ce->now, ce->stats.stats_reset, values, nulls);
	MemoryContextSwitchTo(old);
	pgps_put_row(ce->rsinfo, ce->row_context, values, nulls);
}

/* Connection churn, one row per key, streamed a partition at a time */
static Datum
connections(FunctionCallInfo fcinfo, int api)
{
	ConnectionsEmit ce;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	ce.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgps_check_columns(ce.rsinfo->setDesc, api >= PGPS_API_1_3 ?
					   CONNECTIONS_COLS : CONNECTIONS_COLS_1_0);
	ce.api = api;
	ce.see_all = pgps_sees_all_rows();
	ce.now = GetCurrentTimestamp();
	ce.row_context = pgps_row_context();

	pgps_entry_stream(sizeof(ChurnCopy), copy_churn, connections_emit, &ce, 0,
					  &ce.stats);
	MemoryContextDelete(ce.row_context);
	return (Datum) 0;
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_connections, connections)
PGPS_ENTRY_POINT(pgpool_stats_connections, connections, 1_3)

/*
 * Whether the client receives UTF-8.  Read from the setting, not from
 * pg_get_client_encoding(): a parallel worker has the leader's setting but
 * sends in the database encoding, and the leader converts for the client.
 */
static bool
client_is_utf8(void)
{
	const char *name = GetConfigOption("client_encoding", true, false);

	return name != NULL && pg_char_to_encoding(name) == PG_UTF8;
}

/*
 * The sparkline of one key: its max_active in each of the trend buckets,
 * scaled to its own maximum, one character a bucket: block characters when
 * both the database and the client use UTF-8, an ASCII ramp otherwise (a
 * client in LATIN1, WIN1252, SJIS... cannot receive the blocks, and the
 * conversion would fail the whole query).
 */
static char *
sparkline(const int32 *values, int n)
{
	static const char *const blocks[] = {
		"\u2581", "\u2582", "\u2583", "\u2584",
		"\u2585", "\u2586", "\u2587", "\u2588"
	};
	static const char ascii[] = "_.-:=+*#";
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8 && client_is_utf8());
	StringInfoData buf;
	int32		max = 0;
	int			i;

	for (i = 0; i < n; i++)
		max = Max(max, values[i]);
	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		/* zero is the lowest level, anything above it at least the next */
		int			level = (max == 0 || values[i] <= 0) ? 0 :
			(int) ceil((double) values[i] * 7 / max);

		if (utf8)
			appendStringInfoString(&buf, blocks[level]);
		else
			appendStringInfoChar(&buf, ascii[level]);
	}
	return buf.data;
}

/*
 * pgpool_stats_sparkline(integer[]): the sparkline of any series, as the
 * activity view draws them (a NULL element counts as 0), for the report and
 * for a user's own queries over the history.
 */
static Datum
sparkline_sql(FunctionCallInfo fcinfo, int api)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	int32	   *values;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("pgpool_stats_sparkline takes a one-dimensional array, not one of %d dimensions",
						ARR_NDIM(array))));
	deconstruct_array(array, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	values = palloc0(Max(n, 1) * sizeof(int32));
	for (int i = 0; i < n; i++)
		values[i] = elem_nulls[i] ? 0 : DatumGetInt32(elems[i]);
	PG_RETURN_TEXT_P(cstring_to_text(sparkline(values, n)));
}

PGPS_ENTRY_POINT(pgpool_stats_sparkline, sparkline_sql, 1_3)

/* max_active and max_total of each key in the newest TREND_BUCKETS buckets */
typedef struct TrendEntry
{
	pgpsKey		key;
	int32		active[TREND_BUCKETS];
	int32		total[TREND_BUCKETS];
} TrendEntry;

static HTAB *
trend_table(int *nbuckets)
{
	HTAB	   *table;
	pgpsHistRow *rows;
	pgpsHistBucket *buckets;
	int			b;

	buckets = pgps_history_snapshot(TREND_BUCKETS, nbuckets, &rows);
	table = pgps_local_hash("pgpool_stats trend", 64, sizeof(pgpsKey),
							sizeof(TrendEntry));
	for (b = 0; b < *nbuckets; b++)
	{
		int			r;

		for (r = 0; r < buckets[b].nrows; r++)
		{
			pgpsHistRow *row = &rows[buckets[b].first_row + r];
			bool		found;
			TrendEntry *t = hash_search(table, &row->key, HASH_ENTER, &found);

			if (!found)
			{
				memset(t->active, 0, sizeof(t->active));
				memset(t->total, 0, sizeof(t->total));
			}
			t->active[b] = row->max_active;
			t->total[b] = row->max_total;
		}
	}
	return table;
}

/* What pgpool_stats_activity shows of a key: its copy from the store */
typedef struct ActivityCopy
{
	pgpsKey		key;
	int64		window_start_no;
	int64		last_sample_no;
	pgpsCounts	latest;
	int64		nonzero_samples;
	int32		peak_total;
	int32		peak_active;
	int64		sum_active;
	int64		longest_iit_us;
	uint32		hist_active[PGPS_COUNT_BUCKETS];
} ActivityCopy;

static void
copy_activity(void *dst, const pgpsEntry *entry)
{
	ActivityCopy *c = (ActivityCopy *) dst;
	const pgpsActivity *a = &entry->activity;

	c->key = entry->key;
	c->window_start_no = a->window_start_no;
	c->last_sample_no = a->last_sample_no;
	c->latest = a->latest;
	c->nonzero_samples = a->nonzero_samples;
	c->peak_total = a->peak_total;
	c->peak_active = a->peak_active;
	c->sum_active = a->sum_active;
	c->longest_iit_us = a->longest_iit_us;
	memcpy(c->hist_active, a->hist_active, sizeof(c->hist_active));
}

/* One row of pgpool_stats_activity */
static void
activity_row(const ActivityCopy *a, bool full, const pgpsGlobalStats *stats,
			 HTAB *trend, int ntrend, bool api_1_1, Datum *values, bool *nulls)
{
	int64		samples = pgps_window_samples(a->window_start_no,
												  stats->samples_taken);
	int64		zeros = pgps_zero_samples(samples, a->nonzero_samples);
	pgpsCounts	latest;
	TrendEntry *t;
	int32		none[TREND_BUCKETS] = {0};
	int			i = key_columns(&a->key, full, values, nulls);

	memset(&latest, 0, sizeof(latest));
	if (a->last_sample_no == stats->samples_taken && samples > 0)
		latest = a->latest;
	values[i++] = Int32GetDatum(latest.total);
	values[i++] = Int32GetDatum(latest.active);
	values[i++] = Int32GetDatum(latest.idle);
	values[i++] = Int32GetDatum(latest.idle_in_xact);
	values[i++] = Int32GetDatum(latest.idle_in_xact_aborted);
	values[i++] = Int32GetDatum(latest.waiting);
	values[i++] = Int32GetDatum(a->peak_total);
	values[i++] = Int32GetDatum(a->peak_active);
	values[i] = float8_or_null(pgps_mean(a->sum_active, samples), &nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_count32_percentile(a->hist_active, zeros,
															0.95, a->peak_active),
									&nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_count32_percentile(a->hist_active, zeros,
															0.99, a->peak_active),
									&nulls[i]);
	i++;
	values[i++] = Float8GetDatum(a->longest_iit_us / 1e6);
	values[i++] = Int64GetDatum(samples);
	values[i] = timestamp_or_null(samples > 0 ? stats->last_sample : 0, &nulls[i]);
	i++;
	t = hash_search(trend, &a->key, HASH_FIND, NULL);
	values[i++] = CStringGetTextDatum(sparkline(t ? t->active : none, ntrend));
	if (api_1_1)
		values[i++] = CStringGetTextDatum(sparkline(t ? t->total : none, ntrend));
	Assert(i == (api_1_1 ? ACTIVITY_COLS : ACTIVITY_COLS_1_0));
	pgps_hide_figures(full, nulls, 4, i);
}

/*
 * State counts and their statistics, one row per key, with the columns of
 * the calling SQL's version (1.1 adds total_trend)
 */
/* What every key's row of pgpool_stats_activity is made with */
typedef struct ActivityEmit
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_context;
	bool		see_all;
	bool		api_1_1;
	HTAB	   *trend;
	int			ntrend;
	pgpsGlobalStats stats;
} ActivityEmit;

static void
activity_emit(const void *copy, void *arg)
{
	ActivityEmit *ae = (ActivityEmit *) arg;
	const ActivityCopy *a = (const ActivityCopy *) copy;
	Datum		values[ACTIVITY_COLS];
	bool		nulls[ACTIVITY_COLS];
	MemoryContext old = MemoryContextSwitchTo(ae->row_context);

	memset(nulls, 0, sizeof(nulls));
	activity_row(a, pgps_sees_row(ae->see_all, a->key.userid), &ae->stats,
				 ae->trend, ae->ntrend, ae->api_1_1, values, nulls);
	MemoryContextSwitchTo(old);
	pgps_put_row(ae->rsinfo, ae->row_context, values, nulls);
}

static Datum
activity(FunctionCallInfo fcinfo, int api)
{
	ActivityEmit ae;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	ae.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ae.api_1_1 = (api >= PGPS_API_1_1);
	pgps_check_columns(ae.rsinfo->setDesc,
					   ae.api_1_1 ? ACTIVITY_COLS : ACTIVITY_COLS_1_0);
	ae.see_all = pgps_sees_all_rows();
	/* the history's part first: no partition is held while it is read */
	ae.trend = trend_table(&ae.ntrend);
	ae.row_context = pgps_row_context();

	/* no sample in between: the statistics and the sample count agree */
	pgps_entry_stream(sizeof(ActivityCopy), copy_activity, activity_emit, &ae,
					  PGPS_SNAP_CONSISTENT, &ae.stats);
	MemoryContextDelete(ae.row_context);
	return (Datum) 0;
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_activity, activity)

/* One row per closed history bucket and key */
static Datum
history(FunctionCallInfo fcinfo, int api)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgpsHistBucket *buckets;
	pgpsHistRow *rows;
	int			nbuckets;
	int			b;
	bool		see_all;
	MemoryContext row_context;

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	pgps_check_columns(rsinfo->setDesc, HISTORY_COLS);
	see_all = pgps_sees_all_rows();
	row_context = pgps_row_context();

	buckets = pgps_history_snapshot(0, &nbuckets, &rows);
	for (b = 0; b < nbuckets; b++)
	{
		int			r;

		for (r = 0; r < buckets[b].nrows; r++)
		{
			const pgpsHistRow *row = &rows[buckets[b].first_row + r];
			int64		samples = buckets[b].samples;
			Datum		values[HISTORY_COLS];
			bool		nulls[HISTORY_COLS];
			int			i = 0;
			bool		full = pgps_sees_row(see_all, row->key.userid);
			MemoryContext old = MemoryContextSwitchTo(row_context);

			memset(nulls, 0, sizeof(nulls));
			values[i++] = TimestampTzGetDatum(buckets[b].start);
			values[i++] = TimestampTzGetDatum(buckets[b].end);
			i += key_columns(&row->key, full, &values[i], &nulls[i]);
			values[i++] = Int64GetDatum(samples);
			values[i] = float8_or_null(pgps_mean(row->sum_total, samples),
											&nulls[i]);
			i++;
			values[i++] = Int32GetDatum(row->max_total);
			values[i] = float8_or_null(pgps_mean(row->sum_active, samples),
											&nulls[i]);
			i++;
			values[i++] = Int32GetDatum(row->max_active);
			values[i++] = Int32GetDatum(row->max_iit);
			values[i++] = Int32GetDatum(row->connections);
			values[i++] = Int32GetDatum(row->disconnections);
			Assert(i == HISTORY_COLS);
			/* the bucket's times and samples are the ring's, not the key's */
			pgps_hide_figures(full, nulls, 7, HISTORY_COLS);
			MemoryContextSwitchTo(old);
			pgps_put_row(rsinfo, row_context, values, nulls);
		}
	}
	MemoryContextDelete(row_context);
	return (Datum) 0;
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_history, history)

/* One row about the extension itself */
static Datum
info(FunctionCallInfo fcinfo, int api)
{
	TupleDesc	tupdesc;
	Datum		values[INFO_COLS];
	bool		nulls[INFO_COLS];
	pgpsGlobalStats stats;
	int64		buckets;
	int64		rows_lost;
	int			worker_pid;
	int			interval;
	int			i = 0;

	pgps_check_loaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pgps_check_columns(tupdesc, INFO_COLS);

	stats = pgps_stats_copy();
	interval = pgps_worker_interval(&worker_pid);
	pgps_history_counts(&buckets, &rows_lost);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int32GetDatum(worker_pid != 0 ? interval : pgps_sample_interval_ms);
	values[i++] = Int64GetDatum(stats.samples_taken);
	values[i] = timestamp_or_null(stats.last_sample, &nulls[i]);
	i++;
	values[i] = float8_or_null(pgps_mean(stats.total_sample_us,
											  stats.samples_taken), &nulls[i]);
	i++;
	values[i] = float8_or_null(stats.samples_taken > 0 ?
									stats.max_sample_us : -1, &nulls[i]);
	i++;
	values[i++] = Int64GetDatum(pgps_entry_count());
	values[i++] = Int32GetDatum(pgps_max_entries);
	values[i++] = Int64GetDatum(stats.evicted);
	values[i++] = Int64GetDatum(stats.dropped);
	values[i++] = Int64GetDatum(buckets);
	nulls[i] = (worker_pid == 0);
	values[i++] = Int32GetDatum(worker_pid);
	values[i++] = TimestampTzGetDatum(stats.stats_reset);
	values[i++] = Int64GetDatum((int64) pgps_shmem_size());
	values[i++] = Int64GetDatum(rows_lost);
	Assert(i == INFO_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_info, info)

/* The parts of the shared memory region, one row each */
Datum
pgpool_stats_memory_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgpsMemoryPart parts[PGPS_MEMORY_PARTS];

	pgps_check_loaded();
	pgps_init_srf(fcinfo);
	pgps_check_columns(rsinfo->setDesc, MEMORY_COLS);

	pgps_memory_parts(parts);
	for (int p = 0; p < PGPS_MEMORY_PARTS; p++)
	{
		Datum		values[MEMORY_COLS];
		bool		nulls[MEMORY_COLS] = {0};

		values[0] = CStringGetTextDatum(parts[p].name);
		values[1] = Int64GetDatum(parts[p].items);
		values[2] = Int64GetDatum(parts[p].item_bytes);
		values[3] = Int64GetDatum(parts[p].bytes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Take a sample now; returns the number of client sessions it saw */
static Datum
sample(FunctionCallInfo fcinfo, int api)
{
	pgps_check_loaded();
	PG_RETURN_INT32(pgps_sample());
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_sample, sample)

/* Forget all statistics but the open connections of live sessions */
static Datum
reset(FunctionCallInfo fcinfo, int api)
{
	pgps_check_loaded();
	pgps_reset_all();
	PG_RETURN_VOID();
}

PGPS_ENTRY_POINTS_1_0_1_1(pgpool_stats_reset, reset)
