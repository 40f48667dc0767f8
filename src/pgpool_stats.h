/*-------------------------------------------------------------------------
 *
 * pgpool_stats.h
 *		What every source file of pgpool_stats needs: the settings, the key
 *		and the statistics kept for it, and the entry points of each file,
 *		grouped by the file that defines them.
 *
 * The key store's entries and its API are in store.h, for the files that
 * read or write entries; the layout of shared memory is private to
 * shmem.c, and the history ring's to history.c.  src/README is the map.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPOOL_STATS_H
#define PGPOOL_STATS_H

#include "compat.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "storage/lwlock.h"

/*
 * Fixed log-scale histograms (histogram.c): with S sub-bucket bits, values
 * below 2^S have a bucket each, then every power of two is split into 2^S
 * equal buckets, up to the power 2^M, whose last bucket takes everything
 * larger.  (M - S + 2) x 2^S buckets.
 *
 * Session lifetimes, in microseconds: S = 2 (a bucket is at most 25% of its
 * lower bound wide, so a percentile is within 12.5%), M = 39 (the last
 * bucket starts at 1.75 x 2^39 us, 11 days).
 */
#define PGPS_HIST_SUB_BITS		2
#define PGPS_HIST_MAX_MSB		39
#define PGPS_HIST_BUCKETS		((PGPS_HIST_MAX_MSB - PGPS_HIST_SUB_BITS + 2) << PGPS_HIST_SUB_BITS)

/*
 * Sampled connection counts: S = 3, exact up to 15, within 6% up to 2^17
 * connections, beyond any max_connections in use.
 */
#define PGPS_COUNT_SUB_BITS		3
#define PGPS_COUNT_MAX_MSB		17
#define PGPS_COUNT_BUCKETS		((PGPS_COUNT_MAX_MSB - PGPS_COUNT_SUB_BITS + 2) << PGPS_COUNT_SUB_BITS)

/* the most backends a server can have (MAX_BACKENDS, 2^18 - 1) */
#define PGPS_MAX_CONNECTIONS	262143
/* the upper limit of pgpool_stats.headroom and of advise()'s headroom */
#define PGPS_MAX_HEADROOM_PCT	1000
/* the upper limit of pgpool_stats.wait_target, in ms: an hour */
#define PGPS_MAX_WAIT_TARGET_MS	3600000
#define PGPS_MAX_BUSIEST_SPAN_S	31536000	/* a year */
/* the upper limit of pgpool_stats.history_interval, in seconds: a day */
#define PGPS_MAX_HISTORY_INTERVAL_S	86400

/*
 * Client address of a key; family 0 means none (Unix socket, or not
 * tracked).  Written to the statistics file: changing it bumps
 * PGPS_DUMP_FORMAT (persist.c).
 */
typedef struct pgpsAddr
{
	uint8		family;			/* 0, PGSQL_AF_INET or PGSQL_AF_INET6 */
	uint8		bytes[16];		/* network order, 4 or 16 used */
} pgpsAddr;

/*
 * The key of every statistic.  Always zeroed before it is filled: it is
 * hashed and compared as raw bytes, padding included.  Written to the
 * statistics file: changing it bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsKey
{
	Oid			dbid;			/* InvalidOid: database unknown (failed login) */
	Oid			userid;			/* InvalidOid: role unknown (failed login) */
	pgpsAddr	addr;
	char		appname[NAMEDATALEN];	/* from the startup packet, sanitized */
} pgpsKey;

/*
 * Connection churn of one key, since the entry was created or reset; written
 * by conn_hooks.c only.  Written to the statistics file: changing it bumps
 * PGPS_DUMP_FORMAT.
 */
typedef struct pgpsChurn
{
	int64		connections;	/* sessions established */
	int64		disconnections; /* established sessions that ended */
	int64		auth_failures;	/* authentication rejected */
	int64		login_failures; /* authenticated, then failed before the
								 * session started (no such database, limits) */
	int64		short_sessions; /* ended sooner than short_session */
	int32		open_connections;	/* established and not yet ended */
	uint64		session_total_us;	/* summed lifetime of ended sessions */
	uint64		session_max_us; /* longest ended session */
	uint64		setup_total_us; /* summed backend start to established */
	TimestampTz first_seen;		/* first event since creation or reset */
	TimestampTz last_connect;	/* last session established, 0 if none */
	uint32		session_hist[PGPS_HIST_BUCKETS];	/* ended sessions by
													 * lifetime */
} pgpsChurn;

/*
 * What one key's sessions did, and how they ended (since 1.3, statistics
 * file format 5; the transactions' time since 1.4, format 6).  The
 * transactions, their time and statements are counted by each
 * session in its own slot and added here when a sample sees the session and
 * when it ends (conn_hooks.c, shmem.c), so live sessions show too; the ends
 * are counted by the session's end, by the cause pg_stat_database counts
 * them under; connections with the churn's, so that the ratios compare
 * counts of the same time after a file of 1.2 or earlier is converted
 * (its usage starts at zero).  Written to the statistics file: changing it
 * bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsUsage
{
	int64		connections;	/* established since usage was counted: the
								 * churn's, less what a statistics file of
								 * an earlier format carried */
	int64		transactions;	/* committed, rolled back or prepared */
	int64		statements;		/* run at the top level (a client's) */
	int64		sessions_normal;	/* ended by the client's Terminate, or the
									 * server's own exit */
	int64		sessions_abandoned; /* the client vanished (no Terminate) */
	int64		sessions_fatal; /* ended by an error (a timeout, ...) */
	int64		sessions_killed;	/* terminated (pg_terminate_backend,
									 * SIGTERM, a shutdown) */
	/* since 1.4 (statistics file format 6) */
	int64		timed_transactions; /* transactions whose time is counted:
									 * those since usage was timed */
	int64		xact_time_us;	/* their time, from the start of each (its
								 * first statement's arrival) to its end:
								 * how long it held its connection */
	double		xact_time_sq;	/* the sum of its squares, in ms^2: how
								 * alike the transactions' times are */
} pgpsUsage;

/* Sessions of one key in one sample, by state */
typedef struct pgpsCounts
{
	int32		total;			/* every session of the key */
	int32		active;			/* running a query (waiting included) */
	int32		idle;
	int32		idle_in_xact;
	int32		idle_in_xact_aborted;
	int32		waiting;		/* active and waiting on a heavyweight lock */
} pgpsCounts;

/*
 * What the sampler found for one key; written by collector.c only.  A
 * sample that sees no session of the key is not recorded here: the window's
 * sample count is global, and its zeros are added when the statistics are
 * read (figures.c).  Written to the statistics file: changing it bumps
 * PGPS_DUMP_FORMAT.
 */
typedef struct pgpsActivity
{
	int64		window_start_no;	/* global sample number the window starts
									 * after */
	int64		last_sample_no; /* last sample that saw a session; 0: none */
	TimestampTz last_sample;	/* time of that sample */
	pgpsCounts	latest;			/* that sample's counts */
	int64		nonzero_samples;	/* samples that saw a session */
	int64		saturated_samples;	/* of those, samples where every session
									 * was busy (active, or in a transaction
									 * idle for less than leak_threshold) */
	int32		peak_total;
	int32		peak_active;
	int64		sum_total;		/* summed over the samples */
	int64		sum_active;
	int64		sum_busy;
	int64		longest_iit_us; /* longest idle in transaction seen */
	int64		long_iit_samples;	/* samples with a session idle in a
									 * transaction for at least
									 * idle_in_transaction_threshold */
	uint32		hist_active[PGPS_COUNT_BUCKETS];	/* nonzero samples by
													 * active count */
	uint32		hist_busy[PGPS_COUNT_BUCKETS];	/* nonzero samples by busy
												 * count */
	uint32		hist_total[PGPS_COUNT_BUCKETS]; /* nonzero samples by total */
	/* since 1.2 (statistics file format 4) */
	int64		lent_samples;	/* samples in which a session of the key
								 * carried another application's name: the
								 * key is a pooler's */
	int64		pooled_samples; /* samples that counted busy sessions of a
								 * pooler carrying the key's name: the key
								 * is an application behind a pooler */
} pgpsActivity;

/*
 * One key's part of the history bucket being filled; read and written by
 * history.c only.  Written to the statistics file: changing it bumps
 * PGPS_DUMP_FORMAT.
 */
typedef struct pgpsBucketPart
{
	bool		touched;		/* a sample saw a session in it */
	int32		max_total;
	int32		max_active;
	int32		max_iit;
	int64		sum_total;
	int64		sum_active;
	int64		base_connections;	/* churn counters when it began */
	int64		base_disconnections;
} pgpsBucketPart;

/*
 * One key's load in the history bucket being filled, for the wait model
 * over a span of history (the busiest hour): the busy count's sums over
 * its samples, and the usage counters when it began.  Since 1.4; read and
 * written by history.c only.  Written to the statistics file: changing it
 * bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsBucketLoad
{
	int64		sum_busy;		/* over the bucket's samples */
	int64		sum_busy_sq;
	int64		base_transactions;	/* usage counters when it began */
	int64		base_timed_transactions;
	int64		base_xact_time_us;
	double		base_xact_time_sq;
} pgpsBucketLoad;

/*
 * What the wait model needs of one key, copied from its entry
 * (pgps_load_copy); rules.h's pgps_load_facts makes the model's inputs of it
 */
typedef struct pgpsLoadCopy
{
	TimestampTz first_seen;		/* the churn's: the first event, or reset */
	int64		transactions;
	int64		timed_transactions;
	int64		xact_time_us;
	double		xact_time_sq;
	int64		window_start_no;
	int64		nonzero_samples;
	int64		saturated_samples;
	int64		sum_busy;
	uint32		hist_busy[PGPS_COUNT_BUCKETS];
} pgpsLoadCopy;

/*
 * The global statistics, under the shared state's mutex (shmem.c): copied
 * whole by pgps_stats_copy() and written whole to the statistics file, so
 * changing it bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsGlobalStats
{
	TimestampTz stats_reset;	/* last reset, or start of the statistics */
	int64		evicted;		/* keys evicted to make room */
	int64		dropped;		/* events not recorded: no entry could be had */
	int64		samples_taken;	/* since start; numbers the samples */
	TimestampTz last_sample;
	double		total_sample_us;	/* summed time of the samples */
	double		max_sample_us;
	int32		peak_sessions;	/* most client sessions in one sample */
} pgpsGlobalStats;

/*
 * One closed history bucket; its rows follow one another in the row ring.
 * Written to the statistics file: changing it bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsHistBucket
{
	TimestampTz start;
	TimestampTz end;
	int64		samples;		/* samples taken in it */
	int64		first_row;		/* number of its first row */
	int32		nrows;
} pgpsHistBucket;

/*
 * One key in one closed bucket.  Written to the statistics file: changing
 * it bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsHistRow
{
	pgpsKey		key;			/* a copy: rows outlive evicted keys */
	int32		max_total;
	int32		max_active;
	int32		max_iit;		/* idle in transaction, aborted included */
	int32		connections;
	int32		disconnections;
	int64		sum_total;		/* over the bucket's samples */
	int64		sum_active;
	/* since 1.4 (statistics file format 6): its load, for the wait model */
	int64		transactions;	/* ended in it */
	int64		timed_transactions;
	int64		xact_time_us;
	double		xact_time_sq;	/* ms^2 */
	int64		sum_busy;		/* over the bucket's samples */
	int64		sum_busy_sq;
} pgpsHistRow;

/*
 * The history's own state in the statistics file: the bucket being filled
 * (whose sums the keys carry) and the rows lost.  Written at the start of
 * the file's history part: changing it bumps PGPS_DUMP_FORMAT.
 */
typedef struct pgpsHistoryDump
{
	TimestampTz cur_start;		/* the bucket being filled; 0: none */
	TimestampTz cur_end;
	int64		cur_samples;
	int64		rows_lost;
} pgpsHistoryDump;

/* pgpool_stats.c: settings */
extern int	pgps_max_entries;
extern bool pgps_track_client_addr;
extern int	pgps_short_session_ms;
extern int	pgps_iit_threshold_ms;
extern int	pgps_leak_threshold_ms;
extern int	pgps_sample_interval_ms;
extern int	pgps_history_interval_s;
extern int	pgps_history_size;
extern int	pgps_history_rows;
extern int	pgps_headroom_pct;
extern int	pgps_wait_target_ms;
extern int	pgps_busiest_span_s;
extern bool pgps_save;

/* shmem.c: the region, the global statistics, the locks */
extern void pgps_shmem_request(void);
extern void pgps_shmem_startup(void);
extern Size pgps_shmem_size(void);
extern bool pgps_loaded(void);
extern void pgps_check_loaded(void);
extern pgpsGlobalStats pgps_stats_copy(void);
extern void pgps_stats_restore(const pgpsGlobalStats *stats);
extern void pgps_count_dropped(void);
extern int64 pgps_sample_begin(void);
extern void pgps_sample_end(TimestampTz now, double us, int sessions);
extern void pgps_worker_publish(int pid, int interval_ms);
extern int	pgps_worker_interval(int *pid);
extern void pgps_reset_all(void);
extern int	pgps_num_slots(void);

/* One part of the shared memory region, for pgpool_stats_memory */
typedef struct pgpsMemoryPart
{
	const char *name;
	int64		items;
	int64		item_bytes;
	int64		bytes;
} pgpsMemoryPart;

#define PGPS_MEMORY_PARTS	6
extern void pgps_memory_parts(pgpsMemoryPart *parts);

/* histogram.c */
extern int	pgps_hist_bucket(uint64 value, int sub_bits, int max_msb);
extern double pgps_hist_percentile(const uint64 *hist, int sub_bits,
								   int max_msb, uint64 extra_zeros,
								   double fraction, uint64 max_value);
extern double pgps_hist_kth_largest(const uint64 *hist, int sub_bits,
									int max_msb, uint64 extra_zeros, uint64 k,
									uint64 max_value);
extern double pgps_hist_percentile32(const uint32 *hist, int sub_bits,
									 int max_msb, uint64 extra_zeros,
									 double fraction, uint64 max_value);
extern double pgps_hist_kth_largest32(const uint32 *hist, int sub_bits,
									  int max_msb, uint64 extra_zeros,
									  uint64 k, uint64 max_value);
extern double pgps_hist_share_at_least32(const uint32 *hist, int sub_bits,
										 int max_msb, uint64 extra_zeros,
										 uint64 value);
extern void pgps_hist_moments32(const uint32 *hist, int sub_bits, int max_msb,
								uint64 extra_zeros, double *mean,
								double *variance);

/* Count one value in a key's 32-bit histogram; a full bucket stays full */
#define pgps_hist_add(hist, bucket) \
	do { \
		if ((hist)[bucket] < PG_UINT32_MAX) \
			(hist)[bucket]++; \
	} while (0)
#define pgps_lifetime_bucket(v) \
	pgps_hist_bucket((v), PGPS_HIST_SUB_BITS, PGPS_HIST_MAX_MSB)
#define pgps_count_bucket(v) \
	pgps_hist_bucket((v), PGPS_COUNT_SUB_BITS, PGPS_COUNT_MAX_MSB)

/* figures.c: figures derived from the counters, for views and rules alike */
extern int64 pgps_window_samples(int64 window_start_no, int64 samples_taken);
extern void pgps_load_copy(pgpsLoadCopy *dst, const pgpsChurn *churn,
						   const pgpsUsage *usage, const pgpsActivity *activity);
struct pgpsLoadFacts;			/* rules.h */
extern void pgps_load_facts(const pgpsLoadCopy *c, int64 samples_taken,
							TimestampTz last_sample, struct pgpsLoadFacts *f);
extern double pgps_rate_seconds(TimestampTz first_seen, TimestampTz last_seen,
								int64 open_connections, TimestampTz now);
extern double pgps_lifetime_ms(const uint64 *hist, uint64 max_us,
							   double fraction);
extern double pgps_lifetime32_ms(const uint32 *hist, uint64 max_us,
								 double fraction);
extern double pgps_count_percentile(const uint64 *hist, uint64 zeros,
									double fraction, int32 peak);
extern double pgps_count32_percentile(const uint32 *hist, uint64 zeros,
									  double fraction, int32 peak);
extern double pgps_count32_kth_largest(const uint32 *hist, uint64 zeros,
									  uint64 k, int32 peak);
extern int64 pgps_zero_samples(int64 window_samples, int64 nonzero_samples);
extern double pgps_mean(double sum, double n);
extern double pgps_ms(double us);
extern double pgps_reuse_share(int64 transactions, int64 connections);

/* collector.c */

/* The sessions one key has left behind now (pgps_left_behind) */
typedef struct pgpsLeftBehind
{
	pgpsKey		key;
	int32		open;			/* sessions of the key open now */
	int32		sessions;		/* of those, left behind */
	int32		in_transaction; /* of those, idle in a transaction */
	TimestampTz oldest_idle_since;	/* of those */
} pgpsLeftBehind;

extern void pgps_register_collector(void);
extern int	pgps_sample(void);
extern pgpsLeftBehind *pgps_left_behind(int64 threshold_us, int *count);
extern PGDLLEXPORT void pgps_collector_main(Datum main_arg);

/* persist.c */
extern void pgps_persist_startup(void);

/* history.c: the ring's public reads (the rest is in store.h) */
extern Size pgps_history_shmem_size(void);
extern void pgps_history_shmem_init(void *place, bool found, LWLock *lock);
extern pgpsHistBucket *pgps_history_snapshot(int max_buckets, int *nbuckets,
											 pgpsHistRow **rows);
extern void pgps_history_counts(int64 *buckets, int64 *rows_lost);
extern void pgps_history_reset(void);
extern int32 pgps_history_open_before(const pgpsKey *key, TimestampTz when);

/* API versions of the install scripts: the C entry points' suffixes */
#define PGPS_API_1_0	10
#define PGPS_API_1_1	11
#define PGPS_API_1_2	12
#define PGPS_API_1_3	13
#define PGPS_API_1_4	14

/* The C entry point of an SQL function in API version v (1_0, 1_1, ...) */
#define PGPS_ENTRY_POINT(name, impl, v) \
	PG_FUNCTION_INFO_V1(name##_##v); \
	Datum name##_##v(PG_FUNCTION_ARGS) { return impl(fcinfo, PGPS_API_##v); }

/*
 * The C entry points of an SQL function in API versions 1.0 and 1.1 of the
 * install scripts, both served by impl(fcinfo, api), which fills the
 * columns of that version and checks the number the calling SQL declares
 * (pgps_check_columns).
 */
#define PGPS_ENTRY_POINTS_1_0_1_1(name, impl) \
	PGPS_ENTRY_POINT(name, impl, 1_0) \
	PGPS_ENTRY_POINT(name, impl, 1_1)

/* The same for an SQL function whose columns changed again in 1.2 */
#define PGPS_ENTRY_POINTS_1_0_1_2(name, impl) \
	PGPS_ENTRY_POINTS_1_0_1_1(name, impl) \
	PGPS_ENTRY_POINT(name, impl, 1_2)

/* views.c: helpers the SQL functions share */
extern bool pgps_sees_all_rows(void);
extern bool pgps_sees_row(bool see_all, Oid userid);
extern void pgps_hide_figures(bool full, bool *nulls, int from, int ncols);
extern Datum pgps_addr_datum(const pgpsAddr *addr, bool *isnull);
extern void pgps_check_columns(TupleDesc tupdesc, int expected);
extern struct HTAB *pgps_local_hash(const char *name, long nelem, Size keysize,
									Size entrysize);
struct ReturnSetInfo;
extern MemoryContext pgps_row_context(void);
extern void pgps_put_row(struct ReturnSetInfo *rsinfo, MemoryContext row_context,
						 Datum *values, bool *nulls);
extern int	pgps_max_pool(void);

/* The history's rows by key, to find each key's busiest span of it */
typedef struct pgpsSpanIndex
{
	int64		span_us;		/* the span's length; 0: none (the window) */
	pgpsHistBucket *buckets;	/* the closed buckets, oldest first */
	int			nbuckets;
	pgpsHistRow *rows;
	int64	   *samples_before; /* samples of the buckets before each */
	struct HTAB *keys;			/* pgpsKey -> its rows, in bucket order */
} pgpsSpanIndex;

struct pgpsLoadFacts;			/* rules.h */
extern void pgps_span_index(pgpsSpanIndex *ix, int64 span_us,
							const char *appname);
extern void pgps_span_load_facts(const pgpsSpanIndex *ix, const pgpsKey *key,
								 const pgpsLoadCopy *c,
								 const pgpsGlobalStats *stats, int64 min_timed,
								 struct pgpsLoadFacts *f, TimestampTz *start,
								 TimestampTz *end);

/* views_pool.c */
struct pgpsLoad;				/* rules.h */
extern void pgps_load_arg(double rate, double hold_ms, double burstiness,
						  double variability, struct pgpsLoad *load);

/* conn_hooks.c */
extern void pgps_install_conn_hooks(void);
extern void pgps_copy_appname(char *dst, const char *src);

#endif							/* PGPOOL_STATS_H */
