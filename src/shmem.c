/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of pgpool_stats: its request and start-up, the key hash,
 *		eviction, and reset.
 *
 * Note about locking:
 *
 * - Three LWLocks of the "pgpool_stats" tranche, always taken in this order:
 *	 sample_lock (exclusive: whoever takes a sample; shared: a reader that
 *	 needs the statistics and the sample count to agree), lock, history_lock.
 * - pgps_state->lock protects the layout of the hash: look-ups hold it
 *	 shared, insertion, eviction and reset hold it exclusive.  An entry
 *	 with open connections is never removed, so a slot's entry pointer stays
 *	 valid while the session lives; the sampler reads slots holding the lock
 *	 shared, so no entry it finds there can go while it works.
 * - Each entry's spinlock protects its counters.  A writer holds the LWLock
 *	 (either mode) and then the spinlock; a reader copies the counters out
 *	 under the spinlock and builds tuples after releasing every lock.
 * - While the LWLock is held exclusive no one can be updating any entry, so
 *	 eviction and reset read and write counters without the spinlocks.
 * - pgps_state->mutex protects the global counters of the shared state.
 * - history_lock protects the history ring (history.c).
 * - Nothing in this file throws while holding a lock, and nothing here is
 *	 slow but the eviction scan, which runs only when the table is full and
 *	 then frees a twentieth of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/backend_status.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pgpool_stats.h"

pgpsSharedState *pgps_state = NULL;
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
static void *carve_alloc(Size size);

/* Alignment slack of the carved allocations: a few segments and one block */
#define PGPS_CARVE_SLACK	1024

/*
 * All of pgpool_stats' shared memory is one named region ("pgpool_stats" in
 * pg_shmem_allocations): the shared state, the session slots, the history
 * ring's buckets and rows, the hash table's header and directory, then the
 * space its segments and entries are carved from.  One region makes the
 * figure in pgpool_stats_info checkable.
 */
typedef struct pgpsLayout
{
	Size		slots;			/* offsets from the start of the region */
	Size		buckets;
	Size		rows;
	Size		hash_header;
	Size		carve;
	Size		total;			/* size of the region */
} pgpsLayout;

static Size
hash_header_size(HASHCTL *info, int *flags)
{
	info->keysize = sizeof(pgpsKey);
	info->entrysize = sizeof(pgpsEntry);
	info->dsize = info->max_dsize = hash_select_dirsize(pgps_max_entries);
	info->alloc = carve_alloc;
	*flags = HASH_ELEM | HASH_BLOBS | HASH_SHARED_MEM | HASH_ALLOC | HASH_DIRSIZE;
	return MAXALIGN(hash_get_shared_size(info, *flags));
}

static void
compute_layout(pgpsLayout *layout, HASHCTL *info, int *flags)
{
	Size		off = MAXALIGN(sizeof(pgpsSharedState));

	layout->slots = off;
	off = add_size(off, MAXALIGN(mul_size(pgps_num_slots(), sizeof(pgpsSlot))));
	layout->buckets = off;
	off = add_size(off, MAXALIGN(mul_size(pgps_history_size, sizeof(pgpsHistBucket))));
	layout->rows = off;
	off = add_size(off, MAXALIGN(mul_size(pgps_history_rows, sizeof(pgpsHistRow))));
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

/* Client backends that can exist at once: the size of the slot array */
int
pgps_num_slots(void)
{
	return PGPS_MAX_BACKENDS;
}

/*
 * Allocator of the hash's segments and entries, from the region's tail.
 * Called by dynahash at creation (postmaster) and, if ever, under the
 * exclusive lock; returns NULL when the region is used up, which dynahash
 * turns into a failed HASH_ENTER_NULL.
 */
static void *
carve_alloc(Size size)
{
	void	   *result;

	size = MAXALIGN(size);
	if (pgps_state->carve_used + size > pgps_state->carve_size)
		return NULL;
	result = (char *) pgps_state + pgps_state->carve_start + pgps_state->carve_used;
	pgps_state->carve_used += size;
	return result;
}

/* Ask for the shared memory and the lock; called at preload time only */
void
pgps_shmem_request(void)
{
	RequestAddinShmemSpace(pgps_shmem_size());
	RequestNamedLWLockTranche("pgpool_stats", 3);
}

/*
 * Create or attach to the shared state and hash.  Runs in the postmaster at
 * start and after every crash reinitialisation, which starts empty.
 */
void
pgps_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;
	int			flags;
	pgpsLayout	layout;
	char	   *base;

	pgps_state = NULL;
	pgps_hash = NULL;

	/*
	 * Once per process: the postmaster's copy is inherited by every backend
	 * (under EXEC_BACKEND each process runs this and makes its own).
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
		LWLockPadded *locks = GetNamedLWLockTranche("pgpool_stats");

		memset(pgps_state, 0, layout.carve);
		pgps_state->lock = &locks[0].lock;
		pgps_state->sample_lock = &locks[1].lock;
		pgps_state->history_lock = &locks[2].lock;
		pgps_state->slots = (pgpsSlot *) (base + layout.slots);
		pgps_state->buckets = (pgpsHistBucket *) (base + layout.buckets);
		pgps_state->rows = (pgpsHistRow *) (base + layout.rows);
		SpinLockInit(&pgps_state->mutex);
		pgps_state->stats_reset = GetCurrentTimestamp();
		pgps_state->carve_start = layout.carve;
		pgps_state->carve_size = layout.total - layout.carve;
		pgps_state->carve_used = 0;
	}
	else
		flags |= HASH_ATTACH;

	info.hctl = (HASHHDR *) (base + layout.hash_header);
	pgps_hash = hash_create("pgpool_stats hash", pgps_max_entries, &info, flags);

	LWLockRelease(AddinShmemInitLock);

	if (!found)
		pgps_persist_startup();
}

/*
 * Raise a clear error when the library was not preloaded: every SQL entry
 * point calls this first.
 */
void
pgps_check_loaded(void)
{
	if (pgps_state == NULL || pgps_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgpool_stats must be loaded via shared_preload_libraries"),
				 errhint("Add pgpool_stats to the shared_preload_libraries setting and restart the server.")));
}

/*
 * Find the entry of a key, creating it if the mode allows: PGPS_FIND never
 * creates, PGPS_CREATE_IF_ROOM creates only while the table has room, and
 * PGPS_CREATE evicts idle keys to make room.  On success the entry is
 * returned with pgps_state->lock held (shared for a found entry, exclusive
 * for a new one): update it under its spinlock, then release the lock with
 * LWLockRelease(pgps_state->lock).  Returns NULL with no lock held when the
 * key has no entry and none could be made.
 *
 * Called from the connection path: never throws, never waits on anything
 * but the LWLock.
 */
pgpsEntry *
pgps_entry_get(const pgpsKey *key, pgpsCreateMode mode)
{
	pgpsEntry  *entry;
	bool		found;

	LWLockAcquire(pgps_state->lock, LW_SHARED);
	entry = (pgpsEntry *) hash_search(pgps_hash, key, HASH_FIND, NULL);
	if (entry != NULL || mode == PGPS_FIND)
	{
		if (entry == NULL)
			LWLockRelease(pgps_state->lock);
		return entry;
	}
	LWLockRelease(pgps_state->lock);

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
		/* the key is already in place; the rest starts from zero */
		memset((char *) entry + sizeof(pgpsKey), 0,
			   sizeof(pgpsEntry) - sizeof(pgpsKey));
		SpinLockInit(&entry->mutex);
		entry->last_seen = GetCurrentTimestamp();
		entry->churn.first_seen = entry->last_seen;
		SpinLockAcquire(&pgps_state->mutex);
		entry->activity.window_start_no = pgps_state->samples_taken;
		SpinLockRelease(&pgps_state->mutex);
	}
	return entry;
}

/* Sift heap[i] down a max-heap of n entries ordered by last_seen */
static void
sift_down(pgpsEntry **heap, int n, int i)
{
	for (;;)
	{
		int			newest = i;
		int			l = 2 * i + 1;
		int			r = l + 1;
		pgpsEntry  *tmp;

		if (l < n && heap[l]->last_seen > heap[newest]->last_seen)
			newest = l;
		if (r < n && heap[r]->last_seen > heap[newest]->last_seen)
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
 * Evict the least recently seen keys that have no open connection: a key
 * with a live session is never lost mid-session.  One scan keeps the oldest
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
			while (i > 0 && heap[(i - 1) / 2]->last_seen < heap[i]->last_seen)
			{
				pgpsEntry  *tmp = heap[i];

				heap[i] = heap[(i - 1) / 2];
				heap[(i - 1) / 2] = tmp;
				i = (i - 1) / 2;
			}
		}
		else if (entry->last_seen < heap[0]->last_seen)
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
		pgps_state->evicted += n;
		SpinLockRelease(&pgps_state->mutex);
	}
}

/* Count an event that found no entry to go into; never throws */
void
pgps_count_dropped(void)
{
	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->dropped++;
	SpinLockRelease(&pgps_state->mutex);
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

	LWLockAcquire(pgps_state->lock, LW_EXCLUSIVE);
	SpinLockAcquire(&pgps_state->mutex);
	samples = pgps_state->samples_taken;
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
		memset(&entry->churn, 0, sizeof(entry->churn));
		memset(&entry->activity, 0, sizeof(entry->activity));
		entry->churn.open_connections = open;
		entry->churn.first_seen = now;
		entry->last_seen = now;
		entry->activity.window_start_no = samples;
	}

	LWLockAcquire(pgps_state->history_lock, LW_EXCLUSIVE);
	pgps_state->bucket_tail = pgps_state->bucket_head;
	pgps_state->row_tail = pgps_state->row_head;
	pgps_state->rows_lost = 0;
	LWLockRelease(pgps_state->history_lock);

	SpinLockAcquire(&pgps_state->mutex);
	pgps_state->evicted = 0;
	pgps_state->dropped = 0;
	pgps_state->peak_sessions = 0;
	pgps_state->stats_reset = now;
	SpinLockRelease(&pgps_state->mutex);

	LWLockRelease(pgps_state->lock);
}

/*
 * Copy every entry out, each under its spinlock, into an array allocated in
 * the current memory context; *count gets its length.  Readers build their
 * tuples from the copy, after every lock is released.  With st, the copy is
 * taken under the sample lock, so that no sample falls between it and the
 * shared state copied into *st: the statistics and the sample count agree.
 */
pgpsEntry *
pgps_entry_snapshot(long *count, pgpsSharedState *st)
{
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;
	pgpsEntry  *copy;
	long		room;
	long		n = 0;

	/*
	 * Allocate before taking the locks (a million keys is over a gigabyte),
	 * and again in the rare case that keys were added meanwhile.
	 */
	room = pgps_entry_count();
	for (;;)
	{
		copy = MemoryContextAllocHuge(CurrentMemoryContext,
									  Max(room, 1) * sizeof(pgpsEntry));
		if (st)
			LWLockAcquire(pgps_state->sample_lock, LW_SHARED);
		LWLockAcquire(pgps_state->lock, LW_SHARED);
		if (hash_get_num_entries(pgps_hash) <= room)
			break;
		room = hash_get_num_entries(pgps_hash);
		LWLockRelease(pgps_state->lock);
		if (st)
			LWLockRelease(pgps_state->sample_lock);
		pfree(copy);
	}

	hash_seq_init(&status, pgps_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		SpinLockAcquire(&entry->mutex);
		memcpy(&copy[n], entry, sizeof(pgpsEntry));
		SpinLockRelease(&entry->mutex);
		n++;
	}
	LWLockRelease(pgps_state->lock);
	if (st)
	{
		*st = pgps_state_copy();
		LWLockRelease(pgps_state->sample_lock);
	}

	*count = n;
	return copy;
}

/* The hash itself, for a walk under the main lock (history.c) */
HTAB *
pgps_entry_hash(void)
{
	return pgps_hash;
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
 * Publish this backend's session in its slot, so the sampler finds it.
 * Called with the main lock held, when the session is counted as open.
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
