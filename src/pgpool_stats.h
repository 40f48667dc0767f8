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
 * Session lifetimes go into a fixed log-scale histogram of microseconds:
 * values 0-3 have a bucket each, then every power of two is split into four
 * buckets (so a bucket is at most 25% of its lower bound wide, and a
 * percentile read from it is within 12.5% of the truth).  The last bucket
 * starts at 1.75 x 2^39 us (11 days) and takes everything longer.
 */
#define PGPS_HIST_SUB_BITS		2
#define PGPS_HIST_SUB			(1 << PGPS_HIST_SUB_BITS)
#define PGPS_HIST_MAX_MSB		39
#define PGPS_HIST_BUCKETS		(PGPS_HIST_SUB * PGPS_HIST_MAX_MSB)

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

/* One entry of the shared hash */
typedef struct pgpsEntry
{
	pgpsKey		key;			/* hash key; must be first */
	slock_t		mutex;			/* protects everything below */
	TimestampTz last_seen;		/* last event of any kind, for eviction */
	pgpsChurn	churn;
} pgpsEntry;

/* Global shared state */
typedef struct pgpsSharedState
{
	LWLock	   *lock;			/* protects the hash table's layout */
	slock_t		mutex;			/* protects the fields below */
	int64		evicted;		/* keys evicted to make room */
	int64		dropped;		/* events not recorded: no entry could be had */
	TimestampTz stats_reset;	/* last reset, or start of the statistics */
	/* the tail of the region that the hash's memory is carved from */
	Size		carve_start;	/* bytes from the start of this struct */
	Size		carve_size;		/* bytes */
	Size		carve_used;		/* bytes */
} pgpsSharedState;

/* pgpool_stats.c: settings */
extern int	pgps_max_entries;
extern bool pgps_track_client_addr;
extern int	pgps_short_session_ms;

/* shmem.c */
extern pgpsSharedState *pgps_state;
extern void pgps_shmem_request(void);
extern void pgps_shmem_startup(void);
extern Size pgps_shmem_size(void);
extern pgpsEntry *pgps_entry_get(const pgpsKey *key, bool create);
extern void pgps_count_dropped(void);
extern pgpsEntry *pgps_entry_snapshot(long *count);
extern long pgps_entry_count(void);
extern void pgps_reset_all(void);
extern void pgps_check_loaded(void);

/* histogram.c */
extern int	pgps_hist_bucket(uint64 value);
extern double pgps_hist_percentile(const uint32 *hist, int nbuckets,
								   double fraction, uint64 max_value);

/* conn_hooks.c */
extern void pgps_install_conn_hooks(void);

#endif							/* PGPOOL_STATS_H */
