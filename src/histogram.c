/*-------------------------------------------------------------------------
 *
 * histogram.c
 *		The fixed log-scale histogram that holds session lifetimes, so that
 *		percentiles are available without storing every session.
 *
 * Bucket layout (see PGPS_HIST_* in pgpool_stats.h): values below
 * PGPS_HIST_SUB get a bucket each; above, the power of two holding the value
 * is split into PGPS_HIST_SUB equal buckets.  Pure functions: no locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"

#include "pgpool_stats.h"

/* Bucket of a value; the last bucket takes everything beyond the range */
int
pgps_hist_bucket(uint64 value)
{
	int			msb;
	int			sub;

	if (value < PGPS_HIST_SUB)
		return (int) value;

	msb = pg_leftmost_one_pos64(value);
	if (msb > PGPS_HIST_MAX_MSB)
		return PGPS_HIST_BUCKETS - 1;

	sub = (int) ((value >> (msb - PGPS_HIST_SUB_BITS)) & (PGPS_HIST_SUB - 1));
	return (msb - PGPS_HIST_SUB_BITS + 1) * PGPS_HIST_SUB + sub;
}

/* Lowest value that falls into a bucket, and the bucket's width */
static void
bucket_bounds(int bucket, uint64 *lower, uint64 *width)
{
	int			octave;
	int			sub;

	if (bucket < PGPS_HIST_SUB)
	{
		*lower = bucket;
		*width = 1;
		return;
	}
	octave = bucket / PGPS_HIST_SUB - 1 + PGPS_HIST_SUB_BITS;	/* the msb */
	sub = bucket % PGPS_HIST_SUB;
	*width = UINT64CONST(1) << (octave - PGPS_HIST_SUB_BITS);
	*lower = (UINT64CONST(1) << octave) + sub * *width;
}

/*
 * The value below which the given fraction of the counted values fall,
 * interpolated linearly inside its bucket (each value taken at the middle
 * of its share of the bucket) and never above the largest value
 * seen.  Returns -1 when the histogram is empty.
 */
double
pgps_hist_percentile(const uint32 *hist, int nbuckets, double fraction,
					 uint64 max_value)
{
	uint64		total = 0;
	uint64		seen = 0;
	double		rank;
	int			i;

	for (i = 0; i < nbuckets; i++)
		total += hist[i];
	if (total == 0)
		return -1;

	/* the rank of the wanted value, 1-based, as in a sorted list */
	rank = fraction * total;
	if (rank < 1)
		rank = 1;

	for (i = 0; i < nbuckets; i++)
	{
		uint64		lower;
		uint64		width;
		double		value;

		if (hist[i] == 0 || seen + hist[i] < rank)
		{
			seen += hist[i];
			continue;
		}
		bucket_bounds(i, &lower, &width);
		value = lower + width * ((rank - seen - 0.5) / hist[i]);
		return Min(value, (double) max_value);
	}
	return (double) max_value;
}
