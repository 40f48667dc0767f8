/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of pgpool_stats: its request and start-up, the global
 *		statistics, and the key store (the hash of entries, eviction, reset,
 *		the readers' streams, and the session slots the sampler reads).
 *
 * Locking (src/README has the whole order): the store is split into
 * PGPS_PARTITIONS partitions by the low bits of a key's hash, each under an
 * LWLock of its own.  Look-ups and walks hold a partition shared, one at a
 * time; insertion and eviction hold it exclusive and touch statistics
 * without the entries' spinlocks, since no one else can be updating one.
 * The sampler and a reset hold every partition (pgps_store_lock).  An entry
 * with open connections is never removed, and entries never move, so a
 * slot's entry pointer stays valid while the session lives.  Nothing here
 * throws while holding a spinlock, nothing waits on anything while holding a
 * partition, and nothing is slow but the eviction scan,
 * bounded by PGPS_EVICT_SCAN keys, which runs only when the table is full
 * and then frees a twentieth of what it scanned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "common/hashfn.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pgpool_stats.h"
#include "store.h"

/*
 * A client session, found by the sampler: one slot per backend, indexed by
 * the backend's number, set when the session is established and cleared
 * when it ends.  pid is written last and cleared first.
 */
typedef struct pgpsSlot
{
	volatile int pid;			/* 0: no session */
	pgpsEntry  *entry;			/* its key's entry (NULL: it got none); kept
								 * while it is open */
	struct PGPROC *proc;		/* for the wait event */
	struct PgBackendStatus *status; /* for the state */
} pgpsSlot;

/*
 * What a session did (store.h), beside its slot in an array of its own, a
 * cache line each: the session writes it at every transaction, and the
 * sampler's walk of every slot does not read it (only a live session's),
 * so neither touches the other's lines, nor one session its neighbour's.
 */
typedef union pgpsCountsSlot
{
	pgpsSessionCounts counts;
	char		pad[PG_CACHE_LINE_SIZE];
} pgpsCountsSlot;

#ifndef PG_HAVE_ATOMIC_U64_SIMULATION
StaticAssertDecl(sizeof(pgpsSessionCounts) <= PG_CACHE_LINE_SIZE,
				 "a session's counts fit one cache line");
#endif

/*
 * The shared state, split by what protects each part.  The ring of the
 * history is history.c's, in the region after the slots.
 *
 * The key store is a hash table of max_entries entries, fixed at start,
 * with chained buckets, split into PGPS_PARTITIONS partitions by the low
 * bits of a key's hash, each under an LWLock of its own, as the server's
 * buffer mapping table is: a key's bucket and its chain belong to its
 * partition.  Readers walk one partition at a time, so a login that needs
 * a new key waits at most for one partition's copy, whatever the table's
 * size and the number of readers.
 */
typedef struct pgpsSharedState
{
	/* set at creation, read-only after */
	LWLock	   *sample_lock;	/* held by whoever takes a sample */
	LWLock	   *part_locks[PGPS_PARTITIONS];
	pgpsSlot   *slots;			/* pgps_num_slots() of them */
	pgpsCountsSlot *counts;		/* as many, beside them */
	int32	   *buckets;		/* nbuckets chain heads, entry numbers */
	pgpsEntry  *entries;		/* max_entries of them */
	uint32		nbuckets;		/* a power of two, at least PGPS_PARTITIONS */
	int32		nentries_max;	/* max_entries at creation */

	/* under each partition's lock, exclusive to write */
	int32		part_count[PGPS_PARTITIONS];	/* keys in it */

	slock_t		mutex;			/* protects the following fields only: */
	pgpsGlobalStats stats;
	int			worker_pid;		/* 0: not running */
	int			worker_interval_ms; /* sample_interval the worker uses */
	int32		free_head;		/* first free entry, chained by next; -1 */
	int32		nentries;		/* keys in use */
	int32		evict_cursor;	/* partition the next eviction starts at */
} pgpsSharedState;

static pgpsSharedState *pgps_state = NULL;

/*
 * How many keys one eviction frees: a twentieth of the keys it scans, as
 * pg_stat_statements does, so that a client putting a new name in every
 * connection pays for a scan once in that many connections.  A scan covers
 * the whole table up to PGPS_EVICT_SCAN keys (at the default max_entries
 * it is exact: the least recently seen of the table go), and beyond that
 * whole partitions in turn, from a cursor that goes round the table, until
 * it has seen that many: the stall of the login that evicts, and of the
 * logins that need those partitions meanwhile, is bounded whatever
 * max_entries is.  The candidates' array is allocated once, at start, so
 * that eviction allocates nothing in the connection path.
 */
#define PGPS_EVICT_SHARE	20
#define PGPS_EVICT_SCAN		10000
/* evictions a new key may make before it is counted as dropped */
#define PGPS_CREATE_ROUNDS	8

static pgpsEntry **evict_heap = NULL;
static int	evict_cap = 0;

/*
 * All of pgpool_stats' shared memory is one named region ("pgpool_stats" in
 * pg_shmem_allocations): the shared state, the session slots, the history
 * ring, the buckets of the key store, then its entries.  One region makes
 * the figure in pgpool_stats_info checkable, and pgpool_stats_memory shows
 * its parts.
 */
typedef struct pgpsLayout
{
	Size		slots;			/* offsets from the start of the region */
	Size		counts;
	Size		history;
	Size		buckets;
	Size		entries;
	Size		total;			/* size of the region */
	uint32		nbuckets;
} pgpsLayout;

/* Buckets of the key store: a power of two, one per key at least */
static uint32
store_buckets(int max_entries)
{
	uint32		n = PGPS_PARTITIONS;

	while (n < (uint32) max_entries)
		n <<= 1;
	return n;
}

static void
compute_layout(pgpsLayout *layout)
{
	Size		off = MAXALIGN(sizeof(pgpsSharedState));

	layout->slots = off;
	off = add_size(off, mul_size(pgps_num_slots(), sizeof(pgpsSlot)));
	/* the region starts on a cache line, as every shared allocation does */
	layout->counts = CACHELINEALIGN(off);
	off = add_size(layout->counts, mul_size(pgps_num_slots(), sizeof(pgpsCountsSlot)));
	layout->history = off;
	off = add_size(off, MAXALIGN(pgps_history_shmem_size()));
	layout->nbuckets = store_buckets(pgps_max_entries);
	layout->buckets = off;
	off = add_size(off, MAXALIGN(mul_size(layout->nbuckets, sizeof(int32))));
	layout->entries = off;
	layout->total = add_size(off, mul_size(pgps_max_entries, sizeof(pgpsEntry)));
}

/* Shared memory needed at the current settings: what pgpool_stats_info shows */
Size
pgps_shmem_size(void)
{
	pgpsLayout	layout;

	compute_layout(&layout);
	return layout.total;
}

/*
 * The region's parts at the current settings, for pgpool_stats_memory: what
 * each holds, how many items of what size, and its bytes with alignment.
 */
void
pgps_memory_parts(pgpsMemoryPart *parts)
{
	pgpsLayout	layout;
	int			i = 0;

	compute_layout(&layout);
	parts[i++] = (pgpsMemoryPart) {
		"shared state", 1, sizeof(pgpsSharedState), layout.slots
	};
	parts[i++] = (pgpsMemoryPart) {
		"session slots", pgps_num_slots(), sizeof(pgpsSlot) + sizeof(pgpsCountsSlot),
		layout.history - layout.slots
	};
	/* the ring's own state and alignment count with its buckets */
	parts[i++] = (pgpsMemoryPart) {
		"history buckets", pgps_history_size, sizeof(pgpsHistBucket),
		layout.buckets - layout.history -
		(int64) pgps_history_rows * sizeof(pgpsHistRow)
	};
	parts[i++] = (pgpsMemoryPart) {
		"history rows", pgps_history_rows, sizeof(pgpsHistRow),
		(int64) pgps_history_rows * sizeof(pgpsHistRow)
	};
	parts[i++] = (pgpsMemoryPart) {
		"key buckets", layout.nbuckets, sizeof(int32),
		layout.entries - layout.buckets
	};
	parts[i++] = (pgpsMemoryPart) {
		"keys", pgps_max_entries, sizeof(pgpsEntry),
		layout.total - layout.entries
	};
	Assert(i == PGPS_MEMORY_PARTS);
}

/* Client backends that can exist at once: the size of the slot array */
int
pgps_num_slots(void)
{
	return MaxBackends;
}

/* Ask for the shared memory and the locks; called at preload time only */
void
pgps_shmem_request(void)
{
	RequestAddinShmemSpace(pgps_shmem_size());
	RequestNamedLWLockTranche("pgpool_stats", PGPS_LOCKS);
}

/*
 * Create or attach to the shared state, the history and the key store.
 * Runs in the postmaster at start and after every crash reinitialisation,
 * which starts empty.
 */
void
pgps_shmem_startup(void)
{
	bool		found;
	pgpsLayout	layout;
	char	   *base;
	LWLock	   *history_lock = NULL;

	pgps_state = NULL;

	/*
	 * Once per process: the postmaster's copy is inherited by every backend
	 * (under EXEC_BACKEND each process runs this and allocates its own).
	 */
	if (evict_heap == NULL)
	{
		evict_cap = Max(1, pgps_max_entries / PGPS_EVICT_SHARE);
		evict_heap = MemoryContextAlloc(TopMemoryContext,
										evict_cap * sizeof(pgpsEntry *));
	}

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	compute_layout(&layout);
	pgps_state = ShmemInitStruct("pgpool_stats", layout.total, &found);
	base = (char *) pgps_state;
	if (!found)
	{
		/* only the postmaster has the tranche's requests: look it up once */
		LWLockPadded *locks = GetNamedLWLockTranche("pgpool_stats");

		memset(pgps_state, 0, layout.history);
		pgps_state->sample_lock = &locks[PGPS_LOCK_SAMPLE].lock;
		history_lock = &locks[PGPS_LOCK_HISTORY].lock;
		for (int p = 0; p < PGPS_PARTITIONS; p++)
			pgps_state->part_locks[p] = &locks[PGPS_LOCK_PARTITIONS + p].lock;
		pgps_state->slots = (pgpsSlot *) (base + layout.slots);
		pgps_state->counts = (pgpsCountsSlot *) (base + layout.counts);
		pgps_state->buckets = (int32 *) (base + layout.buckets);
		pgps_state->entries = (pgpsEntry *) (base + layout.entries);
		pgps_state->nbuckets = layout.nbuckets;
		pgps_state->nentries_max = pgps_max_entries;
		for (int i = 0; i < pgps_num_slots(); i++)
		{
			pg_atomic_init_u64(&pgps_state->counts[i].counts.transactions, 0);
			pg_atomic_init_u64(&pgps_state->counts[i].counts.statements, 0);
			pg_atomic_init_u64(&pgps_state->counts[i].counts.xact_us, 0);
			pg_atomic_init_u64(&pgps_state->counts[i].counts.xact_sq, 0);
		}
		for (uint32 b = 0; b < layout.nbuckets; b++)
			pgps_state->buckets[b] = -1;
		/* the free list, in order: entry i links to i + 1 */
		for (int i = 0; i < pgps_max_entries; i++)
			pgps_state->entries[i].next = (i + 1 < pgps_max_entries) ? i + 1 : -1;
		pgps_state->free_head = pgps_max_entries > 0 ? 0 : -1;
		SpinLockInit(&pgps_state->mutex);
		pgps_state->stats.stats_reset = GetCurrentTimestamp();
	}
	pgps_history_shmem_init(base + layout.history, found, history_lock);

	LWLockRelease(AddinShmemInitLock);

	if (!found)
		pgps_persist_startup();
}

/* Whether the library was preloaded and its shared memory is attached */
bool
pgps_loaded(void)
{
	return pgps_state != NULL;
}

/*
 * Raise a clear error when the library was not preloaded: every SQL entry
 * point calls this first.
 */
void
pgps_check_loaded(void)
{
	if (!pgps_loaded())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgpool_stats must be loaded via shared_preload_libraries"),
				 errhint("Add pgpool_stats to the shared_preload_libraries setting and restart the server.")));
}

/* The global statistics, copied whole under the mutex */
pgpsGlobalStats
pgps_stats_copy(void)
{
	pgpsGlobalStats copy;

	SpinLockAcquire(&pgps_state->mutex);
	copy = pgps_state->stats;
	SpinLockRelease(&pgps_state->mutex);
	return copy;
}

/* Put back global statistics read from the file (postmaster, at start) */
void
pgps_stats_restore(const pgpsGlobalStats *stats)
{
	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->stats = *stats;
	SpinLockRelease(&pgps_state->mutex);
}

/* Count an event that found no entry to go into; never throws */
void
pgps_count_dropped(void)
{
	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->stats.dropped++;
	SpinLockRelease(&pgps_state->mutex);
}

/* Number the next sample; the caller holds the sample lock */
int64
pgps_sample_begin(void)
{
	int64		sample_no;

	SpinLockAcquire(&pgps_state->mutex);
	sample_no = ++pgps_state->stats.samples_taken;
	SpinLockRelease(&pgps_state->mutex);
	return sample_no;
}

/* Record a sample's time, duration and the sessions it saw */
void
pgps_sample_end(TimestampTz now, double us, int sessions)
{
	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->stats.peak_sessions = Max(pgps_state->stats.peak_sessions,
										  sessions);
	pgps_state->stats.last_sample = now;
	pgps_state->stats.total_sample_us += us;
	pgps_state->stats.max_sample_us = Max(pgps_state->stats.max_sample_us, us);
	SpinLockRelease(&pgps_state->mutex);
}

/* The worker's pid (0: stopped) and interval, for readers */
void
pgps_worker_publish(int pid, int interval_ms)
{
	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->worker_pid = pid;
	pgps_state->worker_interval_ms = interval_ms;
	SpinLockRelease(&pgps_state->mutex);
}

/* The interval the worker samples at; *pid gets its pid, 0 if stopped */
int
pgps_worker_interval(int *pid)
{
	int			interval;

	SpinLockAcquire(&pgps_state->mutex);
	*pid = pgps_state->worker_pid;
	interval = pgps_state->worker_interval_ms;
	SpinLockRelease(&pgps_state->mutex);
	return interval;
}

/* The sample lock, for the sampler (exclusive) */
void
pgps_sample_lock(LWLockMode mode)
{
	LWLockAcquire(pgps_state->sample_lock, mode);
}

void
pgps_sample_unlock(void)
{
	LWLockRelease(pgps_state->sample_lock);
}

/* The partition of a key's hash, and its lock */
static inline int
part_of(uint32 hash)
{
	return (int) (hash & (PGPS_PARTITIONS - 1));
}

static inline LWLock *
part_lock(int part)
{
	return pgps_state->part_locks[part];
}

/* The hash of a key, which is compared and hashed as raw bytes */
static inline uint32
key_hash(const pgpsKey *key)
{
	return hash_bytes((const unsigned char *) key, sizeof(pgpsKey));
}

/*
 * Every partition's lock, in ascending order (the lock order), for a walk
 * that needs the whole store still: the sampler's walk of the slots, a
 * reset.  Taking them costs a few microseconds.
 */
void
pgps_store_lock(LWLockMode mode)
{
	for (int p = 0; p < PGPS_PARTITIONS; p++)
		LWLockAcquire(part_lock(p), mode);
}

void
pgps_store_unlock(void)
{
	for (int p = PGPS_PARTITIONS - 1; p >= 0; p--)
		LWLockRelease(part_lock(p));
}

/* The statistics of a new entry, whose key, hash and part are in place */
static void
init_entry(pgpsEntry *entry, TimestampTz now, int64 samples_taken)
{
	Size		from = offsetof(pgpsEntry, mutex);

	memset((char *) entry + from, 0, sizeof(pgpsEntry) - from);
	SpinLockInit(&entry->mutex);
	entry->last_seen = now;
	entry->churn.first_seen = now;
	entry->activity.window_start_no = samples_taken;
}

/* The entry of a key in its partition, whose lock the caller holds */
static pgpsEntry *
find_entry(const pgpsKey *key, uint32 hash)
{
	int32		i = pgps_state->buckets[hash & (pgps_state->nbuckets - 1)];

	while (i >= 0)
	{
		pgpsEntry  *entry = &pgps_state->entries[i];

		if (entry->hash == hash && memcmp(&entry->key, key, sizeof(pgpsKey)) == 0)
			return entry;
		i = entry->next;
	}
	return NULL;
}

/*
 * A free entry for a key, linked into its bucket; NULL when the table is
 * full.  The caller holds the key's partition exclusive.
 */
static pgpsEntry *
insert_entry(const pgpsKey *key, uint32 hash)
{
	int32		i;
	pgpsEntry  *entry;
	int32	   *head;

	SpinLockAcquire(&pgps_state->mutex);
	i = pgps_state->free_head;
	if (i >= 0)
	{
		pgps_state->free_head = pgps_state->entries[i].next;
		pgps_state->nentries++;
	}
	SpinLockRelease(&pgps_state->mutex);
	if (i < 0)
		return NULL;

	entry = &pgps_state->entries[i];
	memcpy(&entry->key, key, sizeof(pgpsKey));
	entry->hash = hash;
	head = &pgps_state->buckets[hash & (pgps_state->nbuckets - 1)];
	entry->next = *head;
	*head = i;
	pgps_state->part_count[part_of(hash)]++;
	return entry;
}

/*
 * Unlink an entry from its bucket and give it back to the free list.  The
 * caller holds its partition exclusive; no other entry moves.
 */
static void
remove_entry(pgpsEntry *entry)
{
	int32		i = (int32) (entry - pgps_state->entries);
	int32	   *link = &pgps_state->buckets[entry->hash & (pgps_state->nbuckets - 1)];

	while (*link != i)
	{
		Assert(*link >= 0);
		link = &pgps_state->entries[*link].next;
	}
	*link = entry->next;
	pgps_state->part_count[part_of(entry->hash)]--;

	SpinLockAcquire(&pgps_state->mutex);
	entry->next = pgps_state->free_head;
	pgps_state->free_head = i;
	pgps_state->nentries--;
	SpinLockRelease(&pgps_state->mutex);
}

/*
 * Visit every entry of one partition, whose lock the caller holds: its
 * buckets are those whose number has the partition's low bits.
 */
static void
part_foreach(int part, pgpsEntryFn fn, void *arg)
{
	for (uint32 b = (uint32) part; b < pgps_state->nbuckets; b += PGPS_PARTITIONS)
	{
		int32		i = pgps_state->buckets[b];

		while (i >= 0)
		{
			pgpsEntry  *entry = &pgps_state->entries[i];

			/* the next link first: fn may remove the entry */
			i = entry->next;
			fn(entry, arg);
		}
	}
}

static int	evict_some(void);

/*
 * Find the entry of a key, creating it if the mode allows: PGPS_FIND never
 * creates, PGPS_CREATE_IF_ROOM creates only while the table has room, and
 * PGPS_CREATE evicts idle keys to make room; a new entry is first seen at
 * now, the time of the event that makes it.  On success the entry is
 * returned with its partition's lock held (shared for a found entry,
 * exclusive for a new one) and its spinlock held: update its statistics,
 * then pgps_entry_release() it.  Returns NULL with no lock held when the
 * key has no entry and none could be made.
 *
 * Called from the connection path: never throws, never waits on anything
 * but the partition's LWLock (and, to evict, a bounded scan).
 */
pgpsEntry *
pgps_entry_acquire(const pgpsKey *key, pgpsCreateMode mode, TimestampTz now)
{
	uint32		hash = key_hash(key);
	LWLock	   *lock = part_lock(part_of(hash));
	pgpsEntry  *entry;

	LWLockAcquire(lock, LW_SHARED);
	entry = find_entry(key, hash);
	if (entry != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		return entry;
	}
	LWLockRelease(lock);
	if (mode == PGPS_FIND)
		return NULL;

	/*
	 * The room one eviction makes may go to other new keys first (in a
	 * small table an eviction frees one entry): evict again, up to
	 * PGPS_CREATE_ROUNDS times, while evicting finds keys to evict.  Each
	 * round is one bounded scan.
	 */
	for (int attempt = 0;; attempt++)
	{
		LWLockAcquire(lock, LW_EXCLUSIVE);
		entry = find_entry(key, hash);
		if (entry == NULL)
		{
			entry = insert_entry(key, hash);
			if (entry != NULL)
			{
				int64		samples;

				SpinLockAcquire(&pgps_state->mutex);
				samples = pgps_state->stats.samples_taken;
				SpinLockRelease(&pgps_state->mutex);
				init_entry(entry, now, samples);
			}
		}
		if (entry != NULL)
		{
			SpinLockAcquire(&entry->mutex);
			return entry;
		}
		LWLockRelease(lock);
		if (mode != PGPS_CREATE || attempt == PGPS_CREATE_ROUNDS ||
			evict_some() == 0)
			return NULL;
	}
}

/*
 * The entry of a key, or NULL; the caller holds every partition's lock
 * (pgps_store_lock), in either mode, and takes the entry's spinlock itself
 * if it reads its statistics.
 */
pgpsEntry *
pgps_entry_find_locked(const pgpsKey *key)
{
	return find_entry(key, key_hash(key));
}

/* Release an entry got from pgps_entry_acquire(): its spinlock, its lock */
void
pgps_entry_release(pgpsEntry *entry)
{
	SpinLockRelease(&entry->mutex);
	LWLockRelease(part_lock(part_of(entry->hash)));
}

/*
 * Put an entry read from the statistics file into the store, unless its key
 * is there already or the table is full.  Called in the postmaster at
 * start, before any backend exists: no lock is needed.
 */
bool
pgps_entry_restore(const pgpsKey *key, TimestampTz last_seen,
				   const pgpsChurn *churn, const pgpsActivity *activity,
				   const pgpsBucketPart *bucket, const pgpsUsage *usage,
				   const pgpsBucketLoad *bucket_load)
{
	uint32		hash = key_hash(key);
	pgpsEntry  *entry;

	if (find_entry(key, hash) != NULL)
		return false;
	entry = insert_entry(key, hash);
	if (entry == NULL)
		return false;
	init_entry(entry, last_seen, 0);
	entry->churn = *churn;
	entry->activity = *activity;
	entry->bucket = *bucket;
	entry->usage = *usage;
	entry->bucket_load = *bucket_load;
	/* no session survives a restart */
	entry->churn.open_connections = 0;
	return true;
}

/*
 * Whether entry a should be kept rather than b, when one must go: a key
 * that only ever failed (no connection, some failed login) goes before any
 * real key, however recently it failed; then the least recently seen goes.
 */
static bool
keep_before(const pgpsEntry *a, const pgpsEntry *b)
{
	bool		a_failed = a->churn.connections == 0 &&
		a->churn.auth_failures + a->churn.login_failures > 0;
	bool		b_failed = b->churn.connections == 0 &&
		b->churn.auth_failures + b->churn.login_failures > 0;

	if (a_failed != b_failed)
		return b_failed;
	return a->last_seen > b->last_seen;
}

/* Sift heap[i] down a max-heap of n entries: its root is the best kept */
static void
sift_down(pgpsEntry **heap, int n, int i)
{
	for (;;)
	{
		int			newest = i;
		int			l = 2 * i + 1;
		int			r = l + 1;
		pgpsEntry  *tmp;

		if (l < n && keep_before(heap[l], heap[newest]))
			newest = l;
		if (r < n && keep_before(heap[r], heap[newest]))
			newest = r;
		if (newest == i)
			return;
		tmp = heap[i];
		heap[i] = heap[newest];
		heap[newest] = tmp;
		i = newest;
	}
}

/* The candidates of one eviction scan: a max-heap of the worst kept */
typedef struct EvictScan
{
	pgpsEntry **heap;
	int			want;
	int			n;
} EvictScan;

static void
evict_candidate(pgpsEntry *entry, void *arg)
{
	EvictScan  *es = (EvictScan *) arg;
	pgpsEntry **heap = es->heap;

	if (entry->churn.open_connections > 0)
		return;
	if (es->n < es->want)
	{
		int			i = es->n++;

		/* sift up */
		heap[i] = entry;
		while (i > 0 && keep_before(heap[i], heap[(i - 1) / 2]))
		{
			pgpsEntry  *tmp = heap[i];

			heap[i] = heap[(i - 1) / 2];
			heap[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	}
	else if (keep_before(heap[0], entry))
	{
		heap[0] = entry;
		sift_down(heap, es->n, 0);
	}
}

/*
 * Evict the keys that only ever failed, then the least recently seen, of
 * those that have no open connection (a key with a live session is never
 * lost mid-session), a twentieth of the keys scanned.  The scan covers the
 * whole table up to PGPS_EVICT_SCAN keys, else consecutive partitions from
 * the cursor until it has seen that many (see PGPS_EVICT_SCAN), each held
 * exclusive, taken in ascending order.  Called with no lock held.  Returns
 * the number of keys evicted: 0 when every key scanned has open connections.
 */
static int
evict_some(void)
{
	bool		window[PGPS_PARTITIONS] = {0};
	int			start;
	int			nparts;
	int64		scanned = 0;
	int32		nentries;
	EvictScan	es;

	SpinLockAcquire(&pgps_state->mutex);
	nentries = pgps_state->nentries;
	if (nentries <= PGPS_EVICT_SCAN)
		nparts = PGPS_PARTITIONS;
	else
	{
		int32		per = Max(nentries / PGPS_PARTITIONS, 1);

		nparts = Min((PGPS_EVICT_SCAN + per - 1) / per, PGPS_PARTITIONS);
	}
	start = pgps_state->evict_cursor;
	pgps_state->evict_cursor = (start + nparts) % PGPS_PARTITIONS;
	SpinLockRelease(&pgps_state->mutex);

	for (int k = 0; k < nparts; k++)
		window[(start + k) % PGPS_PARTITIONS] = true;
	for (int p = 0; p < PGPS_PARTITIONS; p++)
		if (window[p])
		{
			LWLockAcquire(part_lock(p), LW_EXCLUSIVE);
			scanned += pgps_state->part_count[p];
		}

	es.heap = evict_heap;
	es.want = (int) Min(Max(scanned / PGPS_EVICT_SHARE, 1), evict_cap);
	es.n = 0;
	for (int p = 0; p < PGPS_PARTITIONS; p++)
		if (window[p])
			part_foreach(p, evict_candidate, &es);

	/* removing an entry moves no other, so the pointers stay good */
	for (int i = 0; i < es.n; i++)
		remove_entry(es.heap[i]);

	for (int p = PGPS_PARTITIONS - 1; p >= 0; p--)
		if (window[p])
			LWLockRelease(part_lock(p));

	if (es.n > 0)
	{
		SpinLockAcquire(&pgps_state->mutex);
		pgps_state->stats.evicted += es.n;
		SpinLockRelease(&pgps_state->mutex);
	}
	return es.n;
}

/*
 * At a reset, what the live sessions did so far counts as added: their
 * entries start from zero with them.  Under every partition exclusive, so
 * no one is adding (that takes the entry's partition and spinlock).
 */
static void
mark_slots_counted(void)
{
	for (int i = 0; i < pgps_num_slots(); i++)
	{
		pgpsSessionCounts *counts = &pgps_state->counts[i].counts;

		counts->flushed_transactions = pg_atomic_read_u64(&counts->transactions);
		counts->flushed_statements = pg_atomic_read_u64(&counts->statements);
		counts->flushed_xact_us = pg_atomic_read_u64(&counts->xact_us);
		counts->flushed_xact_sq = pg_atomic_read_u64(&counts->xact_sq);
	}
}

/* The moment of a reset, which every kept entry starts from */
typedef struct ResetState
{
	TimestampTz now;
	int64		samples_taken;
} ResetState;

/* One entry at a reset: gone, unless it has open connections */
static void
reset_entry(pgpsEntry *entry, void *arg)
{
	const ResetState *rs = (const ResetState *) arg;
	int32		open = entry->churn.open_connections;

	if (open == 0)
	{
		remove_entry(entry);
		return;
	}
	init_entry(entry, rs->now, rs->samples_taken);
	entry->churn.open_connections = open;
}

/*
 * Forget all statistics, history included.  Keys with open connections keep
 * their entry and their open_connections (live sessions stay exact across a
 * reset, and so do the slots that point at them); all other keys go.
 */
void
pgps_reset_all(void)
{
	TimestampTz now = GetCurrentTimestamp();
	ResetState	rs;

	/* the bucket being filled is the sampler's: its lock comes first */
	LWLockAcquire(pgps_state->sample_lock, LW_EXCLUSIVE);
	pgps_store_lock(LW_EXCLUSIVE);

	/* samples_taken changes only under the sample lock, held here */
	rs.now = now;
	SpinLockAcquire(&pgps_state->mutex);
	rs.samples_taken = pgps_state->stats.samples_taken;
	SpinLockRelease(&pgps_state->mutex);
	for (int p = 0; p < PGPS_PARTITIONS; p++)
		part_foreach(p, reset_entry, &rs);
	mark_slots_counted();

	pgps_history_reset();

	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->stats.evicted = 0;
	pgps_state->stats.dropped = 0;
	pgps_state->stats.peak_sessions = 0;
	pgps_state->stats.stats_reset = now;
	SpinLockRelease(&pgps_state->mutex);

	pgps_store_unlock();
	LWLockRelease(pgps_state->sample_lock);
}

/* One partition's copies, as pgps_entry_stream() takes them */
typedef struct StreamCopy
{
	char	   *buf;
	Size		size;
	pgpsCopyFn	copy;
	int			n;
} StreamCopy;

static void
stream_copy(pgpsEntry *entry, void *arg)
{
	StreamCopy *sc = (StreamCopy *) arg;

	SpinLockAcquire(&entry->mutex);
	sc->copy(sc->buf + sc->n * sc->size, entry);
	SpinLockRelease(&entry->mutex);
	sc->n++;
}

/*
 * Give a reader what it needs of every entry, a partition at a time: under
 * the partition's lock shared, copy() fills an element of size bytes for
 * each of its entries (under the entry's spinlock); with every lock
 * released, emit() gets each copy.  The copies of one partition are all a
 * reader holds at once, whatever the table's size: its memory is bounded by
 * what it returns, and a login that needs a new key waits at most for one
 * partition's copy.  *stats (if given) gets the global statistics before
 * each partition's copy, for emit() to use with that partition's copies.
 * With PGPS_SNAP_CONSISTENT each partition's copy and its *stats are taken
 * under the sample lock shared: no sample falls between them, so each
 * copy's statistics and the sample count agree (and the sampler waits at
 * most for one partition's copy).  A key added or removed during the walk
 * may be seen or not.
 */
void
pgps_entry_stream(Size size, pgpsCopyFn copy, pgpsEmitFn emit, void *arg,
				  int flags, pgpsGlobalStats *stats)
{
	bool		consistent = (flags & PGPS_SNAP_CONSISTENT) != 0;
	StreamCopy	sc;
	int32		room = 0;

	Assert(!consistent || stats != NULL);
	sc.buf = NULL;
	sc.size = size;
	sc.copy = copy;

	for (int p = 0; p < PGPS_PARTITIONS; p++)
	{
		CHECK_FOR_INTERRUPTS();

		/* allocate before taking the locks, again if it grew meanwhile */
		for (;;)
		{
			int32		count = pgps_state->part_count[p];

			if (count > room)
			{
				if (sc.buf)
					pfree(sc.buf);
				room = count + count / 4 + 16;
				sc.buf = MemoryContextAllocHuge(CurrentMemoryContext,
												mul_size(room, size));
			}
			if (consistent)
				LWLockAcquire(pgps_state->sample_lock, LW_SHARED);
			LWLockAcquire(part_lock(p), LW_SHARED);
			if (pgps_state->part_count[p] <= room)
				break;
			LWLockRelease(part_lock(p));
			if (consistent)
				LWLockRelease(pgps_state->sample_lock);
		}
		if (stats)
			*stats = pgps_stats_copy();
		sc.n = 0;
		part_foreach(p, stream_copy, &sc);
		LWLockRelease(part_lock(p));
		if (consistent)
			LWLockRelease(pgps_state->sample_lock);

		for (int i = 0; i < sc.n; i++)
			emit(sc.buf + i * size, arg);
	}
	if (sc.buf)
		pfree(sc.buf);
}

/* Number of keys in use */
long
pgps_entry_count(void)
{
	long		n;

	SpinLockAcquire(&pgps_state->mutex);
	n = pgps_state->nentries;
	SpinLockRelease(&pgps_state->mutex);
	return n;
}

/*
 * Visit every entry, a partition at a time, each under its lock held
 * shared when locked, then call done() (if given) with the partition
 * released; unlocked only the postmaster may walk, writing the file once
 * every other process is gone.
 */
void
pgps_entry_foreach(pgpsEntryFn fn, pgpsPartDoneFn done, void *arg, bool locked)
{
	for (int p = 0; p < PGPS_PARTITIONS; p++)
	{
		if (locked)
			LWLockAcquire(part_lock(p), LW_SHARED);
		part_foreach(p, fn, arg);
		if (locked)
			LWLockRelease(part_lock(p));
		if (done)
			done(arg);
	}
}

/*
 * Visit every open session's slot; the caller holds every partition, so no
 * entry found there can go.  A slot being set or cleared meanwhile is seen
 * with its pid or not at all.  Each session's transactions and statements
 * since the last visit are added to its entry first, under the entry's
 * spinlock, if the session still holds the slot then: one that cleared it
 * adds the rest itself, under the same spinlock, so nothing is added twice
 * or to another session's entry.  A session whose counts have not moved
 * (read without the lock: a change missed is added at the next visit) takes
 * no lock.  Returns how many open sessions have no
 * key (they were established while the table was full of keys with open
 * connections): they are not visited.
 */
int
pgps_slot_foreach(pgpsSlotFn fn, void *arg)
{
	int			nslots = pgps_num_slots();
	int			unkeyed = 0;

	for (int i = 0; i < nslots; i++)
	{
		pgpsSlot   *slot = &pgps_state->slots[i];
		int			pid = slot->pid;
		pgpsEntry  *entry;
		pgpsSessionCounts *counts;

		if (pid == 0)
			continue;
		pg_read_barrier();
		entry = slot->entry;
		if (entry == NULL)
		{
			unkeyed++;
			continue;
		}
		counts = &pgps_state->counts[i].counts;
		/* a session that did nothing since the last walk costs no lock */
		if (pg_atomic_read_u64(&counts->transactions) != counts->flushed_transactions ||
			pg_atomic_read_u64(&counts->statements) != counts->flushed_statements)
		{
			SpinLockAcquire(&entry->mutex);
			if (slot->pid == pid)
				pgps_usage_flush(&entry->usage, counts);
			SpinLockRelease(&entry->mutex);
		}
		fn(entry, pid, slot->status, slot->proc, arg);
	}
	return unkeyed;
}

/*
 * Visit every open session's slot with a copy of its key, holding no lock:
 * the copy is kept only if the slot still holds the same session after it.
 * A session clears its slot before its key's open_connections go down, and
 * only a key with none can be evicted, so a key read while its session was
 * in the slot is that session's.
 */
void
pgps_slot_foreach_key(pgpsSlotKeyFn fn, void *arg)
{
	int			nslots = pgps_num_slots();

	for (int i = 0; i < nslots; i++)
	{
		pgpsSlot   *slot = &pgps_state->slots[i];
		int			pid = slot->pid;
		pgpsEntry  *entry;
		pgpsKey		key;

		if (pid == 0)
			continue;
		pg_read_barrier();
		entry = slot->entry;
		if (entry == NULL)
			continue;
		memcpy(&key, &entry->key, sizeof(pgpsKey));
		pg_read_barrier();
		if (slot->pid != pid)
			continue;
		fn(&key, pid, slot->status, slot->proc, arg);
	}
}

/* Open client sessions without a key, now (no lock needed: slots only) */
int
pgps_unkeyed_sessions(void)
{
	int			nslots = pgps_num_slots();
	int			unkeyed = 0;

	for (int i = 0; i < nslots; i++)
	{
		pgpsSlot   *slot = &pgps_state->slots[i];

		if (slot->pid == 0)
			continue;
		pg_read_barrier();
		if (slot->entry == NULL)
			unkeyed++;
	}
	return unkeyed;
}

/*
 * Publish this backend's session in its slot, so the sampler finds it.
 * Called holding the entry got from pgps_entry_acquire() (its spinlock),
 * when the session is counted as open, or with NULL for a session that got
 * no key: the server's figures still count it.  Returns the session's
 * counts, zeroed, for it to count in (NULL with no entry or no slot).
 */
pgpsSessionCounts *
pgps_slot_set(pgpsEntry *entry)
{
	int			i = PGPS_MY_SLOT;
	pgpsSlot   *slot;
	pgpsSessionCounts *counts;

	if (i < 0 || i >= pgps_num_slots())
		return NULL;
	slot = &pgps_state->slots[i];
	slot->entry = entry;
	slot->proc = MyProc;
	slot->status = MyBEEntry;
	counts = &pgps_state->counts[i].counts;
	pg_atomic_write_u64(&counts->transactions, 0);
	pg_atomic_write_u64(&counts->statements, 0);
	pg_atomic_write_u64(&counts->xact_us, 0);
	pg_atomic_write_u64(&counts->xact_sq, 0);
	counts->flushed_transactions = 0;
	counts->flushed_statements = 0;
	counts->flushed_xact_us = 0;
	counts->flushed_xact_sq = 0;
	pg_write_barrier();
	slot->pid = MyProcPid;
	return entry != NULL ? counts : NULL;
}

/* Withdraw this backend's session from its slot; never throws */
void
pgps_slot_clear(void)
{
	int			i = PGPS_MY_SLOT;

	if (i < 0 || i >= pgps_num_slots())
		return;
	pgps_state->slots[i].pid = 0;
	pg_write_barrier();
}
