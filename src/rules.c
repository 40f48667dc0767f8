/*-------------------------------------------------------------------------
 *
 * recommend.c
 *		Pool-sizing rules: a verdict, a pool size and a reason in one
 *		sentence, as pure functions of one application's statistics.  No
 *		locks, no I/O, no allocation, so every rule can be tested on its
 *		boundaries (pgpool_stats_advise()).
 *
 * Demand is busy connections (active or idle in a transaction) per client
 * instance, from the sampled distribution.  The rules, first match wins:
 *
 *	 insufficient_data		fewer than PGPS_MIN_SAMPLES samples
 *	 no_pooling				at least 1 connection/s and a median session
 *							shorter than short_session_ms
 *	 idle_in_transaction	a session idle in a transaction in at least 5% of
 *							samples (the p95 is at least 1), or one seen idle
 *							in a transaction for more than 10 s
 *	 undersized				every connection busy in more than half of the
 *							samples that saw the application connected
 *	 oversized				typical open connections more than twice the
 *							recommended pool and at least 5 more
 *	 ok
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "recommend.h"

/* ceil() that forgives floating-point noise just above an integer */
static int
ceil_int(double value)
{
	return (int) ceil(value - 1e-9);
}

int
pgps_recommended_pool_size(double p99_busy, double headroom)
{
	return Max(1, ceil_int(p99_busy * (1.0 + headroom)));
}

int
pgps_recommended_min_idle(double p50_busy)
{
	return Max(0, ceil_int(p50_busy));
}

/* Share as a whole percentage for a sentence */
static int
percent(double share)
{
	return (int) rint(share * 100.0);
}

/*
 * The verdict on one application, with its reason.  Pure: reads only *d,
 * writes only *advice.
 */
void
pgps_advise(const pgpsDemand *d, pgpsAdvice *advice)
{
	int			pool = pgps_recommended_pool_size(d->busy_p99, d->headroom);
	int			idle_now = (int) rint(Max(d->typical_open - d->busy_p50, 0));

	advice->pool_size = pool;
	advice->min_idle = pgps_recommended_min_idle(d->busy_p50);

	if (d->samples < PGPS_MIN_SAMPLES)
	{
		advice->verdict = "insufficient_data";
		snprintf(advice->reason, sizeof(advice->reason),
				 "only " INT64_FORMAT " samples so far; verdicts need %d (a minute at the default sample_interval)",
				 d->samples, PGPS_MIN_SAMPLES);
		return;
	}

	if (d->connects_per_sec >= 1.0 && d->session_p50_ms >= 0 &&
		d->session_p50_ms < d->short_session_ms)
	{
		advice->verdict = "no_pooling";
		if (d->setup_share >= 0)
			snprintf(advice->reason, sizeof(advice->reason),
					 "opens %.1f connections/s, median session %.0f ms, %d%% of backend time is connection setup: use a connection pool (%d connections would do)",
					 d->connects_per_sec, d->session_p50_ms,
					 percent(d->setup_share), pool);
		else
			snprintf(advice->reason, sizeof(advice->reason),
					 "opens %.1f connections/s, median session %.0f ms: use a connection pool (%d connections would do)",
					 d->connects_per_sec, d->session_p50_ms, pool);
		return;
	}

	if (d->iit_share >= PGPS_IIT_SHARE || d->longest_iit_s > PGPS_IIT_LONGEST_S)
	{
		advice->verdict = "idle_in_transaction";
		snprintf(advice->reason, sizeof(advice->reason),
				 "a session sat idle in a transaction in %d%% of samples, the longest for %.1f s: transactions are left open, holding locks and a connection; make the application commit or roll back, and bound it with idle_in_transaction_session_timeout",
				 percent(d->iit_share), d->longest_iit_s);
		return;
	}

	if (d->busy_p99 >= 1 && d->saturated_share > PGPS_SATURATED_SHARE)
	{
		/* busy is capped by the pool: grow it past what it is now */
		advice->pool_size = pool = Max(pool, ceil_int(d->typical_open) + 1);
		advice->verdict = "undersized";
		snprintf(advice->reason, sizeof(advice->reason),
				 "all of its %.0f connections were busy in %d%% of samples: clients most likely wait for a connection; try a pool of %d and look again",
				 d->typical_open, percent(d->saturated_share), pool);
		return;
	}

	if (d->typical_open > 2.0 * pool && d->typical_open >= pool + 5)
	{
		char		busy[64];

		advice->verdict = "oversized";
		if (d->busy_p99 < 0.5)
			snprintf(busy, sizeof(busy), "none is busy");
		else
			snprintf(busy, sizeof(busy), "at most %.0f %s busy", d->busy_p99,
					 d->busy_p99 < 1.5 ? "is" : "are");
		snprintf(advice->reason, sizeof(advice->reason),
				 "keeps %.0f connections open but %s in 99%% of samples, so about %d sit idle: a pool of %d would do",
				 d->typical_open, busy, idle_now, pool);
		return;
	}

	advice->verdict = "ok";
	snprintf(advice->reason, sizeof(advice->reason),
			 "at most %.0f of %.0f connections busy in 99%% of samples, %.0f in 95%%: a pool of %d fits",
			 d->busy_p99, d->typical_open, d->busy_p95, pool);
}
