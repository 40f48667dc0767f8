/*-------------------------------------------------------------------------
 *
 * histogram.c
 *		Fixed log-scale histograms: session lifetimes and sampled connection
 *		counts, so that percentiles are available without storing every
 *		value.
 *
 * Bucket layout (see PGPS_HIST_* and PGPS_COUNT_* in pgpool_stats.h): with
 * sub_bits S, values below 2^S get a bucket each; above, the power of two
 * holding the value is split into 2^S equal buckets, up to 2^max_msb.  Pure
 * functions: no locks, no allocation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_bitutils.h"

#include "pgpool_stats.h"

/* Number of buckets of a layout */
static inline int
nbuckets(int sub_bits, int max_msb)
{
	return (max_msb - sub_bits + 2) << sub_bits;
}

/* Bucket of a value; the last bucket takes everything beyond the range */
int
pgps_hist_bucket(uint64 value, int sub_bits, int max_msb)
{
	int			msb;
	int			sub;

	if (value < (UINT64CONST(1) << sub_bits))
		return (int) value;

	msb = pg_leftmost_one_pos64(value);
	if (msb > max_msb)
		return nbuckets(sub_bits, max_msb) - 1;

	sub = (int) ((value >> (msb - sub_bits)) & ((1 << sub_bits) - 1));
	return ((msb - sub_bits + 1) << sub_bits) + sub;
}

/* Lowest value that falls into a bucket, and the bucket's width */
static void
bucket_bounds(int bucket, int sub_bits, uint64 *lower, uint64 *width)
{
	int			msb;
	int			sub;

	if (bucket < (1 << sub_bits))
	{
		*lower = bucket;
		*width = 1;
		return;
	}
	msb = (bucket >> sub_bits) - 1 + sub_bits;
	sub = bucket & ((1 << sub_bits) - 1);
	*width = UINT64CONST(1) << (msb - sub_bits);
	*lower = (UINT64CONST(1) << msb) + sub * *width;
}

/* Number of values counted, extra zeros included */
static uint64
hist_total(const uint64 *hist, int n, uint64 extra_zeros)
{
	uint64		total = extra_zeros;

	for (int i = 0; i < n; i++)
		total += hist[i];
	return total;
}

/*
 * The value of the given rank (1-based, as in the sorted list of the
 * values), never above the largest value seen.  extra_zeros are counted as
 * values 0 on top of the histogram (samples that saw nothing).  A bucket of
 * width 1 gives its value exactly; a wider one is interpolated linearly
 * (each value taken at the middle of its share of the bucket).
 */
static double
value_at_rank(const uint64 *hist, int sub_bits, int max_msb,
			  uint64 extra_zeros, double rank, uint64 max_value)
{
	int			n = nbuckets(sub_bits, max_msb);
	uint64		seen;
	int			i;

	seen = extra_zeros;
	if (seen >= rank)
		return 0;
	for (i = 0; i < n; i++)
	{
		uint64		lower;
		uint64		width;
		double		value;

		if (hist[i] == 0 || seen + hist[i] < rank)
		{
			seen += hist[i];
			continue;
		}
		bucket_bounds(i, sub_bits, &lower, &width);
		if (width == 1)
			return Min((double) lower, (double) max_value);
		value = lower + width * ((rank - seen - 0.5) / hist[i]);
		return Min(value, (double) max_value);
	}
	return (double) max_value;
}

/*
 * The value below which the given fraction of the counted values fall (see
 * value_at_rank).  Returns -1 when there is nothing counted.
 */
double
pgps_hist_percentile(const uint64 *hist, int sub_bits, int max_msb,
					 uint64 extra_zeros, double fraction, uint64 max_value)
{
	uint64		total = hist_total(hist, nbuckets(sub_bits, max_msb), extra_zeros);
	double		rank;

	if (total == 0)
		return -1;
	rank = Max(ceil(fraction * total), 1);
	return value_at_rank(hist, sub_bits, max_msb, extra_zeros, rank, max_value);
}

/*
 * The k-th largest of the counted values (k from 1), or -1 when fewer than
 * k are counted.
 */
double
pgps_hist_kth_largest(const uint64 *hist, int sub_bits, int max_msb,
					  uint64 extra_zeros, uint64 k, uint64 max_value)
{
	uint64		total = hist_total(hist, nbuckets(sub_bits, max_msb), extra_zeros);

	if (k < 1 || total < k)
		return -1;
	return value_at_rank(hist, sub_bits, max_msb, extra_zeros,
						 (double) (total - k + 1), max_value);
}

/*
 * The same for a key's own histogram, whose buckets are 32 bits to keep
 * entries small (they saturate rather than wrap; see pgps_hist_add).
 */
#define WIDE_BUCKETS	Max(PGPS_HIST_BUCKETS, PGPS_COUNT_BUCKETS)

/* A key's 32-bit histogram copied into 64-bit buckets */
static void
widen(const uint32 *hist, int sub_bits, int max_msb, uint64 *wide)
{
	int			n = nbuckets(sub_bits, max_msb);

	Assert(n <= WIDE_BUCKETS);
	for (int i = 0; i < n; i++)
		wide[i] = hist[i];
}

double
pgps_hist_percentile32(const uint32 *hist, int sub_bits, int max_msb,
					   uint64 extra_zeros, double fraction, uint64 max_value)
{
	uint64		wide[WIDE_BUCKETS];

	widen(hist, sub_bits, max_msb, wide);
	return pgps_hist_percentile(wide, sub_bits, max_msb, extra_zeros,
								fraction, max_value);
}

/* pgps_hist_kth_largest() of a key's own histogram */
double
pgps_hist_kth_largest32(const uint32 *hist, int sub_bits, int max_msb,
						uint64 extra_zeros, uint64 k, uint64 max_value)
{
	uint64		wide[WIDE_BUCKETS];

	widen(hist, sub_bits, max_msb, wide);
	return pgps_hist_kth_largest(wide, sub_bits, max_msb, extra_zeros, k,
								 max_value);
}

/*
 * The share of a key's counted values, extra_zeros included, that are at
 * least value (an integer): a bucket wholly at or above it counts whole,
 * the bucket that holds it in proportion.  Exact where buckets are one
 * value wide.  0 when nothing was counted.
 */
double
pgps_hist_share_at_least32(const uint32 *hist, int sub_bits, int max_msb,
						   uint64 extra_zeros, uint64 value)
{
	int			n = nbuckets(sub_bits, max_msb);
	double		above = 0;
	uint64		total = extra_zeros;

	if (value == 0)
		above = extra_zeros;
	for (int i = 0; i < n; i++)
	{
		uint64		lower;
		uint64		width;

		total += hist[i];
		if (hist[i] == 0)
			continue;
		bucket_bounds(i, sub_bits, &lower, &width);
		if (lower >= value)
			above += hist[i];
		else if (lower + width > value && i < n - 1)
			above += hist[i] * (double) (lower + width - value) / width;
	}
	return total > 0 ? above / total : 0;
}

/*
 * The mean and variance of a key's counted values, extra_zeros included:
 * each value at its bucket's middle, so exact where buckets are one value
 * wide; a wider bucket's own spread, (w^2 - 1) / 12 for values spread
 * evenly over its w, is taken out of the variance (Sheppard's correction),
 * which the middles would otherwise inflate.  Both 0 when nothing was
 * counted.
 */
void
pgps_hist_moments32(const uint32 *hist, int sub_bits, int max_msb,
					uint64 extra_zeros, double *mean, double *variance)
{
	int			n = nbuckets(sub_bits, max_msb);
	double		total = extra_zeros;
	double		sum = 0;
	double		sum_sq = 0;
	double		spread = 0;

	for (int i = 0; i < n; i++)
	{
		uint64		lower;
		uint64		width;
		double		mid;

		if (hist[i] == 0)
			continue;
		bucket_bounds(i, sub_bits, &lower, &width);
		mid = lower + (width - 1) / 2.0;
		total += hist[i];
		sum += hist[i] * mid;
		sum_sq += hist[i] * mid * mid;
		spread += hist[i] * ((double) width * width - 1) / 12;
	}
	*mean = total > 0 ? sum / total : 0;
	*variance = total > 0 ?
		Max((sum_sq - spread) / total - *mean * *mean, 0) : 0;
}
