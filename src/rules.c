/*-------------------------------------------------------------------------
 *
 * rules.c
 *		Every pool-sizing rule: a verdict, a pool size and a reason in one
 *		sentence, for one application and for the server, as pure functions
 *		of given figures.  No locks, no I/O, no allocation, so every rule can
 *		be tested on its boundaries (pgpool_stats_advise() and
 *		pgpool_stats_advise_server()).  The thresholds are named in rules.h.
 *
 * An application's demand is busy connections (running a query, or in a
 * transaction idle for less than leak_threshold) per client instance, from
 * the sampled distribution: the recommended pool serves its 99th
 * percentile with headroom, and its bursts
 * (the most busy connections seen in at least PGPS_BURST_SAMPLES samples),
 * however rare: a pool sized below a burst turns it into queueing.  With a
 * load for the wait model (waits.c), the pool is the smallest whose
 * predicted p99 wait is within the target, when that is no more than the
 * busy connections ask.  Its rules, first match wins:
 *
 *	 insufficient_data		fewer than PGPS_MIN_SAMPLES samples
 *	 leaking				in any one instance, at least
 *							PGPS_LEAK_MIN_SESSIONS connections left behind
 *							(idle, in a transaction or not, since
 *							leak_threshold before a newer connection was
 *							opened: a pool opens one only when none of its
 *							own is free) while its open connections grew by
 *							at least PGPS_LEAK_MIN_GROWTH since the oldest of
 *							them went idle.  Held connections are no
 *							demand: the pool is sized on the rest
 *	 no_pooling				at least PGPS_NO_POOLING_RATE connections/s over
 *							at least PGPS_NO_POOLING_MIN connections, and a
 *							median session shorter than short_session
 *	 idle_in_transaction	a session idle in a transaction for at least
 *							idle_in_transaction_threshold (a setting) in at
 *							least PGPS_IIT_SHARE of samples, or one seen idle
 *							in a transaction for more than PGPS_IIT_MAX_S;
 *							shorter pauses between a transaction's
 *							statements (an ORM, a driver's BEGIN and COMMIT
 *							round trips, a transaction pooler) are normal
 *	 undersized				in any one instance, every connection busy in
 *							more than PGPS_SATURATED_SHARE of the samples
 *							that saw it connected (at least
 *							PGPS_INSTANCE_SAMPLES of them); the pool is grown
 *							PGPS_UNDERSIZED_STEP times over, within the
 *							server's free slots.  The server cannot see a
 *							client's queue: the reason says what was seen
 *							and where to look
 *	 oversized				median open connections more than
 *							PGPS_OVERSIZED_FACTOR times the recommended pool
 *							and at least PGPS_OVERSIZED_MIN_IDLE more
 *	 ok
 *
 * An application seen only through a pooler (a pooler sets each client's
 * application_name on the server connection it lends) has no connection of
 * its own: after insufficient_data, only idle_in_transaction applies to it,
 * else ok, with the share of the pooler's server pool it needs.  A pooler's
 * own row is judged on its server connections by the rules above, and its
 * reason says it is a pooler's.
 *
 * A configured pool (pgpool_stats_pool_check), per instance, first match
 * wins: insufficient_data as above; undersized when every connection of
 * the pool and its overflow was busy in at least PGPS_POOL_FULL_SHARE of
 * the samples (clients wait then), with the capacity grown
 * PGPS_UNDERSIZED_STEP times over, within the server's usable connection
 * slots; oversized when the pool is more than
 * PGPS_OVERSIZED_FACTOR times the pool the demand needs and at least
 * PGPS_OVERSIZED_MIN_IDLE more; else ok.
 *
 * The server's, first match wins: over_committed when the applications'
 * recommended pools add up to more than the usable slots (max_connections
 * less the reserved ones), near_limit when client connections peaked at
 * PGPS_NEAR_LIMIT_SHARE of them, else ok; a server-side pooler is suggested
 * when at least PGPS_POOLER_MIN_OPEN connections are open and
 * PGPS_POOLER_IDLE_SHARE of them typically idle.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "rules.h"

/* The SQL names of the verdicts, in the order of pgpsVerdict */
static const char *const verdict_names[] = {
	[PGPS_INSUFFICIENT_DATA] = "insufficient_data",
	[PGPS_LEAKING] = "leaking",
	[PGPS_NO_POOLING] = "no_pooling",
	[PGPS_IDLE_IN_TRANSACTION] = "idle_in_transaction",
	[PGPS_UNDERSIZED] = "undersized",
	[PGPS_OVERSIZED] = "oversized",
	[PGPS_OK] = "ok",
	[PGPS_NEAR_LIMIT] = "near_limit",
	[PGPS_OVER_COMMITTED] = "over_committed",
};

StaticAssertDecl(lengthof(verdict_names) == PGPS_OVER_COMMITTED + 1,
				 "every verdict has a name");

const char *
pgps_verdict_name(pgpsVerdict verdict)
{
	return verdict_names[verdict];
}

/* "connection" or "connections" */
static const char *
connections_word(double n)
{
	return (n >= 0.5 && n < 1.5) ? "connection" : "connections";
}

/* " per instance" when the application has more than one */
static const char *
per_instance(const pgpsDemand *d)
{
	return d->instances > 1 ? " per instance" : "";
}

/*
 * Whether one instance's pool was full in most of the samples that saw it
 * connected, once enough did: a connection seen busy in its few samples (a
 * one-off session from another host) says nothing of a pool.
 */
bool
pgps_instance_saturated(int64 saturated_samples, int64 connected_samples)
{
	return connected_samples >= PGPS_INSTANCE_SAMPLES &&
		saturated_samples > PGPS_SATURATED_SHARE * connected_samples;
}

/*
 * Whether one instance leaks: connections left behind, and its open
 * connections grown by as many as a leak makes a pool open.  Idle
 * connections alone are an oversized pool; a pool replacing an old
 * connection (its maximum lifetime) does not grow.
 */
bool
pgps_instance_leaking(int left_behind, int open_before, int open_now)
{
	return left_behind >= PGPS_LEAK_MIN_SESSIONS && open_before >= 0 &&
		open_now - open_before >= PGPS_LEAK_MIN_GROWTH;
}

/* ceil() that forgives floating-point noise just above an integer */
static int
ceil_int(double value)
{
	return (int) ceil(value - 1e-9);
}

/* The pool an application needs: its p99 of busy connections and headroom */
static int
recommended_pool_size(double busy_p99, double headroom)
{
	return Max(1, ceil_int(busy_p99 * (1.0 + headroom)));
}

/* Connections worth keeping open when idle: its median busy */
static int
recommended_min_idle(double busy_p50)
{
	return Max(0, ceil_int(busy_p50));
}

/* The pool busy connections need: their p99 with headroom, and bursts */
static int
needed_pool_size(double busy_p99, double busy_burst, double headroom)
{
	return Max(recommended_pool_size(busy_p99, headroom), ceil_int(busy_burst));
}

/* The pool an application needs */
static int
demand_pool_size(const pgpsDemand *d)
{
	return needed_pool_size(d->busy_p99, d->busy_burst, d->headroom);
}

/*
 * The smallest pool the wait model says keeps the p99 wait for a connection
 * within the target, for the instance that needs the most; -1 without a
 * prediction, or for transactions too short for it
 */
static int
predicted_pool(const pgpsDemand *d)
{
	if (!d->predicted || d->predicted_pool <= 0 ||
		1000 * d->load.hold_s < PGPS_MODEL_MIN_HOLD_MS)
		return -1;
	return d->predicted_pool;
}

/* A share of transactions as a percentage for a sentence */
static void
share_words(double share, char *buf, size_t len)
{
	double		pct = 100.0 * share;

	if (pct > 0 && pct < 0.1)
		snprintf(buf, len, "under 0.1%%");
	else
		snprintf(buf, len, pct < 10 ? "%.1f%%" : "%.0f%%", pct);
}

/* A wait in ms for a sentence */
static void
ms_words(double ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0 ms");
	else
		snprintf(buf, len, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
}

/*
 * What a pool of a given size would make the load wait, in words: in full
 * ("a pool of 5 would make 0.4% of them wait, p99 3.0 ms"), or short, after
 * a first ("a pool of 4, 9.1% and 18 ms")
 */
static void
pool_wait_words(const pgpsDemand *d, int pool, bool full, char *buf,
				size_t len)
{
	pgpsWait	w;
	char		share[32];
	char		p99[32];

	pgps_predict_wait(&d->load, pool, &w);
	if (!isfinite(w.wait_avg_ms) || !isfinite(w.wait_p99_ms))
	{
		snprintf(buf, len, "a pool of %d could not keep up", pool);
		return;
	}
	share_words(w.wait_share, share, sizeof(share));
	ms_words(w.wait_p99_ms, p99, sizeof(p99));
	snprintf(buf, len,
			 full ? "a pool of %d would make %s of them wait, p99 %s" :
			 "a pool of %d, %s and %s", pool, share, p99);
}

/* The wait model's prediction, in words for a reason */
typedef struct PredictionWords
{
	char		waits[400];		/* "at 85.0 transactions/s of 12.0 ms each,
								 * a pool of 5 would make 0.4% of them wait,
								 * p99 3.0 ms; a pool of 4, 9.1% and 18 ms" */
	char		target[64];		/* "a p99 wait within 10 ms" */
} PredictionWords;

/* The load, what one pool would make it wait, what another would, the target */
static void
prediction_words(const pgpsDemand *d, int first, int second,
				 PredictionWords *words)
{
	char		one[160];
	char		two[160] = "";
	char		ms[32];

	pool_wait_words(d, first, true, one, sizeof(one));
	if (second >= 1 && second != first)
	{
		two[0] = ';';
		two[1] = ' ';
		pool_wait_words(d, second, false, two + 2, sizeof(two) - 2);
	}
	snprintf(words->waits, sizeof(words->waits),
			 "at %.1f transactions/s%s of %.1f ms each, %s%s",
			 d->load.rate, per_instance(d), 1000 * d->load.hold_s, one, two);
	ms_words(d->wait_target_ms, ms, sizeof(ms));
	snprintf(words->target, sizeof(words->target), "a p99 wait within %s", ms);
}

/* Whether its bursts, not its p99, size the pool */
static bool
bursts_drive(const pgpsDemand *d)
{
	return ceil_int(d->busy_burst) > recommended_pool_size(d->busy_p99, d->headroom);
}

/* Share as a whole percentage for a sentence */
static int
percent(double share)
{
	return (int) rint(share * 100.0);
}

/* The reason of no_pooling */
static void
reason_no_pooling(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	if (d->setup_share >= 0)
		snprintf(advice->reason, sizeof(advice->reason),
				 "opens %.1f connections/s, median session %.0f ms, %d%% of backend time is connection setup: use a connection pool (%d %s%s would do)",
				 d->connects_per_sec, d->session_p50_ms,
				 percent(d->setup_share), pool, connections_word(pool),
				 per_instance(d));
	else
		snprintf(advice->reason, sizeof(advice->reason),
				 "opens %.1f connections/s, median session %.0f ms: use a connection pool (%d %s%s would do)",
				 d->connects_per_sec, d->session_p50_ms, pool,
				 connections_word(pool), per_instance(d));
}

/* The reason of idle_in_transaction */
static void
reason_idle_in_transaction(const pgpsDemand *d, pgpsAdvice *advice)
{
	snprintf(advice->reason, sizeof(advice->reason),
			 "a session sat idle in a transaction for %g s or more in %d%% of samples, the longest for %.1f s: transactions are left open, holding locks and a connection; make the application commit or roll back, and bound it with idle_in_transaction_session_timeout",
			 d->idle_in_transaction_threshold_ms / 1000.0,
			 percent(d->idle_in_transaction_share),
			 d->idle_in_transaction_max_s);
}

/* The reason of leaking */
static void
reason_leaking(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	char		where[64] = "";
	char		iit[64] = "";

	if (d->instances > 1)
		snprintf(where, sizeof(where), " of one of its %d instances",
				 d->instances);
	if (d->leaked_in_transaction > 0)
		snprintf(iit, sizeof(iit), ", %d of them in a transaction",
				 d->leaked_in_transaction);
	snprintf(advice->reason, sizeof(advice->reason),
			 "%d of the %d open connections%s sat idle while newer ones were opened (idle for up to %.0f s%s), and open connections grew from %d to %d: connections are taken from the pool and not given back; find the code path that does not return or close them (error paths too), then a pool of %d serves the rest",
			 d->leaked_connections, d->leak_open_now, where,
			 d->leaked_idle_max_s, iit, d->leak_open_before, d->leak_open_now,
			 pool);
}

/*
 * The reason of ok for an application seen only through a pooler: what it
 * takes of the pooler's server connections.  Its own connections to the
 * pooler, and their pool, are the pooler's to see.
 */
static void
reason_ok_behind_pooler(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	if (d->busy_p99 < 0.5 && bursts_drive(d))
		snprintf(advice->reason, sizeof(advice->reason),
				 "behind a pooler: none of its server connections busy in 99%% of samples, but its bursts take %d: it needs %d of the pooler's server pool; its own connections to the pooler are the pooler's to see",
				 ceil_int(d->busy_burst), pool);
	else
		snprintf(advice->reason, sizeof(advice->reason),
				 "behind a pooler: at most %.0f of its server connections busy in 99%% of samples, %.0f in 95%%%s: it needs %d of the pooler's server pool; its own connections to the pooler are the pooler's to see",
				 d->busy_p99, d->busy_p95,
				 bursts_drive(d) ? ", more in its bursts" : "", pool);
}

/* A pooler's reason: what it says is of the server pool it shares */
static void
as_pooler(const pgpsDemand *d, pgpsAdvice *advice)
{
	char		reason[sizeof(advice->reason)];

	snprintf(reason, sizeof(reason),
			 "a pooler for %d %s (its server pool, PgBouncer's default_pool_size): %s",
			 d->pooled_apps, d->pooled_apps == 1 ? "application" : "applications",
			 advice->reason);
	strlcpy(advice->reason, reason, sizeof(advice->reason));
}

/* The reason of oversized */
static void
reason_oversized(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	int			idle_now = (int) rint(Max(d->open_p50 - d->busy_p50, 0));
	char		busy[64];

	if (d->busy_p99 < 0.5)
		snprintf(busy, sizeof(busy), "none is busy");
	else
		snprintf(busy, sizeof(busy), "at most %.0f %s busy", d->busy_p99,
				 d->busy_p99 < 1.5 ? "is" : "are");
	if (advice->predicted)
	{
		PredictionWords words;

		prediction_words(d, pool, pool - 1, &words);
		snprintf(advice->reason, sizeof(advice->reason),
				 "keeps %.0f connections open%s but %s in 99%% of samples, so about %d sit idle; %s: a pool of %d would do, for %s",
				 d->open_p50, per_instance(d), busy, idle_now, words.waits,
				 pool, words.target);
	}
	else if (bursts_drive(d))
		snprintf(advice->reason, sizeof(advice->reason),
				 "keeps %.0f connections open%s but %s in 99%% of samples and its bursts reach %d, so about %d sit idle: a pool of %d would do, bursts included",
				 d->open_p50, per_instance(d), busy, ceil_int(d->busy_burst),
				 idle_now, pool);
	else
		snprintf(advice->reason, sizeof(advice->reason),
				 "keeps %.0f connections open%s but %s in 99%% of samples, so about %d sit idle: a pool of %d would do",
				 d->open_p50, per_instance(d), busy, idle_now, pool);
}

/* The reason of ok */
static void
reason_ok(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	char		busy[128];
	int			open = (int) rint(d->open_p50);

	if (d->busy_p99 < 0.5 && open == 0)
		snprintf(busy, sizeof(busy), "no connection busy");
	else if (d->busy_p99 < 0.5)
		snprintf(busy, sizeof(busy), "none of its %d %s%s busy", open,
				 connections_word(open), per_instance(d));
	else if (d->open_p50 >= d->busy_p99)
		snprintf(busy, sizeof(busy), "at most %.0f of %.0f %s%s busy",
				 d->busy_p99, d->open_p50, connections_word(d->open_p50),
				 per_instance(d));
	else
		/* connected less than half the time: no typical number open */
		snprintf(busy, sizeof(busy), "at most %.0f %s%s busy", d->busy_p99,
				 connections_word(d->busy_p99), per_instance(d));
	if (advice->predicted)
	{
		PredictionWords words;

		prediction_words(d, pool, pool - 1, &words);
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s in 99%% of samples; %s: a pool of %d fits, for %s", busy,
				 words.waits, pool, words.target);
	}
	else if (bursts_drive(d))
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s in 99%% of samples, but its bursts reach %d: a pool of %d fits them",
				 busy, ceil_int(d->busy_burst), pool);
	else if (d->busy_p99 < 0.5)
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s in 99%% of samples: a pool of %d fits", busy, pool);
	else
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s in 99%% of samples, %.0f in 95%%: a pool of %d fits",
				 busy, d->busy_p95, pool);
}

/*
 * The pool and reason of undersized.  Busy is capped by the pool, so its
 * percentiles say nothing of the demand beyond it: the pool of the full
 * instance is grown PGPS_UNDERSIZED_STEP times over (a few rounds find the
 * size, where one connection more at a time would take a dozen), within
 * the server's free slots.  The server cannot see a client's queue: a pool
 * as large as its workers, each busy most of the time, is full without
 * anyone waiting, so the reason says what was seen and where to look.
 */
static void
reason_undersized(const pgpsDemand *d, int pool, pgpsAdvice *advice)
{
	int			open = Max((int) floor(d->saturated_open_p50), 1);
	int			full = Max(d->saturated_instances, 1);
	int			step = Max(ceil_int(open * PGPS_UNDERSIZED_STEP), pool);
	char		where[96];
	char		room[128] = "";

	/* every full instance grows, within the server's free slots */
	if (d->spare_connections >= 0 &&
		(double) (step - open) * full > d->spare_connections)
	{
		step = open + (int) floor(d->spare_connections / full);
		snprintf(room, sizeof(room),
				 " (all the server has room for: %.0f %s free)",
				 d->spare_connections, connections_word(d->spare_connections));
	}
	advice->pool_size = step;
	if (d->instances > 1)
		snprintf(where, sizeof(where), "in %d of its %d instances, %s %d %s %s",
				 full, d->instances, open == 1 ? "the" : "all", open,
				 connections_word(open), open == 1 ? "was" : "were");
	else
		snprintf(where, sizeof(where), "%s %d %s %s", open == 1 ? "its" : "all of its",
				 open, connections_word(open), open == 1 ? "was" : "were");
	if (step <= open)
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s busy in %d%% of samples: the pool is full most of the time, and the server has no free connection slot for a bigger one; if its clients wait for a connection (the pool's own wait figures tell), make room first (smaller pools elsewhere, a server-side pooler)",
				 where, percent(d->saturated_share));
	else
		snprintf(advice->reason, sizeof(advice->reason),
				 "%s busy in %d%% of samples: the pool is full most of the time; if its clients wait for a connection (the pool's own wait figures tell), try a pool of %d%s%s and look again",
				 where, percent(d->saturated_share), step,
				 d->instances > 1 ? (full > 1 ? " in each full instance" : " in the full instance") : "",
				 room);
}

/*
 * The verdict on one application, with its reason.  Pure: reads only *d,
 * writes only *advice.
 */
void
pgps_advise(const pgpsDemand *d, pgpsAdvice *advice)
{
	int			model = predicted_pool(d);
	int			pool = demand_pool_size(d);

	/*
	 * The wait model only lowers the pool: it takes arrivals as
	 * independent of the pool, but a client with a fixed number of workers
	 * never has more transactions at once than workers, and a burst of n
	 * never needs more than n connections, which an arrival process fitted
	 * to its bursts cannot know.  The busy connections seen bound what the
	 * model asks for; it says how much less would do.
	 */
	advice->predicted = model > 0 && model <= pool;
	if (advice->predicted)
		pool = model;
	advice->pool_size = pool;
	advice->demand_pool = pool;
	/* never more kept idle than the pool holds */
	advice->min_idle = Min(recommended_min_idle(d->busy_p50), pool);

	if (d->samples < PGPS_MIN_SAMPLES)
	{
		advice->verdict = PGPS_INSUFFICIENT_DATA;
		snprintf(advice->reason, sizeof(advice->reason),
				 "only " INT64_FORMAT " samples so far; verdicts need %d (a minute at the default sample_interval)",
				 d->samples, PGPS_MIN_SAMPLES);
	}
	else if (d->behind_pooler)
	{
		/*
		 * Seen only on a pooler's server connections, when busy: no churn,
		 * no idle connection and no pool of its own to judge.
		 */
		advice->min_idle = 0;
		if (d->idle_in_transaction_share >= PGPS_IIT_SHARE ||
			d->idle_in_transaction_max_s > PGPS_IIT_MAX_S)
		{
			advice->verdict = PGPS_IDLE_IN_TRANSACTION;
			reason_idle_in_transaction(d, advice);
		}
		else
		{
			advice->verdict = PGPS_OK;
			reason_ok_behind_pooler(d, pool, advice);
		}
	}
	else if (pgps_instance_leaking(d->leaked_connections, d->leak_open_before,
								   d->leak_open_now))
	{
		advice->verdict = PGPS_LEAKING;
		reason_leaking(d, pool, advice);
	}
	else if (d->connects_per_sec >= PGPS_NO_POOLING_RATE &&
			 d->connections >= PGPS_NO_POOLING_MIN &&
			 d->session_p50_ms >= 0 && d->session_p50_ms < d->short_session_ms)
	{
		advice->verdict = PGPS_NO_POOLING;
		reason_no_pooling(d, pool, advice);
	}
	else if (d->idle_in_transaction_share >= PGPS_IIT_SHARE ||
			 d->idle_in_transaction_max_s > PGPS_IIT_MAX_S)
	{
		advice->verdict = PGPS_IDLE_IN_TRANSACTION;
		reason_idle_in_transaction(d, advice);
	}
	else if (d->saturated_share > PGPS_SATURATED_SHARE && d->saturated_open_p50 >= 1)
	{
		advice->verdict = PGPS_UNDERSIZED;
		reason_undersized(d, pool, advice);
	}
	else if (d->open_p50 > PGPS_OVERSIZED_FACTOR * pool &&
			 d->open_p50 >= pool + PGPS_OVERSIZED_MIN_IDLE)
	{
		advice->verdict = PGPS_OVERSIZED;
		reason_oversized(d, pool, advice);
	}
	else
	{
		advice->verdict = PGPS_OK;
		reason_ok(d, pool, advice);
	}
	if (d->pooled_apps > 0 && advice->verdict != PGPS_INSUFFICIENT_DATA)
		as_pooler(d, advice);
}

/*
 * Add one application to the server's figures: its open connections, and,
 * once it has a verdict, its recommended pools and the connections it
 * typically keeps idle (open beyond its 95th percentile of busy ones).  An
 * application with no connection open now that made at most one in its
 * window (a one-off script that has gone, however long its query ran) or was
 * never busy in it (a key of failed logins) holds no pool: it adds nothing
 * to the recommended total.
 */
void
pgps_server_add_app(pgpsServerDemand *s, const pgpsDemand *d,
					const pgpsAdvice *advice, int clients,
					int64 open_connections)
{
	s->client_connections += open_connections;
	/* its server connections are the pooler's, counted once, with it */
	if (advice->verdict == PGPS_INSUFFICIENT_DATA || d->behind_pooler)
		return;
	if (open_connections == 0 &&
		(d->connections <= 1 || (d->busy_p99 <= 0 && d->busy_burst <= 0)))
		return;
	if (advice->verdict == PGPS_UNDERSIZED && d->saturated_instances < clients)
		s->recommended_total += (int64) advice->pool_size * Max(d->saturated_instances, 1) +
			(int64) advice->demand_pool * (clients - Max(d->saturated_instances, 1));
	else
		s->recommended_total += (int64) advice->pool_size * clients;
	s->open_connections += open_connections;
	s->idle_connections += Max(d->open_p50 - d->busy_p95, 0) * clients;
}

/* The connection slots client sessions may use */
int64
pgps_usable_connections(int max_connections, int reserved_connections)
{
	return Max(max_connections - reserved_connections, 1);
}

/*
 * The verdict on the server, with its reason.  Pure: reads only *s, writes
 * only *advice.
 */
void
pgps_advise_server(const pgpsServerDemand *s, pgpsServerAdvice *advice)
{
	int			reserved = s->reserved_connections;
	int64		usable = pgps_usable_connections(s->max_connections, reserved);
	int64		peak = Max(s->client_connections_max, s->client_connections);
	char		pooler[200] = "";

	advice->usable = usable;
	advice->peak = peak;
	advice->spare_connections = usable - s->client_connections;

	/* many connections held mostly idle: sharing them is the cure */
	if (s->open_connections >= PGPS_POOLER_MIN_OPEN &&
		s->idle_connections >= PGPS_POOLER_IDLE_SHARE * s->open_connections)
		snprintf(pooler, sizeof(pooler),
				 "; about %.0f of %lld connections sit idle: a server-side pooler (PgBouncer in transaction mode) would let them share far fewer server connections",
				 s->idle_connections, (long long) s->open_connections);

	if (s->recommended_total > usable)
	{
		advice->verdict = PGPS_OVER_COMMITTED;
		snprintf(advice->reason, sizeof(advice->reason),
				 "the applications' recommended pools add up to %lld connections, more than the %lld available (max_connections %d less %d reserved)%s",
				 (long long) s->recommended_total, (long long) usable,
				 s->max_connections, reserved,
				 pooler[0] ? pooler : ": shrink the pools or put a server-side pooler in front");
	}
	else if (peak >= PGPS_NEAR_LIMIT_SHARE * usable)
	{
		advice->verdict = PGPS_NEAR_LIMIT;
		snprintf(advice->reason, sizeof(advice->reason),
				 "client connections peaked at %lld, %d%% of the %lld available (max_connections %d less %d reserved): new connections will soon be refused%s",
				 (long long) peak, (int) rint(100.0 * peak / usable),
				 (long long) usable, s->max_connections, reserved, pooler);
	}
	else
	{
		advice->verdict = PGPS_OK;
		snprintf(advice->reason, sizeof(advice->reason),
				 "client connections peaked at %lld of the %lld available; the recommended pools add up to %lld%s",
				 (long long) peak, (long long) usable,
				 (long long) s->recommended_total, pooler);
	}
}

/*
 * The verdict on a configured pool, in the recommendations' words: is a
 * pool of pool_size plus max_overflow right for the busy connections one
 * instance was seen with?
 */
void
pgps_check_pool(const pgpsPoolUse *u, pgpsAdvice *advice)
{
	int			capacity = u->pool_size + u->max_overflow;
	int			need = needed_pool_size(u->busy_p99, u->busy_burst, u->headroom);
	char		overflow[160];

	memset(advice, 0, sizeof(*advice));
	advice->pool_size = need;
	if (u->max_overflow == 0)
		snprintf(overflow, sizeof(overflow), "no overflow");
	else if (u->overflow_share <= 0)
		snprintf(overflow, sizeof(overflow), "its overflow of %d never used",
				 u->max_overflow);
	else
		snprintf(overflow, sizeof(overflow),
				 "its overflow of %d in use in %.1f%% of samples",
				 u->max_overflow, u->overflow_share * 100.0);

	if (u->samples < PGPS_MIN_SAMPLES)
	{
		advice->verdict = PGPS_INSUFFICIENT_DATA;
		advice->pool_size = 0;
		snprintf(advice->reason, sizeof(advice->reason),
				 "%lld samples so far; a verdict needs %d",
				 (long long) u->samples, PGPS_MIN_SAMPLES);
		return;
	}
	if (u->full_share >= PGPS_POOL_FULL_SHARE)
	{
		advice->verdict = PGPS_UNDERSIZED;
		advice->pool_size = Min(Max(ceil_int(capacity * PGPS_UNDERSIZED_STEP), need),
								Max(u->max_pool, 1));
		snprintf(advice->reason, sizeof(advice->reason),
				 "all %d of its connections (pool %d, %s) were busy in %.1f%% of samples: a client that wants one then waits (the pool's own wait figures tell how long); try a pool of %d",
				 capacity, u->pool_size, overflow, u->full_share * 100.0,
				 advice->pool_size);
		return;
	}
	if (u->pool_size > need * PGPS_OVERSIZED_FACTOR &&
		u->pool_size - need >= PGPS_OVERSIZED_MIN_IDLE)
	{
		advice->verdict = PGPS_OVERSIZED;
		snprintf(advice->reason, sizeof(advice->reason),
				 "at most %.0f of its pool of %d busy in 99%% of samples, %.0f at the most (%s): a pool of %d would do",
				 u->busy_p99, u->pool_size, u->busy_max, overflow, need);
		return;
	}
	advice->verdict = PGPS_OK;
	snprintf(advice->reason, sizeof(advice->reason),
			 "at most %.0f of its pool of %d busy in 99%% of samples, %.0f at the most; above %d%% of it in %.1f%% of samples (%s): the pool fits",
			 u->busy_p99, u->pool_size, u->busy_max,
			 percent(PGPS_POOL_ALERT), u->alert_share * 100.0, overflow);
}
