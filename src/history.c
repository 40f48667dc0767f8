/*-------------------------------------------------------------------------
 *
 * history.c
 *		The bounded history: time buckets of history_interval seconds, with
 *		one row per key that had sessions or connections in the bucket.
 *
 * Memory is fixed at start: a ring of history_size buckets and a ring of
 * history_rows rows, the rows of a bucket next to each other.  While a
 * bucket fills, each entry accumulates its part of it (pgpsActivity's
 * bucket_* fields); the first sample past the bucket's end closes it,
 * copying one row per key that was busy into the ring.  When either ring
 * is full the oldest bucket goes, with its rows.
 *
 * Locking: closing a bucket holds the sample lock (the caller's), the main
 * lock shared and history_lock exclusive; readers hold history_lock shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pgpool_stats.h"

/* Drop the oldest bucket and its rows; caller holds history_lock exclusive */
static void
drop_oldest_bucket(void)
{
	pgpsHistBucket *b = &pgps_state->buckets[pgps_state->bucket_tail % pgps_history_size];

	pgps_state->row_tail = b->first_row + b->nrows;
	pgps_state->bucket_tail++;
}

/*
 * Reserve the next row of the bucket being written, dropping old buckets
 * for room; NULL when the ring cannot hold more rows for this bucket.
 */
static pgpsHistRow *
next_row(int64 bucket_first_row)
{
	while (pgps_state->row_head - pgps_state->row_tail >= pgps_history_rows)
	{
		if (pgps_state->bucket_tail == pgps_state->bucket_head)
			return NULL;		/* only the bucket being written is left */
		drop_oldest_bucket();
	}
	if (pgps_state->row_head - bucket_first_row >= pgps_history_rows)
		return NULL;
	return &pgps_state->rows[pgps_state->row_head++ % pgps_history_rows];
}

/*
 * The row of one entry for the closing bucket, and the entry's start of the
 * next bucket.  Caller holds the entry's spinlock.  False if the key was
 * idle for the whole bucket (no row).
 */
static bool
take_bucket(pgpsEntry *entry, pgpsHistRow *row)
{
	pgpsActivity *a = &entry->activity;
	int64		connections = entry->churn.connections - a->bucket_base_connections;
	int64		disconnections = entry->churn.disconnections - a->bucket_base_disconnections;
	bool		busy = a->bucket_touched || connections != 0 || disconnections != 0;

	if (busy)
	{
		memcpy(&row->key, &entry->key, sizeof(pgpsKey));
		row->max_total = a->bucket_max_total;
		row->max_active = a->bucket_max_active;
		row->max_iit = a->bucket_max_iit;
		row->connections = (int32) Min(connections, PG_INT32_MAX);
		row->disconnections = (int32) Min(disconnections, PG_INT32_MAX);
		row->sum_total = a->bucket_sum_total;
		row->sum_active = a->bucket_sum_active;
	}
	a->bucket_touched = false;
	a->bucket_max_total = 0;
	a->bucket_max_active = 0;
	a->bucket_max_iit = 0;
	a->bucket_sum_total = 0;
	a->bucket_sum_active = 0;
	a->bucket_base_connections = entry->churn.connections;
	a->bucket_base_disconnections = entry->churn.disconnections;
	return busy;
}

/*
 * Close the bucket being filled (if any) into the ring and begin the one
 * holding now, aligned to a multiple of history_interval.  Caller holds the
 * sample lock.
 */
void
pgps_history_close_bucket(TimestampTz now)
{
	int64		width = (int64) pgps_history_interval_s * USECS_PER_SEC;
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;
	pgpsHistBucket *bucket = NULL;
	int64		first_row;
	int32		nrows = 0;
	pgpsHistRow scratch;

	LWLockAcquire(pgps_state->lock, LW_SHARED);
	LWLockAcquire(pgps_state->history_lock, LW_EXCLUSIVE);

	if (pgps_state->cur_bucket_start != 0)
	{
		if (pgps_state->bucket_head - pgps_state->bucket_tail >= pgps_history_size)
			drop_oldest_bucket();
		bucket = &pgps_state->buckets[pgps_state->bucket_head % pgps_history_size];
	}
	first_row = pgps_state->row_head;

	hash_seq_init(&status, pgps_entry_hash());
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		pgpsHistRow *row = &scratch;
		bool		busy;

		SpinLockAcquire(&entry->mutex);
		busy = take_bucket(entry, row);
		SpinLockRelease(&entry->mutex);
		if (!busy || bucket == NULL)
			continue;
		row = next_row(first_row);
		if (row == NULL)
		{
			pgps_state->rows_lost++;
			continue;
		}
		memcpy(row, &scratch, sizeof(pgpsHistRow));
		nrows++;
	}

	if (bucket != NULL)
	{
		bucket->start = pgps_state->cur_bucket_start;
		/* cut short if the clock was set back */
		bucket->end = Max(Min(pgps_state->cur_bucket_end, now),
						  pgps_state->cur_bucket_start);
		bucket->samples = pgps_state->cur_bucket_samples;
		bucket->first_row = first_row;
		bucket->nrows = nrows;
		pgps_state->bucket_head++;
	}

	LWLockRelease(pgps_state->history_lock);
	LWLockRelease(pgps_state->lock);

	pgps_state->cur_bucket_start = now - now % width;
	pgps_state->cur_bucket_end = pgps_state->cur_bucket_start + width;
	pgps_state->cur_bucket_samples = 0;
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
		LWLockAcquire(pgps_state->history_lock, LW_SHARED);
		from = pgps_state->bucket_tail;
		if (max_buckets > 0 && pgps_state->bucket_head - from > max_buckets)
			from = pgps_state->bucket_head - max_buckets;
		n = (int) (pgps_state->bucket_head - from);
		nrows = 0;
		for (b = from; b < pgps_state->bucket_head; b++)
			nrows += pgps_state->buckets[b % pgps_history_size].nrows;
		if (buckets != NULL && n <= bucket_room && nrows <= row_room)
			break;
		LWLockRelease(pgps_state->history_lock);
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
	for (b = from; b < pgps_state->bucket_head; b++)
	{
		pgpsHistBucket *src = &pgps_state->buckets[b % pgps_history_size];
		pgpsHistBucket *dst = &buckets[b - from];
		int			r;

		*dst = *src;
		dst->first_row = nrows;
		for (r = 0; r < src->nrows; r++)
			(*rows)[nrows++] = pgps_state->rows[(src->first_row + r) % pgps_history_rows];
	}
	LWLockRelease(pgps_state->history_lock);

	*nbuckets = n;
	return buckets;
}
