/*-------------------------------------------------------------------------
 *
 * pgpool_stats.h
 *		Shared types of pgpool_stats, and the externs of each source file,
 *		grouped by the file that defines them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPOOL_STATS_H
#define PGPOOL_STATS_H

#include "compat.h"

#include "datatype/timestamp.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

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

/* Client address of a key; family 0 means none (Unix socket, or not tracked) */
typedef struct pgpsAddr
{
	uint8		family;			/* 0, PGSQL_AF_INET or PGSQL_AF_INET6 */
	uint8		bytes[16];		/* network order, 4 or 16 used */
} pgpsAddr;

/*
 * The key of every statistic.  Always zeroed before it is filled: it is
 * hashed and compared as raw bytes, padding included.
 */
typedef struct pgpsKey
{
	Oid			dbid;			/* InvalidOid: database unknown (failed login) */
	Oid			userid;			/* InvalidOid: role unknown (failed login) */
	pgpsAddr	addr;
	char		appname[NAMEDATALEN];	/* from the startup packet, sanitized */
} pgpsKey;

/* Connection churn of one key, since the entry was created or reset */
typedef struct pgpsChurn
{
	int64		connections;	/* sessions established */
	int64		disconnections; /* established sessions that ended */
	int64		auth_failures;	/* authentication rejected */
	int64		login_failures; /* authenticated, then failed before the
								 * session started (no such database, limits) */
	int64		short_sessions; /* ended sooner than short_session_ms */
	int32		open_connections;	/* established and not yet ended */
	uint64		session_total_us;	/* summed lifetime of ended sessions */
	uint64		session_max_us; /* longest ended session */
	uint64		setup_total_us; /* summed backend start to established */
	TimestampTz first_seen;		/* first event since creation or reset */
	TimestampTz last_connect;	/* last session established, 0 if none */
	uint32		session_hist[PGPS_HIST_BUCKETS];	/* ended sessions by
													 * lifetime */
} pgpsChurn;

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
 * What the sampler found for one key.  A sample that sees no session of the
 * key is not recorded here: the window's sample count is global, and its
 * zeros are added when the statistics are read.
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
									 * was busy (active or in a transaction) */
	int32		peak_total;
	int32		peak_active;
	int64		sum_total;		/* summed over the samples */
	int64		sum_active;
	int64		sum_busy;
	int64		longest_iit_us; /* longest idle in transaction seen */
	int64		iit_samples;	/* samples with a session idle in a
								 * transaction */
	uint32		hist_active[PGPS_COUNT_BUCKETS];	/* nonzero samples by
													 * active count */
	uint32		hist_busy[PGPS_COUNT_BUCKETS];	/* nonzero samples by busy
												 * count */
	uint32		hist_total[PGPS_COUNT_BUCKETS]; /* nonzero samples by total */

	/* the history bucket being filled (history.c) */
	bool		bucket_touched; /* a sample saw a session in it */
	int32		bucket_max_total;
	int32		bucket_max_active;
	int32		bucket_max_iit;
	int64		bucket_sum_total;
	int64		bucket_sum_active;
	int64		bucket_base_connections;	/* churn counters when it began */
	int64		bucket_base_disconnections;
} pgpsActivity;

/* One entry of the shared hash */
typedef struct pgpsEntry
{
	pgpsKey		key;			/* hash key; must be first */
	slock_t		mutex;			/* protects everything below but scratch */
	TimestampTz last_seen;		/* last event of any kind, for eviction */
	pgpsChurn	churn;
	pgpsActivity activity;

	/*
	 * The sample being taken: written and read only by whoever holds the
	 * sample lock, under the main lock, without the spinlock.
	 */
	int64		scratch_no;		/* sample number the scratch belongs to */
	pgpsCounts	scratch;
	int64		scratch_iit_us; /* longest idle in transaction in it */
} pgpsEntry;

/*
 * A client session, found by the sampler: one slot per backend, indexed by
 * the backend's number, set when the session is established and cleared
 * when it ends.  pid is written last and cleared first.
 */
typedef struct pgpsSlot
{
	volatile int pid;			/* 0: no session */
	pgpsEntry  *entry;			/* its key's entry; kept while it is open */
	struct PGPROC *proc;		/* for the wait event */
	struct PgBackendStatus *status; /* for the state */
} pgpsSlot;

/* One closed history bucket; its rows follow one another in the row ring */
typedef struct pgpsHistBucket
{
	TimestampTz start;
	TimestampTz end;
	int64		samples;		/* samples taken in it */
	int64		first_row;		/* absolute number of its first row */
	int32		nrows;
} pgpsHistBucket;

/* One key in one closed bucket */
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
} pgpsHistRow;

/* Global shared state */
typedef struct pgpsSharedState
{
	LWLock	   *lock;			/* protects the hash table's layout */
	LWLock	   *sample_lock;	/* held by whoever takes a sample */
	LWLock	   *history_lock;	/* protects the history ring */
	pgpsSlot   *slots;			/* pgps_num_slots of them */
	pgpsHistBucket *buckets;	/* pgps_history_size of them */
	pgpsHistRow *rows;			/* pgps_history_rows of them */

	slock_t		mutex;			/* protects the fields below */
	int64		evicted;		/* keys evicted to make room */
	int64		dropped;		/* events not recorded: no entry could be had */
	TimestampTz stats_reset;	/* last reset, or start of the statistics */
	int64		samples_taken;	/* since start; numbers the samples */
	TimestampTz last_sample;
	double		total_sample_us;	/* summed time of the samples */
	double		max_sample_us;
	int32		peak_sessions;	/* most client sessions in one sample */
	int			worker_pid;		/* 0: not running */
	int			worker_interval_ms; /* sample_interval the worker uses */

	/* history ring (history_lock) */
	int64		bucket_head;	/* absolute number of the next bucket */
	int64		bucket_tail;	/* of the oldest kept */
	int64		row_head;		/* absolute number of the next row */
	int64		row_tail;		/* of the oldest kept */
	int64		rows_lost;		/* rows that found no room in their bucket */
	/* the bucket being filled (sample_lock) */
	TimestampTz cur_bucket_start;	/* 0: none yet */
	TimestampTz cur_bucket_end;
	int64		cur_bucket_samples;

	/* the tail of the region that the hash's memory is carved from */
	Size		carve_start;	/* bytes from the start of this struct */
	Size		carve_size;		/* bytes */
	Size		carve_used;		/* bytes */
} pgpsSharedState;

/* pgpool_stats.c: settings */
extern int	pgps_max_entries;
extern bool pgps_track_client_addr;
extern int	pgps_short_session_ms;
extern int	pgps_sample_interval_ms;
extern int	pgps_history_interval_s;
extern int	pgps_history_size;
extern int	pgps_history_rows;
extern int	pgps_headroom_pct;
extern bool pgps_save;

/* the upper limit of pgpool_stats.headroom and of advise()'s headroom_pct */
#define PGPS_MAX_HEADROOM_PCT	1000
/* the upper limit of pgpool_stats.history_interval, in seconds: a day */
#define PGPS_MAX_HISTORY_INTERVAL_S	86400

/* shmem.c */
typedef enum pgpsCreateMode
{
	PGPS_FIND,					/* an existing entry only */
	PGPS_CREATE_IF_ROOM,		/* create while the table has room */
	PGPS_CREATE					/* create, evicting idle keys if full */
} pgpsCreateMode;

extern pgpsSharedState *pgps_state;
extern void pgps_shmem_request(void);
extern void pgps_shmem_startup(void);
extern Size pgps_shmem_size(void);
extern pgpsEntry *pgps_entry_get(const pgpsKey *key, pgpsCreateMode mode);
extern void pgps_count_dropped(void);
extern pgpsEntry *pgps_entry_snapshot(long *count, pgpsSharedState *st);
extern long pgps_entry_count(void);
extern struct HTAB *pgps_entry_hash(void);
extern void pgps_reset_all(void);
extern void pgps_check_loaded(void);
extern int	pgps_num_slots(void);
extern void pgps_slot_set(pgpsEntry *entry);
extern void pgps_slot_clear(void);

/* histogram.c */
extern int	pgps_hist_bucket(uint64 value, int sub_bits, int max_msb);
extern double pgps_hist_percentile(const uint64 *hist, int sub_bits,
								   int max_msb, uint64 extra_zeros,
								   double fraction, uint64 max_value);
extern double pgps_hist_percentile32(const uint32 *hist, int sub_bits,
									 int max_msb, uint64 extra_zeros,
									 double fraction, uint64 max_value);

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

/* collector.c */
extern void pgps_register_collector(void);
extern int	pgps_sample(void);
extern PGDLLEXPORT void pgps_collector_main(Datum main_arg);

/* persist.c */
extern void pgps_persist_startup(void);

/* history.c */
extern void pgps_history_close_bucket(TimestampTz now);
extern pgpsHistBucket *pgps_history_snapshot(int max_buckets, int *nbuckets,
											 pgpsHistRow **rows);

/* views.c: helpers the SQL functions share */
extern Datum pgps_float8_or_null(double value, bool *isnull);
extern bool pgps_sees_all_rows(void);
extern bool pgps_sees_row(bool see_all, Oid userid);
extern int	pgps_key_columns(const pgpsKey *key, bool full, Datum *values,
							 bool *nulls);
extern pgpsSharedState pgps_state_copy(void);

/* conn_hooks.c */
extern void pgps_install_conn_hooks(void);
extern void pgps_copy_appname(char *dst, const char *src);

#endif							/* PGPOOL_STATS_H */
