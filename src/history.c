/*-------------------------------------------------------------------------
 *
 * history.c
 *		The bounded history: time buckets of history_interval seconds, with
 *		one row per key that had sessions or connections in the bucket.  This
 *		file is the ring's only reader and writer (src/README tells a
 *		bucket's life).
 *
 * Memory is fixed at start: a ring of history_size buckets and a ring of
 * history_rows rows, the rows of a bucket next to each other.  The ring is
 * under history_lock; the bucket being filled is under the sample lock,
 * which the sampler holds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pgpool_stats.h"
#include "store.h"

typedef struct pgpsHistory
{
	LWLock	   *lock;			/* history_lock */
	pgpsHistBucket *buckets;	/* history_size of them */
	pgpsHistRow *rows;			/* history_rows of them */

	/* the ring, under lock */
	int64		bucket_head;	/* absolute number of the next bucket */
	int64		bucket_tail;	/* of the oldest kept */
	int64		row_head;		/* absolute number of the next row */
	int64		row_tail;		/* of the oldest kept */
	int64		rows_lost;		/* rows that found no room in their bucket */

	/* the bucket being filled, under the sample lock */
	TimestampTz cur_start;		/* 0: none yet */
	TimestampTz cur_end;
	int64		cur_samples;
} pgpsHistory;

static pgpsHistory *hist = NULL;

/* The ring's shared memory: its state, then the buckets, then the rows */
Size
pgps_history_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(pgpsHistory));

	size = add_size(size, MAXALIGN(mul_size(pgps_history_size, sizeof(pgpsHistBucket))));
	return add_size(size, mul_size(pgps_history_rows, sizeof(pgpsHistRow)));
}

/*
 * Lay the ring out at place, with its lock, or attach to it (found: the
 * lock is already in place); shmem.c calls this.
 */
void
pgps_history_shmem_init(void *place, bool found, LWLock *lock)
{
	char	   *base = (char *) place;

	hist = (pgpsHistory *) place;
	if (found)
		return;
	memset(hist, 0, sizeof(pgpsHistory));
	hist->lock = lock;
	hist->buckets = (pgpsHistBucket *) (base + MAXALIGN(sizeof(pgpsHistory)));
	hist->rows = (pgpsHistRow *) ((char *) hist->buckets +
								  MAXALIGN(pgps_history_size * sizeof(pgpsHistBucket)));
}

/* Drop the oldest bucket and its rows; caller holds the lock exclusive */
static void
drop_oldest_bucket(void)
{
	pgpsHistBucket *b = &hist->buckets[hist->bucket_tail % pgps_history_size];

	hist->row_tail = b->first_row + b->nrows;
	hist->bucket_tail++;
}

/*
 * Reserve the next row of the bucket being written, dropping old buckets
 * for room; NULL when the ring cannot hold more rows for this bucket.
 */
static pgpsHistRow *
next_row(int64 bucket_first_row)
{
	while (hist->row_head - hist->row_tail >= pgps_history_rows)
	{
		if (hist->bucket_tail == hist->bucket_head)
			return NULL;		/* only the bucket being written is left */
		drop_oldest_bucket();
	}
	if (hist->row_head - bucket_first_row >= pgps_history_rows)
		return NULL;
	return &hist->rows[hist->row_head++ % pgps_history_rows];
}

/*
 * A key's part of a new bucket: nothing yet, counted from its churn and
 * usage now
 */
static void
part_init(pgpsEntry *entry)
{
	pgpsBucketPart *part = &entry->bucket;
	pgpsBucketLoad *load = &entry->bucket_load;

	memset(part, 0, sizeof(pgpsBucketPart));
	part->base_connections = entry->churn.connections;
	part->base_disconnections = entry->churn.disconnections;
	memset(load, 0, sizeof(pgpsBucketLoad));
	load->base_transactions = entry->usage.transactions;
	load->base_timed_transactions = entry->usage.timed_transactions;
	load->base_xact_time_us = entry->usage.xact_time_us;
	load->base_xact_time_sq = entry->usage.xact_time_sq;
}

/*
 * Count one sample's counts of a key, and its busy sessions, into its part
 * of the bucket
 */
void
pgps_history_add_sample(pgpsBucketPart *part, pgpsBucketLoad *load,
						const pgpsCounts *c, int32 busy)
{
	int32		iit = c->idle_in_xact + c->idle_in_xact_aborted;

	load->sum_busy += busy;
	load->sum_busy_sq += (int64) busy * busy;

	part->touched = true;
	part->max_total = Max(part->max_total, c->total);
	part->max_active = Max(part->max_active, c->active);
	part->max_iit = Max(part->max_iit, iit);
	part->sum_total += c->total;
	part->sum_active += c->active;
}

/* State of the walk that closes a bucket */
typedef struct CloseState
{
	bool		keep;			/* rows go into a bucket (not the first one) */
	int64		first_row;
	int32		nrows;
	pgpsHistRow *pending;		/* one partition's rows, not yet written */
	int			npending;
	int			room;
} CloseState;

/*
 * One entry at the close of a bucket: its row if it was busy, and its part
 * of the next bucket.  Under its partition's lock shared; the row waits in
 * the walk's own memory until the partition is released (close_part).
 */
static void
close_entry(pgpsEntry *entry, void *arg)
{
	CloseState *cs = (CloseState *) arg;
	pgpsBucketPart *p = &entry->bucket;
	pgpsHistRow row;
	int64		connections;
	int64		disconnections;
	bool		busy;

	if (!cs->keep)
	{
		/*
		 * No bucket was open (the first sample since a start or a reset):
		 * the first bucket counts the connections and transactions made
		 * since each part began, not only those after this sample.
		 */
		int64		base_connections;
		int64		base_disconnections;

		pgps_entry_lock(entry);
		base_connections = p->base_connections;
		base_disconnections = p->base_disconnections;
		memset(p, 0, sizeof(pgpsBucketPart));
		p->base_connections = base_connections;
		p->base_disconnections = base_disconnections;
		entry->bucket_load.sum_busy = 0;
		entry->bucket_load.sum_busy_sq = 0;
		pgps_entry_unlock(entry);
		return;
	}

	pgps_entry_lock(entry);
	connections = entry->churn.connections - p->base_connections;
	disconnections = entry->churn.disconnections - p->base_disconnections;
	busy = p->touched || connections != 0 || disconnections != 0 ||
		entry->usage.transactions != entry->bucket_load.base_transactions;
	if (busy)
	{
		const pgpsBucketLoad *load = &entry->bucket_load;
		const pgpsUsage *u = &entry->usage;

		memset(&row, 0, sizeof(row));

		memcpy(&row.key, &entry->key, sizeof(pgpsKey));
		row.max_total = p->max_total;
		row.max_active = p->max_active;
		row.max_iit = p->max_iit;
		row.connections = (int32) Min(connections, PG_INT32_MAX);
		row.disconnections = (int32) Min(disconnections, PG_INT32_MAX);
		row.sum_total = p->sum_total;
		row.sum_active = p->sum_active;
		row.transactions = u->transactions - load->base_transactions;
		row.timed_transactions = u->timed_transactions -
			load->base_timed_transactions;
		row.xact_time_us = u->xact_time_us - load->base_xact_time_us;
		row.xact_time_sq = u->xact_time_sq - load->base_xact_time_sq;
		row.sum_busy = load->sum_busy;
		row.sum_busy_sq = load->sum_busy_sq;
	}
	part_init(entry);
	pgps_entry_unlock(entry);

	if (!busy)
		return;
	if (cs->npending == cs->room)
	{
		cs->room = Max(cs->room * 2, 64);
		cs->pending = cs->pending == NULL
			? palloc(cs->room * sizeof(pgpsHistRow))
			: repalloc_huge(cs->pending, cs->room * sizeof(pgpsHistRow));
	}
	cs->pending[cs->npending++] = row;
}

/*
 * One partition walked: its rows into the ring, under history_lock
 * exclusive, with no partition held (a login never waits for the ring's
 * readers).
 */
static void
close_part(void *arg)
{
	CloseState *cs = (CloseState *) arg;

	if (cs->npending == 0)
		return;
	LWLockAcquire(hist->lock, LW_EXCLUSIVE);
	for (int i = 0; i < cs->npending; i++)
	{
		pgpsHistRow *dst = next_row(cs->first_row);

		if (dst == NULL)
			hist->rows_lost++;
		else
		{
			memcpy(dst, &cs->pending[i], sizeof(pgpsHistRow));
			cs->nrows++;
		}
	}
	LWLockRelease(hist->lock);
	cs->npending = 0;
}

/*
 * Close the bucket being filled (if any) into the ring and begin the one
 * holding now, aligned to a multiple of history_interval.  The keys are
 * walked a partition at a time: a login waits at most for one partition's
 * part of the close.  So a connection made meanwhile to a key of a
 * partition not walked yet counts in the bucket being closed, and a key
 * evicted meanwhile loses its row: the close is not one instant.  Its rows
 * are seen by readers only once the bucket is added, at the end.  Caller
 * holds the sample lock, so there is one closer at a time and no sample in
 * between.  Allocates in the current memory context.
 */
static void
close_bucket(TimestampTz now)
{
	int64		width = (int64) pgps_history_interval_s * USECS_PER_SEC;
	CloseState	cs;

	memset(&cs, 0, sizeof(cs));
	LWLockAcquire(hist->lock, LW_EXCLUSIVE);
	cs.keep = (hist->cur_start != 0);
	if (cs.keep && hist->bucket_head - hist->bucket_tail >= pgps_history_size)
		drop_oldest_bucket();
	cs.first_row = hist->row_head;
	LWLockRelease(hist->lock);

	pgps_entry_foreach(close_entry, close_part, &cs, true);
	if (cs.pending)
		pfree(cs.pending);

	LWLockAcquire(hist->lock, LW_EXCLUSIVE);
	if (cs.keep)
	{
		pgpsHistBucket *bucket = &hist->buckets[hist->bucket_head % pgps_history_size];

		bucket->start = hist->cur_start;
		/* cut short if the clock was set back */
		bucket->end = Max(Min(hist->cur_end, now), hist->cur_start);
		bucket->samples = hist->cur_samples;
		bucket->first_row = cs.first_row;
		bucket->nrows = cs.nrows;
		hist->bucket_head++;
	}
	LWLockRelease(hist->lock);

	hist->cur_start = now - now % width;
	hist->cur_end = hist->cur_start + width;
	hist->cur_samples = 0;
}

/*
 * A sample is being taken at now: close the bucket being filled if its
 * time is up (or the clock was set back before its start), and count the
 * sample in the bucket.  A history_interval made shorter than the bucket
 * being filled has left (set with a reload, or read from the statistics
 * file after a restart) ends it at the next multiple of the new interval:
 * within one new interval, not up to a day later.  Caller holds the sample
 * lock.
 */
void
pgps_history_tick(TimestampTz now)
{
	int64		width = (int64) pgps_history_interval_s * USECS_PER_SEC;

	if (hist->cur_start != 0 && hist->cur_end - now > width)
		hist->cur_end = Max(now - now % width + width, hist->cur_start);
	if (now >= hist->cur_end || now < hist->cur_start)
		close_bucket(now);
	hist->cur_samples++;
}

/*
 * Forget the history, and end the bucket being filled without keeping it:
 * its sample count and its parts' sums (reset with the entries) must start
 * together, or its averages would read low.  The next sample begins a new
 * bucket.  Caller holds the sample lock and every partition, exclusive.
 */
void
pgps_history_reset(void)
{
	LWLockAcquire(hist->lock, LW_EXCLUSIVE);
	hist->bucket_tail = hist->bucket_head;
	hist->row_tail = hist->row_head;
	hist->rows_lost = 0;
	LWLockRelease(hist->lock);
	hist->cur_start = 0;
	hist->cur_end = 0;
	hist->cur_samples = 0;
}

/* Closed buckets kept, and rows lost for want of room */
void
pgps_history_counts(int64 *buckets, int64 *rows_lost)
{
	LWLockAcquire(hist->lock, LW_SHARED);
	*buckets = hist->bucket_head - hist->bucket_tail;
	*rows_lost = hist->rows_lost;
	LWLockRelease(hist->lock);
}

/* A key's most open sessions in one closed bucket; -1: no row of it */
static int32
bucket_open(const pgpsHistBucket *bucket, const pgpsKey *key)
{
	for (int r = 0; r < bucket->nrows; r++)
	{
		const pgpsHistRow *row =
			&hist->rows[(bucket->first_row + r) % pgps_history_rows];

		if (memcmp(&row->key, key, sizeof(pgpsKey)) == 0)
			return row->max_total;
	}
	return -1;
}

/*
 * How many sessions a key had open before 'when': its most in the newest
 * closed bucket that ended by then, or, when it has no row there (it was
 * not connected, or the history is younger), in the bucket that holds
 * 'when'.  -1: neither has a row of the key.  An older row would be
 * another time (an earlier run of the application), not the one before.
 * Reads at most two buckets' rows in place, under the lock shared.
 */
int32
pgps_history_open_before(const pgpsKey *key, TimestampTz when)
{
	int32		open = -1;
	int64		b;

	LWLockAcquire(hist->lock, LW_SHARED);
	for (b = hist->bucket_head - 1; b >= hist->bucket_tail; b--)
		if (hist->buckets[b % pgps_history_size].end <= when)
			break;
	if (b >= hist->bucket_tail)
		open = bucket_open(&hist->buckets[b % pgps_history_size], key);
	if (open < 0 && b + 1 < hist->bucket_head)
	{
		const pgpsHistBucket *holding = &hist->buckets[(b + 1) % pgps_history_size];

		if (holding->start <= when)
			open = bucket_open(holding, key);
	}
	LWLockRelease(hist->lock);
	return open;
}

/*
 * Copy out the newest max_buckets closed buckets (all if 0), oldest first,
 * and their rows, into memory of the current context.  *rows gets the rows;
 * each bucket's first_row becomes the index of its first row there.
 */
pgpsHistBucket *
pgps_history_snapshot(int max_buckets, int *nbuckets, pgpsHistRow **rows)
{
	pgpsHistBucket *buckets = NULL;
	int64		from = 0;
	int64		b;
	int			n = 0;
	int64		nrows = 0;
	int			bucket_room = 0;
	int64		row_room = 0;

	/*
	 * Allocate before taking the lock (ten million rows are over a
	 * gigabyte), and again in the rare case that the history grew meanwhile.
	 */
	for (;;)
	{
		if (bucket_room > 0 || row_room > 0)
		{
			buckets = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(pgpsHistBucket) * bucket_room);
			*rows = MemoryContextAllocHuge(CurrentMemoryContext,
										   sizeof(pgpsHistRow) * row_room);
		}
		LWLockAcquire(hist->lock, LW_SHARED);
		from = hist->bucket_tail;
		if (max_buckets > 0 && hist->bucket_head - from > max_buckets)
			from = hist->bucket_head - max_buckets;
		n = (int) (hist->bucket_head - from);
		nrows = 0;
		for (b = from; b < hist->bucket_head; b++)
			nrows += hist->buckets[b % pgps_history_size].nrows;
		if (buckets != NULL && n <= bucket_room && nrows <= row_room)
			break;
		LWLockRelease(hist->lock);
		if (buckets != NULL)
		{
			pfree(buckets);
			pfree(*rows);
		}
		buckets = NULL;
		bucket_room = Max(n, 1);
		row_room = Max(nrows, 1);
	}

	nrows = 0;
	for (b = from; b < hist->bucket_head; b++)
	{
		pgpsHistBucket *src = &hist->buckets[b % pgps_history_size];
		pgpsHistBucket *dst = &buckets[b - from];
		int			r;

		*dst = *src;
		dst->first_row = nrows;
		for (r = 0; r < src->nrows; r++)
			(*rows)[nrows++] = hist->rows[(src->first_row + r) % pgps_history_rows];
	}
	LWLockRelease(hist->lock);

	*nbuckets = n;
	return buckets;
}

/*
 * The history's part of the statistics file, for the postmaster at
 * shutdown (every other process is gone: no lock is taken).  *state is
 * written first, then *nbuckets buckets, then *nrows rows.
 */
void
pgps_history_dump_state(pgpsHistoryDump *state, int64 *nbuckets, int64 *nrows)
{
	memset(state, 0, sizeof(pgpsHistoryDump));
	state->cur_start = hist->cur_start;
	state->cur_end = hist->cur_end;
	state->cur_samples = hist->cur_samples;
	state->rows_lost = hist->rows_lost;
	*nbuckets = hist->bucket_head - hist->bucket_tail;
	*nrows = hist->row_head - hist->row_tail;
}

/*
 * Write the kept buckets, oldest first, each with first_row counted from
 * the first row written, then the rows; false on a write error.
 */
bool
pgps_history_write(pgpsWriteFn write, void *arg)
{
	int64		b;

	for (b = hist->bucket_tail; b < hist->bucket_head; b++)
	{
		pgpsHistBucket bucket = hist->buckets[b % pgps_history_size];

		bucket.first_row -= hist->row_tail;
		if (!write(&bucket, sizeof(bucket), arg))
			return false;
	}
	for (b = hist->row_tail; b < hist->row_head; b++)
		if (!write(&hist->rows[b % pgps_history_rows], sizeof(pgpsHistRow), arg))
			return false;
	return true;
}

/* A time the file may hold: 0 (none) or a valid timestamp */
static bool
valid_time(TimestampTz t)
{
	return t == 0 || (t > 0 && IS_VALID_TIMESTAMP(t));
}

/* A bucket's span: none (both 0), or from start to end within a day */
static bool
valid_span(TimestampTz start, TimestampTz end)
{
	if (start == 0 && end == 0)
		return true;
	return start > 0 && valid_time(end) && start <= end &&
		end - start <= (int64) PGPS_MAX_HISTORY_INTERVAL_S * USECS_PER_SEC;
}

/*
 * Why the history read from a file cannot be restored, or NULL.  Its
 * buckets must cover its rows in order, as pgps_history_write() lays them
 * out (an index out of range would otherwise be followed into memory), and
 * a bucket being filled must end within the longest history_interval (one
 * that never ends would never close).
 */
const char *
pgps_history_check(const pgpsHistoryDump *state, const pgpsHistBucket *buckets,
				   int64 nbuckets, int64 nrows)
{
	int64		next_row = 0;
	int64		b;

	if (!valid_span(state->cur_start, state->cur_end))
		return "corrupt (times out of range)";
	for (b = 0; b < nbuckets; b++)
	{
		if (!valid_span(buckets[b].start, buckets[b].end) || buckets[b].samples < 0)
			return "corrupt (history times out of range)";
		if (buckets[b].nrows < 0 || buckets[b].first_row != next_row)
			return "corrupt (history rows out of order)";
		next_row += buckets[b].nrows;
		if (next_row > nrows)
			return "corrupt (history rows out of range)";
	}
	if (next_row != nrows)
		return "corrupt (history rows out of range)";
	return NULL;
}

/*
 * Put a checked history from the file into the (empty, fresh) ring: the
 * newest buckets that fit both rings.  Each row's key must be cleaned by
 * the caller first.  The bucket being filled at shutdown goes on filling,
 * and the first sample past its end closes it, as if there had been no
 * restart.  Returns the number of buckets kept.  Postmaster, at start.
 */
int64
pgps_history_restore(const pgpsHistoryDump *state, const pgpsHistBucket *buckets,
					 int64 nbuckets, const pgpsHistRow *rows)
{
	int64		first_bucket = Max(nbuckets - pgps_history_size, 0);
	int64		nrows_kept = 0;
	int64		b;

	hist->cur_start = state->cur_start;
	hist->cur_end = state->cur_end;
	hist->cur_samples = state->cur_samples;
	hist->rows_lost = state->rows_lost;

	for (b = nbuckets - 1; b >= first_bucket; b--)
	{
		if (nrows_kept + buckets[b].nrows > pgps_history_rows)
		{
			first_bucket = b + 1;
			break;
		}
		nrows_kept += buckets[b].nrows;
	}
	for (b = first_bucket; b < nbuckets; b++)
	{
		pgpsHistBucket *dst = &hist->buckets[hist->bucket_head % pgps_history_size];

		*dst = buckets[b];
		dst->first_row = hist->row_head;
		for (int32 r = 0; r < buckets[b].nrows; r++)
			hist->rows[hist->row_head++ % pgps_history_rows] =
				rows[buckets[b].first_row + r];
		hist->bucket_head++;
	}
	return nbuckets - first_bucket;
}
