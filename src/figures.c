/*-------------------------------------------------------------------------
 *
 * figures.c
 *		The figures derived from the counters, with one definition each, so
 *		that the views and the rules read the same numbers: a key's sample
 *		window and its samples that saw nothing, the window a rate is taken
 *		over, session lifetimes in ms, and percentiles of sampled counts.
 *
 * Pure functions: no locks, no allocation.  A negative result means "none"
 * (the views show NULL).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgpool_stats.h"
#include "rules.h"

/*
 * Samples in a key's window: every sample taken since the window began,
 * including those that saw none of its sessions (they count as zeros).
 */
int64
pgps_window_samples(int64 window_start_no, int64 samples_taken)
{
	return Max(samples_taken - window_start_no, 0);
}

/*
 * The window a rate of connections is taken over, at least a second: from
 * the first event to now while connections are open, else to the last event
 * (the application stopped: its rate stays what it was, rather than falling
 * for as long as nobody resets).
 */
double
pgps_rate_seconds(TimestampTz first_seen, TimestampTz last_seen,
				  int64 open_connections, TimestampTz now)
{
	TimestampTz end = open_connections > 0 ? now : Min(last_seen, now);

	return Max((double) (end - first_seen) / USECS_PER_SEC, 1.0);
}

/* sum / n, or -1 when n is 0 */
double
pgps_mean(double sum, double n)
{
	return n > 0 ? sum / n : -1;
}

/* Microseconds in ms, keeping -1 (none) */
double
pgps_ms(double us)
{
	return us < 0 ? -1 : us / 1000.0;
}

/* A percentile of session lifetimes in ms, -1 if no session ended */
double
pgps_lifetime_ms(const uint64 *hist, uint64 max_us, double fraction)
{
	return pgps_ms(pgps_hist_percentile(hist, PGPS_HIST_SUB_BITS,
										PGPS_HIST_MAX_MSB, 0, fraction,
										max_us));
}

/* The same for one key's 32-bit histogram */
double
pgps_lifetime32_ms(const uint32 *hist, uint64 max_us, double fraction)
{
	return pgps_ms(pgps_hist_percentile32(hist, PGPS_HIST_SUB_BITS,
										  PGPS_HIST_MAX_MSB, 0, fraction,
										  max_us));
}

/*
 * A percentile of a sampled count, with the window's samples that saw
 * nothing added as zeros, never above the peak; -1 if there is no sample.
 */
double
pgps_count_percentile(const uint64 *hist, uint64 zeros, double fraction,
					  int32 peak)
{
	return pgps_hist_percentile(hist, PGPS_COUNT_SUB_BITS, PGPS_COUNT_MAX_MSB,
								zeros, fraction, (uint64) Max(peak, 0));
}

/* The same for one key's 32-bit histogram */
double
pgps_count32_percentile(const uint32 *hist, uint64 zeros, double fraction,
						int32 peak)
{
	return pgps_hist_percentile32(hist, PGPS_COUNT_SUB_BITS, PGPS_COUNT_MAX_MSB,
								  zeros, fraction, (uint64) Max(peak, 0));
}

/* The k-th largest count of a key's own histogram; -1 with fewer values */
double
pgps_count32_kth_largest(const uint32 *hist, uint64 zeros, uint64 k,
						 int32 peak)
{
	return pgps_hist_kth_largest32(hist, PGPS_COUNT_SUB_BITS, PGPS_COUNT_MAX_MSB,
								   zeros, k, (uint64) Max(peak, 0));
}

/* The samples of a window that saw nothing: its zeros */
int64
pgps_zero_samples(int64 window_samples, int64 nonzero_samples)
{
	return Max(window_samples - nonzero_samples, 0);
}

/*
 * The share of transactions that did not open a connection, 0..1: each
 * connection opened is counted against one transaction, a reused
 * connection's others are not.  -1: no transaction.
 */
double
pgps_reuse_share(int64 transactions, int64 connections)
{
	if (transactions <= 0)
		return -1;
	return Max(0.0, 1.0 - (double) connections / (double) transactions);
}

/* What the wait model needs of one entry; under its spinlock */
void
pgps_load_copy(pgpsLoadCopy *dst, const pgpsChurn *churn,
			   const pgpsUsage *usage, const pgpsActivity *activity)
{
	dst->first_seen = churn->first_seen;
	dst->transactions = usage->transactions;
	dst->timed_transactions = usage->timed_transactions;
	dst->xact_time_us = usage->xact_time_us;
	dst->xact_time_sq = usage->xact_time_sq;
	dst->window_start_no = activity->window_start_no;
	dst->nonzero_samples = activity->nonzero_samples;
	dst->saturated_samples = activity->saturated_samples;
	dst->sum_busy = activity->sum_busy;
	memcpy(dst->hist_busy, activity->hist_busy, sizeof(dst->hist_busy));
}

/*
 * The wait model's inputs of one key over its window, from the first event
 * (or the reset) to the last sample: its transactions and their time, and
 * the busy count's mean and dispersion
 */
void
pgps_load_facts(const pgpsLoadCopy *c, int64 samples_taken,
				TimestampTz last_sample, pgpsLoadFacts *f)
{
	int64		samples = pgps_window_samples(c->window_start_no, samples_taken);
	double		mean;
	double		variance;

	memset(f, 0, sizeof(*f));
	f->transactions = c->transactions;
	f->timed_transactions = c->timed_transactions;
	f->xact_time_us = c->xact_time_us;
	f->xact_time_sq = c->xact_time_sq;
	f->span_s = Max((double) (last_sample - c->first_seen) / USECS_PER_SEC, 0);
	f->samples = samples;
	f->busy_avg = samples > 0 ? (double) c->sum_busy / samples : 0;
	pgps_hist_moments32(c->hist_busy, PGPS_COUNT_SUB_BITS, PGPS_COUNT_MAX_MSB,
						(uint64) pgps_zero_samples(samples, c->nonzero_samples),
						&mean, &variance);
	f->busy_dispersion = mean > 0 ? variance / mean : 0;
	f->saturated = pgps_instance_saturated(c->saturated_samples,
										   c->nonzero_samples);
	f->sample_interval_s = pgps_sample_interval_ms / 1000.0;
}
