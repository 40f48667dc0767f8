/*-------------------------------------------------------------------------
 *
 * store.h
 *		The key store (shmem.c): one entry per key in a shared hash, and the
 *		functions that find, create, walk, copy and restore entries, for the
 *		files that read or write them.
 *
 * Locking (the whole order is in src/README): each partition's LWLock
 * protects the layout of its buckets, each entry's spinlock its statistics.
 * The functions below say which they take; none throws while holding one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPS_STORE_H
#define PGPS_STORE_H

#include "port/atomics.h"
#include "storage/spin.h"

#include "pgpool_stats.h"

struct PgBackendStatus;
struct PGPROC;

/*
 * One entry of the shared hash.  Each part of the statistics has one
 * writer: churn conn_hooks.c, activity collector.c, bucket history.c.
 */
typedef struct pgpsEntry
{
	pgpsKey		key;			/* compared and hashed as raw bytes */
	uint32		hash;			/* of the key: its bucket and partition */
	int32		next;			/* the next entry in its bucket's chain, or
								 * in the free list; -1: none */
	slock_t		mutex;			/* protects everything below but scratch */
	TimestampTz last_seen;		/* last event of any kind, for eviction */
	pgpsChurn	churn;
	pgpsActivity activity;
	pgpsBucketPart bucket;
	pgpsUsage	usage;			/* the sessions' ends: conn_hooks.c; their
								 * transactions and statements: conn_hooks.c
								 * and the sampler's walk (pgps_usage_flush) */
	pgpsBucketLoad bucket_load; /* the load of its part of the bucket:
								 * history.c */

	/*
	 * The sample being taken (collector.c): written and read only by whoever
	 * holds the sample lock, under the entry's partition, without the spinlock.
	 */
	int64		scratch_no;		/* sample number the scratch belongs to */
	pgpsCounts	scratch;
	int64		scratch_iit_us; /* longest idle in transaction in it */
	int32		scratch_held;	/* sessions in it idle in a transaction for
								 * leak_threshold or more */
	bool		scratch_lent;	/* a session of the key carried another
								 * application's name (a pooler's) */
	bool		scratch_pooled; /* busy sessions of a pooler carrying this
								 * key's name were counted in it */
} pgpsEntry;

/*
 * What one session has done, in its slot: counted by the session alone,
 * with plain stores (pg_atomic_write_u64 only makes a 64-bit store whole on
 * every platform), no lock and no other writer, so a transaction costs an
 * increment.  What has been added to the entry's usage is marked under the
 * entry's spinlock, by whoever adds it: the sampler while the session
 * holds its slot, the session at its end.
 */
typedef struct pgpsSessionCounts
{
	pg_atomic_uint64 transactions;
	pg_atomic_uint64 statements;
	pg_atomic_uint64 xact_us;	/* the transactions' time, start to end */
	pg_atomic_uint64 xact_sq;	/* the sum of its squares, in us x ms
								 * (modulo 2^64: only differences count) */
	uint64		flushed_transactions;	/* under the entry's spinlock */
	uint64		flushed_statements;
	uint64		flushed_xact_us;
	uint64		flushed_xact_sq;
} pgpsSessionCounts;

/* Add what a session did since the last time to its entry's usage; called
 * under the entry's spinlock */
static inline void
pgps_usage_flush(pgpsUsage *usage, pgpsSessionCounts *counts)
{
	uint64		transactions = pg_atomic_read_u64(&counts->transactions);
	uint64		statements = pg_atomic_read_u64(&counts->statements);
	uint64		xact_us = pg_atomic_read_u64(&counts->xact_us);
	uint64		xact_sq = pg_atomic_read_u64(&counts->xact_sq);

	/* each new transaction was timed (a slot's every one is) */
	usage->transactions += (int64) (transactions - counts->flushed_transactions);
	usage->timed_transactions += (int64) (transactions - counts->flushed_transactions);
	usage->statements += (int64) (statements - counts->flushed_statements);
	usage->xact_time_us += (int64) (xact_us - counts->flushed_xact_us);
	usage->xact_time_sq += (double) (xact_sq - counts->flushed_xact_sq) / 1000;
	counts->flushed_transactions = transactions;
	counts->flushed_statements = statements;
	counts->flushed_xact_us = xact_us;
	counts->flushed_xact_sq = xact_sq;
}

typedef enum pgpsCreateMode
{
	PGPS_FIND,					/* an existing entry only */
	PGPS_CREATE_IF_ROOM,		/* create while the table has room */
	PGPS_CREATE					/* create, evicting idle keys if full */
} pgpsCreateMode;

/*
 * The store's partitions, each under an LWLock of its own (a power of two,
 * as the server's NUM_BUFFER_PARTITIONS), and the extension's LWLocks: the
 * sample lock, the history's, then one per partition.
 */
#define PGPS_PARTITIONS			64
#define PGPS_LOCK_SAMPLE		0
#define PGPS_LOCK_HISTORY		1
#define PGPS_LOCK_PARTITIONS	2
#define PGPS_LOCKS				(PGPS_LOCK_PARTITIONS + PGPS_PARTITIONS)

/* Flags of pgps_entry_stream */
#define PGPS_SNAP_CONSISTENT	0x01	/* under the sample lock: no sample
										 * falls between the copy and *stats */

/* Copies what a reader needs of one entry; called under its spinlock */
typedef void (*pgpsCopyFn) (void *dst, const pgpsEntry *entry);
/* Takes one copy; called with no lock held */
typedef void (*pgpsEmitFn) (const void *copy, void *arg);
/* Visits one entry; called under its partition's lock, not the spinlock */
typedef void (*pgpsEntryFn) (pgpsEntry *entry, void *arg);
/* Ends one partition of a walk; called with no lock held */
typedef void (*pgpsPartDoneFn) (void *arg);
/* Visits one open session's slot; called under every partition's lock */
typedef void (*pgpsSlotFn) (pgpsEntry *entry, int pid,
							volatile struct PgBackendStatus *status,
							volatile struct PGPROC *proc, void *arg);
/* Visits one open session's slot with a copy of its key; no lock held */
typedef void (*pgpsSlotKeyFn) (const pgpsKey *key, int pid,
							   volatile struct PgBackendStatus *status,
							   volatile struct PGPROC *proc, void *arg);

/* exported: the benchmark's key filler (test/bench/fill) calls them */
extern PGDLLEXPORT pgpsEntry *pgps_entry_acquire(const pgpsKey *key,
												 pgpsCreateMode mode,
												 TimestampTz now);
extern PGDLLEXPORT void pgps_entry_release(pgpsEntry *entry);
extern pgpsEntry *pgps_entry_find_locked(const pgpsKey *key);
extern void pgps_entry_stream(Size size, pgpsCopyFn copy, pgpsEmitFn emit,
							  void *arg, int flags, pgpsGlobalStats *stats);
extern long pgps_entry_count(void);
extern bool pgps_entry_restore(const pgpsKey *key, TimestampTz last_seen,
							   const pgpsChurn *churn,
							   const pgpsActivity *activity,
							   const pgpsBucketPart *bucket,
							   const pgpsUsage *usage,
							   const pgpsBucketLoad *bucket_load);
extern void pgps_store_lock(LWLockMode mode);
extern void pgps_store_unlock(void);
extern void pgps_entry_foreach(pgpsEntryFn fn, pgpsPartDoneFn done, void *arg,
							   bool locked);
extern int	pgps_slot_foreach(pgpsSlotFn fn, void *arg);
extern void pgps_slot_foreach_key(pgpsSlotKeyFn fn, void *arg);
extern int	pgps_unkeyed_sessions(void);
extern pgpsSessionCounts *pgps_slot_set(pgpsEntry *entry);
extern void pgps_slot_clear(void);
extern void pgps_sample_lock(LWLockMode mode);
extern void pgps_sample_unlock(void);

/* An entry's spinlock, for a walk that reads or writes its statistics */
static inline void
pgps_entry_lock(pgpsEntry *entry)
{
	SpinLockAcquire(&entry->mutex);
}

static inline void
pgps_entry_unlock(pgpsEntry *entry)
{
	SpinLockRelease(&entry->mutex);
}

/* history.c: the parts the sampler, the store and the file use */
extern void pgps_history_tick(TimestampTz now);
extern void pgps_history_add_sample(pgpsBucketPart *part,
									pgpsBucketLoad *load,
									const pgpsCounts *counts, int32 busy);

/* The file's view of the ring (persist.c) */
typedef bool (*pgpsWriteFn) (const void *data, size_t len, void *arg);
extern void pgps_history_dump_state(pgpsHistoryDump *state, int64 *nbuckets,
									int64 *nrows);
extern bool pgps_history_write(pgpsWriteFn write, void *arg);
extern const char *pgps_history_check(const pgpsHistoryDump *state,
									  const pgpsHistBucket *buckets,
									  int64 nbuckets, int64 nrows);
extern int64 pgps_history_restore(const pgpsHistoryDump *state,
								  const pgpsHistBucket *buckets,
								  int64 nbuckets, const pgpsHistRow *rows);

#endif							/* PGPS_STORE_H */
