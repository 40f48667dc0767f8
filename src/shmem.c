/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of pgpool_stats: its request and start-up, the global
 *		statistics, and the key store (the hash of entries, eviction, reset,
 *		snapshots, and the session slots the sampler reads).
 *
 * Locking (src/README has the whole order): look-ups and walks hold the
 * store lock shared; insertion, eviction and reset hold it exclusive, and
 * then touch statistics without the entries' spinlocks, since no one else
 * can be updating one.  An entry with open connections is never removed,
 * so a slot's entry pointer stays valid while the session lives.  Nothing
 * here throws while holding a lock, and nothing is slow but the eviction
 * scan, which runs only when the table is full and then frees a twentieth
 * of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/hsearch.h"
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
	pgpsEntry  *entry;			/* its key's entry; kept while it is open */
	struct PGPROC *proc;		/* for the wait event */
	struct PgBackendStatus *status; /* for the state */
} pgpsSlot;

/*
 * The shared state, split by what protects each part.  The ring of the
 * history is history.c's, in the region after the slots.
 */
typedef struct pgpsSharedState
{
	/* set at creation, read-only after */
	LWLock	   *lock;			/* the store's layout */
	LWLock	   *sample_lock;	/* held by whoever takes a sample */
	pgpsSlot   *slots;			/* pgps_num_slots() of them */

	slock_t		mutex;			/* protects the following fields only: */
	pgpsGlobalStats stats;
	int			worker_pid;		/* 0: not running */
	int			worker_interval_ms; /* sample_interval the worker uses */

	/*
	 * The tail of the region the hash's memory is carved from: written in
	 * the postmaster at creation and, if ever, under the store lock held
	 * exclusive.
	 */
	Size		carve_start;	/* bytes from the start of this struct */
	Size		carve_size;		/* bytes */
	Size		carve_used;		/* bytes */
	Size		hash_header;	/* where dynahash put the hash's header, if
								 * it carved it (compat.h); 0: not yet */
} pgpsSharedState;

static pgpsSharedState *pgps_state = NULL;
static HTAB *pgps_hash = NULL;

/*
 * How many keys one eviction scan frees: a twentieth of the table, as
 * pg_stat_statements does, so that a client putting a new name in every
 * connection pays for a scan of the table once in that many connections, at
 * any max_entries.  The candidates' array is allocated once, at start, so
 * that eviction allocates nothing in the connection path.
 */
#define PGPS_EVICT_SHARE	20

static pgpsEntry **evict_heap = NULL;
static int	evict_want = 0;

static void evict_some(void);
static void *carve_alloc(PGPS_HASH_ALLOC_PARAMS);

/* Alignment slack of the carved allocations: a few segments and one block */
#define PGPS_CARVE_SLACK	1024

/*
 * All of pgpool_stats' shared memory is one named region ("pgpool_stats" in
 * pg_shmem_allocations): the shared state, the session slots, the history
 * ring, the hash table's header and directory, then the space its segments
 * and entries are carved from.  One region makes the figure in
 * pgpool_stats_info checkable, and pgpool_stats_memory shows its parts.
 */
typedef struct pgpsLayout
{
	Size		slots;			/* offsets from the start of the region */
	Size		history;
	Size		hash_header;
	Size		carve;
	Size		total;			/* size of the region */
} pgpsLayout;

/*
 * The hash's options, and the bytes its header and directory take before
 * the carved space: none where dynahash carves them itself (compat.h).
 */
static Size
hash_header_size(HASHCTL *info, int *flags)
{
	memset(info, 0, sizeof(HASHCTL));
	info->keysize = sizeof(pgpsKey);
	info->entrysize = sizeof(pgpsEntry);
	info->alloc = carve_alloc;
#ifdef PGPS_HASH_HEADER_CARVED
	*flags = HASH_ELEM | HASH_BLOBS | HASH_SHARED_MEM | HASH_ALLOC;
	return 0;
#else
	info->dsize = info->max_dsize = hash_select_dirsize(pgps_max_entries);
	*flags = HASH_ELEM | HASH_BLOBS | HASH_SHARED_MEM | HASH_ALLOC | HASH_DIRSIZE;
	return MAXALIGN(hash_get_shared_size(info, *flags));
#endif
}

static void
compute_layout(pgpsLayout *layout, HASHCTL *info, int *flags)
{
	Size		off = MAXALIGN(sizeof(pgpsSharedState));

	layout->slots = off;
	off = add_size(off, MAXALIGN(mul_size(pgps_num_slots(), sizeof(pgpsSlot))));
	layout->history = off;
	off = add_size(off, MAXALIGN(pgps_history_shmem_size()));
	layout->hash_header = off;
	off = add_size(off, hash_header_size(info, flags));
	layout->carve = off;
	/* the hash's segments and entries, with slack for alignment */
	off = add_size(off, hash_estimate_size(pgps_max_entries, sizeof(pgpsEntry)));
	layout->total = add_size(off, PGPS_CARVE_SLACK);
}

/* Shared memory needed at the current settings: what pgpool_stats_info shows */
Size
pgps_shmem_size(void)
{
	pgpsLayout	layout;
	HASHCTL		info;
	int			flags;

	compute_layout(&layout, &info, &flags);
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
	HASHCTL		info;
	int			flags;
	int			i = 0;

	compute_layout(&layout, &info, &flags);
	parts[i++] = (pgpsMemoryPart) {
		"shared state", 1, sizeof(pgpsSharedState), layout.slots
	};
	parts[i++] = (pgpsMemoryPart) {
		"session slots", pgps_num_slots(), sizeof(pgpsSlot),
		layout.history - layout.slots
	};
	/* the ring's own state and alignment count with its buckets */
	parts[i++] = (pgpsMemoryPart) {
		"history buckets", pgps_history_size, sizeof(pgpsHistBucket),
		layout.hash_header - layout.history -
		(int64) pgps_history_rows * sizeof(pgpsHistRow)
	};
	parts[i++] = (pgpsMemoryPart) {
		"history rows", pgps_history_rows, sizeof(pgpsHistRow),
		(int64) pgps_history_rows * sizeof(pgpsHistRow)
	};
	parts[i++] = (pgpsMemoryPart) {
		"hash header", 1, layout.carve - layout.hash_header,
		layout.carve - layout.hash_header
	};
	parts[i++] = (pgpsMemoryPart) {
		"keys", pgps_max_entries, sizeof(pgpsEntry),
		layout.total - layout.carve
	};
	Assert(i == PGPS_MEMORY_PARTS);
}

/* Client backends that can exist at once: the size of the slot array */
int
pgps_num_slots(void)
{
	return MaxBackends;
}

/*
 * Allocator of the hash's segments and entries, from the region's tail.
 * Called by dynahash at creation (postmaster) and, if ever, under the
 * exclusive lock; returns NULL when the region is used up, which dynahash
 * turns into a failed HASH_ENTER_NULL.
 */
static void *
carve_alloc(PGPS_HASH_ALLOC_PARAMS)
{
	void	   *result;

	size = MAXALIGN(size);
	if (pgps_state->carve_used + size > pgps_state->carve_size)
		return NULL;
	result = (char *) pgps_state + pgps_state->carve_start + pgps_state->carve_used;
	/* dynahash allocates a new table's header first: remember where */
	if (pgps_state->hash_header == 0)
		pgps_state->hash_header = pgps_state->carve_start + pgps_state->carve_used;
	pgps_state->carve_used += size;
	return result;
}

/* Ask for the shared memory and the locks; called at preload time only */
void
pgps_shmem_request(void)
{
	RequestAddinShmemSpace(pgps_shmem_size());
	RequestNamedLWLockTranche("pgpool_stats", 3);
}

/*
 * Create or attach to the shared state, the history and the hash.  Runs in
 * the postmaster at start and after every crash reinitialisation, which
 * starts empty.
 */
void
pgps_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;
	int			flags;
	pgpsLayout	layout;
	char	   *base;
	LWLock	   *history_lock = NULL;

	pgps_state = NULL;
	pgps_hash = NULL;

	/*
	 * Once per process: the postmaster's copy is inherited by every backend
	 * (under EXEC_BACKEND each process runs this and allocates its own).
	 */
	if (evict_heap == NULL)
	{
		evict_want = Max(1, pgps_max_entries / PGPS_EVICT_SHARE);
		evict_heap = MemoryContextAlloc(TopMemoryContext,
										evict_want * sizeof(pgpsEntry *));
	}

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	compute_layout(&layout, &info, &flags);
	pgps_state = ShmemInitStruct("pgpool_stats", layout.total, &found);
	base = (char *) pgps_state;
	if (!found)
	{
		/* only the postmaster has the tranche's requests: look it up once */
		LWLockPadded *locks = GetNamedLWLockTranche("pgpool_stats");

		memset(pgps_state, 0, layout.history);
		pgps_state->lock = &locks[0].lock;
		pgps_state->sample_lock = &locks[1].lock;
		pgps_state->slots = (pgpsSlot *) (base + layout.slots);
		SpinLockInit(&pgps_state->mutex);
		pgps_state->stats.stats_reset = GetCurrentTimestamp();
		pgps_state->carve_start = layout.carve;
		pgps_state->carve_size = layout.total - layout.carve;
		pgps_state->carve_used = 0;
		history_lock = &locks[2].lock;
	}
	else
		flags |= HASH_ATTACH;
	pgps_history_shmem_init(base + layout.history, found, history_lock);

#ifdef PGPS_HASH_HEADER_CARVED
	/* made: dynahash carves its header; attached: where it was carved */
	Assert(!found || pgps_state->hash_header != 0);
	info.hctl = found ? (HASHHDR *) (base + pgps_state->hash_header) : NULL;
#else
	info.hctl = (HASHHDR *) (base + layout.hash_header);
#endif
	pgps_hash = hash_create("pgpool_stats hash", pgps_max_entries, &info, flags);

	LWLockRelease(AddinShmemInitLock);

	if (!found)
		pgps_persist_startup();
}

/* Whether the library was preloaded and its shared memory is attached */
bool
pgps_loaded(void)
{
	return pgps_state != NULL && pgps_hash != NULL;
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

/* The store lock, for a walk of the entries or the slots */
void
pgps_store_lock(LWLockMode mode)
{
	LWLockAcquire(pgps_state->lock, mode);
}

void
pgps_store_unlock(void)
{
	LWLockRelease(pgps_state->lock);
}

/* The statistics of a new entry, whose key is in place */
static void
init_entry(pgpsEntry *entry, TimestampTz now, int64 samples_taken)
{
	memset((char *) entry + sizeof(pgpsKey), 0,
		   sizeof(pgpsEntry) - sizeof(pgpsKey));
	SpinLockInit(&entry->mutex);
	entry->last_seen = now;
	entry->churn.first_seen = now;
	entry->activity.window_start_no = samples_taken;
}

/*
 * Find the entry of a key, creating it if the mode allows: PGPS_FIND never
 * creates, PGPS_CREATE_IF_ROOM creates only while the table has room, and
 * PGPS_CREATE evicts idle keys to make room; a new entry is first seen at
 * now, the time of the event that makes it.  On success the entry is
 * returned with the store lock held (shared for a found entry, exclusive
 * for a new one) and its spinlock held: update its statistics, then
 * pgps_entry_release() it.  Returns NULL with no lock held when the key has
 * no entry and none could be made.
 *
 * Called from the connection path: never throws, never waits on anything
 * but the LWLock.
 */
pgpsEntry *
pgps_entry_acquire(const pgpsKey *key, pgpsCreateMode mode, TimestampTz now)
{
	pgpsEntry  *entry;
	bool		found;

	LWLockAcquire(pgps_state->lock, LW_SHARED);
	entry = (pgpsEntry *) hash_search(pgps_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		return entry;
	}
	LWLockRelease(pgps_state->lock);
	if (mode == PGPS_FIND)
		return NULL;

	LWLockAcquire(pgps_state->lock, LW_EXCLUSIVE);

	/* The table's own size limit is soft for shared hashes; ours is not. */
	if (hash_get_num_entries(pgps_hash) >= pgps_max_entries &&
		mode == PGPS_CREATE)
		evict_some();

	entry = NULL;
	if (hash_get_num_entries(pgps_hash) < pgps_max_entries)
		entry = (pgpsEntry *) hash_search(pgps_hash, key, HASH_ENTER_NULL,
										  &found);
	if (entry == NULL)
	{
		LWLockRelease(pgps_state->lock);
		return NULL;
	}
	if (!found)
	{
		int64		samples;

		SpinLockAcquire(&pgps_state->mutex);
		samples = pgps_state->stats.samples_taken;
		SpinLockRelease(&pgps_state->mutex);
		init_entry(entry, now, samples);
	}
	SpinLockAcquire(&entry->mutex);
	return entry;
}

/*
 * The entry of a key, or NULL; the caller holds the store lock, in either
 * mode, and takes the entry's spinlock itself if it reads its statistics.
 */
pgpsEntry *
pgps_entry_find_locked(const pgpsKey *key)
{
	return (pgpsEntry *) hash_search(pgps_hash, key, HASH_FIND, NULL);
}

/* Release an entry got from pgps_entry_acquire(): its spinlock, the lock */
void
pgps_entry_release(pgpsEntry *entry)
{
	SpinLockRelease(&entry->mutex);
	LWLockRelease(pgps_state->lock);
}

/*
 * Put an entry read from the statistics file into the store, unless its key
 * is there already or the table is full.  Called in the postmaster at
 * start, before any backend exists: no lock is needed.
 */
bool
pgps_entry_restore(const pgpsKey *key, TimestampTz last_seen,
				   const pgpsChurn *churn, const pgpsActivity *activity,
				   const pgpsBucketPart *bucket)
{
	pgpsEntry  *entry;
	bool		found;

	if (hash_get_num_entries(pgps_hash) >= pgps_max_entries)
		return false;
	entry = hash_search(pgps_hash, key, HASH_ENTER_NULL, &found);
	if (entry == NULL || found)
		return false;
	init_entry(entry, last_seen, 0);
	entry->churn = *churn;
	entry->activity = *activity;
	entry->bucket = *bucket;
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

/*
 * Evict the keys that only ever failed, then the least recently seen, of
 * those that have no open connection: a key with a live session is never
 * lost mid-session.  One scan keeps the oldest
 * candidates in a max-heap (its root is the newest of them) and removes
 * them all.  Caller holds the lock exclusive.  Runs only when the table is
 * full.
 */
static void
evict_some(void)
{
	pgpsEntry **heap = evict_heap;
	int			want = evict_want;
	int			n = 0;
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;

	hash_seq_init(&status, pgps_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->churn.open_connections > 0)
			continue;
		if (n < want)
		{
			int			i = n++;

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
			sift_down(heap, n, 0);
		}
	}

	/* removing an entry moves no other, so the pointers stay good */
	for (int i = 0; i < n; i++)
		hash_search(pgps_hash, &heap[i]->key, HASH_REMOVE, NULL);

	if (n > 0)
	{
		SpinLockAcquire(&pgps_state->mutex);
		pgps_state->stats.evicted += n;
		SpinLockRelease(&pgps_state->mutex);
	}
}

/*
 * Forget all statistics, history included.  Keys with open connections keep
 * their entry and their open_connections (live sessions stay exact across a
 * reset, and so do the slots that point at them); all other keys go.
 */
void
pgps_reset_all(void)
{
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;
	TimestampTz now = GetCurrentTimestamp();
	int64		samples;

	/* the bucket being filled is the sampler's: its lock comes first */
	LWLockAcquire(pgps_state->sample_lock, LW_EXCLUSIVE);
	LWLockAcquire(pgps_state->lock, LW_EXCLUSIVE);
	SpinLockAcquire(&pgps_state->mutex);
	samples = pgps_state->stats.samples_taken;
	SpinLockRelease(&pgps_state->mutex);

	hash_seq_init(&status, pgps_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		int32		open = entry->churn.open_connections;

		if (open == 0)
		{
			hash_search(pgps_hash, &entry->key, HASH_REMOVE, NULL);
			continue;
		}
		init_entry(entry, now, samples);
		entry->churn.open_connections = open;
	}

	pgps_history_reset();

	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->stats.evicted = 0;
	pgps_state->stats.dropped = 0;
	pgps_state->stats.peak_sessions = 0;
	pgps_state->stats.stats_reset = now;
	SpinLockRelease(&pgps_state->mutex);

	LWLockRelease(pgps_state->lock);
	LWLockRelease(pgps_state->sample_lock);
}

/*
 * Copy what a reader needs of every entry: copy() is called on each, under
 * its spinlock, to fill an element of size bytes of an array allocated in
 * the current memory context; *count gets its length.  Readers build their
 * tuples from the copy, after every lock is released.  With
 * PGPS_SNAP_CONSISTENT the copy is taken under the sample lock, and *stats
 * gets the global statistics of the same moment: no sample falls between
 * them, so the statistics and the sample count agree.  Otherwise *stats (if
 * given) is copied after.
 */
void *
pgps_entry_snapshot(Size size, pgpsCopyFn copy, int flags, long *count,
					pgpsGlobalStats *stats)
{
	bool		consistent = (flags & PGPS_SNAP_CONSISTENT) != 0;
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;
	char	   *result;
	long		room;
	long		n = 0;

	Assert(!consistent || stats != NULL);

	/*
	 * Allocate before taking the locks (a million keys can be over a
	 * gigabyte), and again in the rare case that keys were added meanwhile.
	 */
	room = pgps_entry_count();
	for (;;)
	{
		result = MemoryContextAllocHuge(CurrentMemoryContext,
										mul_size(Max(room, 1), size));
		if (consistent)
			LWLockAcquire(pgps_state->sample_lock, LW_SHARED);
		LWLockAcquire(pgps_state->lock, LW_SHARED);
		if (hash_get_num_entries(pgps_hash) <= room)
			break;
		room = hash_get_num_entries(pgps_hash);
		LWLockRelease(pgps_state->lock);
		if (consistent)
			LWLockRelease(pgps_state->sample_lock);
		pfree(result);
	}

	hash_seq_init(&status, pgps_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		copy(result + n * size, entry);
		SpinLockRelease(&entry->mutex);
		n++;
	}
	LWLockRelease(pgps_state->lock);
	if (stats)
		*stats = pgps_stats_copy();
	if (consistent)
		LWLockRelease(pgps_state->sample_lock);

	*count = n;
	return result;
}

/* Number of keys in use */
long
pgps_entry_count(void)
{
	long		n;

	LWLockAcquire(pgps_state->lock, LW_SHARED);
	n = hash_get_num_entries(pgps_hash);
	LWLockRelease(pgps_state->lock);
	return n;
}

/*
 * Visit every entry; the caller holds the store lock (either mode), or is
 * the postmaster writing the file after every other process is gone.
 */
void
pgps_entry_foreach(pgpsEntryFn fn, void *arg)
{
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;

	hash_seq_init(&status, pgps_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		fn(entry, arg);
}

/*
 * Visit every open session's slot; the caller holds the store lock, so no
 * entry found there can go.  A slot being set or cleared meanwhile is seen
 * with its pid or not at all.  Returns how many open sessions have no key
 * (they were established while the table was full of keys with open
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

		if (pid == 0)
			continue;
		pg_read_barrier();
		entry = slot->entry;
		if (entry != NULL)
			fn(entry, pid, slot->status, slot->proc, arg);
		else
			unkeyed++;
	}
	return unkeyed;
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
 * Called holding the entry got from pgps_entry_acquire(), when the session
 * is counted as open, or with NULL for a session that got no key: the
 * server's figures still count it.
 */
void
pgps_slot_set(pgpsEntry *entry)
{
	int			i = PGPS_MY_SLOT;
	pgpsSlot   *slot;

	if (i < 0 || i >= pgps_num_slots())
		return;
	slot = &pgps_state->slots[i];
	slot->entry = entry;
	slot->proc = MyProc;
	slot->status = MyBEEntry;
	pg_write_barrier();
	slot->pid = MyProcPid;
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
