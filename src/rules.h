/*-------------------------------------------------------------------------
 *
 * rules.h
 *		Inputs, outputs and thresholds of every pool-sizing rule (rules.c):
 *		the verdict on each application and on the server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPS_RULES_H
#define PGPS_RULES_H

/* Thresholds of the rules; the README's "Sizing a pool" says why each */
#define PGPS_MIN_SAMPLES		600 /* a minute at the default interval */
#define PGPS_NO_POOLING_RATE	1.0 /* connections/s ... */
#define PGPS_NO_POOLING_MIN		10	/* ... over at least this many: the rate
									 * of a couple of connections is noise */
#define PGPS_LEAK_MIN_SESSIONS	3	/* an instance leaks once this many
									 * connections are left behind ... */
#define PGPS_LEAK_MIN_GROWTH	3	/* ... and its open connections grew by
									 * at least this many since the oldest of
									 * them went idle */
#define PGPS_IIT_SHARE			0.05	/* of samples with a session idle
										 * in a transaction for at least
										 * idle_in_transaction_threshold */
#define PGPS_IIT_MAX_S			10.0	/* one idle in a transaction longer */
#define PGPS_SATURATED_SHARE	0.5 /* "most samples", in any one instance */
#define PGPS_INSTANCE_SAMPLES	60	/* an instance is judged once this many
									 * samples saw it connected */
#define PGPS_BURST_SAMPLES		3	/* a burst: the most busy connections
									 * seen in at least this many samples */
#define PGPS_UNDERSIZED_STEP	2.0 /* a full pool is grown this many times
									 * over: a few rounds find the size */
#define PGPS_OVERSIZED_FACTOR	2.0 /* open more than twice the pool ... */
#define PGPS_OVERSIZED_MIN_IDLE 5	/* ... and at least this many more */
#define PGPS_NEAR_LIMIT_SHARE	0.9 /* of the usable connection slots */
#define PGPS_POOLER_MIN_OPEN	10	/* a server-side pooler is suggested for
									 * at least this many open connections */
#define PGPS_POOLER_IDLE_SHARE	0.5 /* ... of which at least this share idle */

#define PGPS_POOL_ALERT			0.85	/* of a configured pool busy: the
										 * usual alert's level */
#define PGPS_POOL_FULL_SHARE	0.01	/* a configured pool (and its
										 * overflow) wholly busy in this share
										 * of samples is too small */

/* Every verdict; pgps_verdict_name() gives its SQL name */
typedef enum pgpsVerdict
{
	/* of an application */
	PGPS_INSUFFICIENT_DATA,
	PGPS_LEAKING,
	PGPS_NO_POOLING,
	PGPS_IDLE_IN_TRANSACTION,
	PGPS_UNDERSIZED,
	PGPS_OVERSIZED,
	PGPS_OK,
	/* of the server (PGPS_OK too) */
	PGPS_NEAR_LIMIT,
	PGPS_OVER_COMMITTED
} pgpsVerdict;

/*
 * An instance's load on its pool, for the wait model (waits.c): the rate of
 * transactions, the mean time each holds its connection, and the shape of
 * the gaps between arrivals (gamma: 1 Poisson, more smoother, less
 * burstier, infinity regular)
 */
typedef struct pgpsLoad
{
	double		rate;			/* transactions a second */
	double		hold_s;
	double		hold_scv;		/* the holds' squared coefficient of
								 * variation: 1 exponential, 0 all alike */
	double		shape;
} pgpsLoad;

/* One application's statistics, per client instance where it matters */
typedef struct pgpsDemand
{
	int64		samples;		/* samples in the window */
	int64		connections;	/* established in the window */
	double		connects_per_sec;
	double		session_p50_ms; /* -1: no session ended */
	double		setup_share;	/* share of backend time spent on setup,
								 * 0..1; -1: unknown */
	double		busy_p50;		/* busy connections per instance */
	double		busy_p95;
	double		busy_p99;
	double		busy_burst;		/* the most busy connections seen in at
								 * least PGPS_BURST_SAMPLES samples */
	double		open_p50;		/* median open connections per instance */
	double		saturated_share;	/* in its most saturated instance: of the
									 * samples that saw it connected, those
									 * where every connection was busy */
	double		saturated_open_p50; /* median open connections of that
									 * instance */
	int			instances;		/* client instances (addresses) */
	int			pooled_apps;	/* > 0: a pooler, serving this many
								 * applications (its pool: the server
								 * connections it shares among them) */
	bool		behind_pooler;	/* seen only through a pooler's server
								 * connections: no connection of its own */
	int			saturated_instances;	/* instances saturated in most samples */
	double		spare_connections;	/* the server's free slots now; -1:
									 * unbounded */
	int			leaked_connections; /* in its leaking instance: left behind
									 * (pgps_left_behind) ... */
	int			leaked_in_transaction;	/* ... of which idle in a transaction */
	double		leaked_idle_max_s;	/* the longest any of them has been idle */
	int			leak_open_before;	/* open connections of that instance
									 * before the oldest went idle ... */
	int			leak_open_now;	/* ... and now */
	double		idle_in_transaction_share;	/* samples with a session idle
											 * in a transaction for at least
											 * the threshold */
	double		idle_in_transaction_max_s;
	double		headroom;		/* margin over demand, 0.2 = 20% */
	double		short_session_ms;
	double		idle_in_transaction_threshold_ms;	/* for the reason */
	/* the wait model's, once an instance has PGPS_MIN_TIMED transactions */
	bool		predicted;		/* false: judged on percentiles alone */
	pgpsLoad	load;			/* of the instance that needs the largest
								 * pool ... */
	int			predicted_pool; /* ... this one (pgps_smallest_pool) */
	double		wait_target_ms; /* the longest p99 wait for a connection */
	int			max_pool;		/* the server's usable connection slots */
} pgpsDemand;

typedef struct pgpsAdvice
{
	pgpsVerdict verdict;
	int			pool_size;		/* per client instance */
	int			min_idle;
	bool		predicted;		/* the pool is the wait model's */
	int			demand_pool;	/* the pool its demand needs, before an
								 * undersized pool is grown */
	char		reason[600];
} pgpsAdvice;

/* The server's connection slots and what the applications make of them */
typedef struct pgpsServerDemand
{
	int			max_connections;
	int			reserved_connections;	/* kept from ordinary roles */
	int64		client_connections; /* open now */
	int64		client_connections_max; /* the most seen at once */
	int64		recommended_total;	/* pools x clients, of applications
									 * with a verdict */
	int64		open_connections;	/* open, of those applications */
	double		idle_connections;	/* of those, typically idle */
} pgpsServerDemand;

typedef struct pgpsServerAdvice
{
	pgpsVerdict verdict;
	int64		usable;			/* max_connections less the reserved */
	int64		peak;			/* client connections at their most */
	int64		spare_connections;	/* usable less open now */
	char		reason[600];
} pgpsServerAdvice;

/*
 * One instance's use of a pool configured to pool_size plus max_overflow
 * (pgpool_stats_pool_check): busy connections over the window's samples
 */
typedef struct pgpsPoolUse
{
	int			pool_size;
	int			max_overflow;
	int64		samples;		/* samples in the window */
	double		busy_p50;
	double		busy_p95;
	double		busy_p99;
	double		busy_max;
	double		busy_burst;		/* as pgpsDemand's */
	double		alert_share;	/* samples with more than PGPS_POOL_ALERT of
								 * pool_size busy */
	double		overflow_share; /* samples with more than pool_size open */
	double		full_share;		/* samples with pool_size + max_overflow
								 * busy: no connection left to lend */
	double		headroom;
	int			max_pool;		/* the most a pool may be advised: the
								 * server's usable connection slots */
} pgpsPoolUse;


/*
 * What the server measured of one instance over a span, to fit its load to
 * (pgps_fit_load): its transactions, their counted time, and the sampled
 * busy count
 */
typedef struct pgpsLoadFacts
{
	int64		transactions;
	int64		timed_transactions; /* those whose time is counted */
	int64		xact_time_us;	/* their time */
	double		xact_time_sq;	/* its sum of squares, in ms^2 */
	double		span_s;			/* from the first event to the last sample */
	int64		samples;		/* taken in the span */
	double		busy_avg;		/* busy connections per sample */
	double		busy_dispersion;	/* the busy count's variance / mean */
	bool		saturated;		/* every connection busy in most samples */
	double		sample_interval_s;
} pgpsLoadFacts;

/*
 * The shortest mean transaction the recommendations take the wait model's
 * pool for: a pool holds a connection for the transaction and the round
 * trips around it (loopback 0.05 ms, a network 0.2 ms to 1 ms), which the
 * server does not see; shorter transactions' pools would come out far too
 * small
 */
#define PGPS_MODEL_MIN_HOLD_MS	5.0

/* timed transactions before their times' spread is taken as measured */
#define PGPS_MIN_TIMED			30

/* the burstiest arrivals the model takes: gaps of gamma shape 0.05 */
#define PGPS_SHAPE_MIN			0.05

/* What a pool of a given size would make that load wait */
typedef struct pgpsWait
{
	double		utilization;	/* busy share of the pool, 0..1 */
	double		wait_share;		/* transactions that wait, 0..1 */
	double		wait_avg_ms;	/* over every transaction; infinity: the
								 * pool cannot keep up */
	double		wait_p95_ms;
	double		wait_p99_ms;
} pgpsWait;

extern const char *pgps_verdict_name(pgpsVerdict verdict);
extern void pgps_check_pool(const pgpsPoolUse *u, pgpsAdvice *advice);
extern bool pgps_instance_saturated(int64 saturated_samples,
									int64 connected_samples);
extern bool pgps_instance_leaking(int left_behind, int open_before,
								  int open_now);
extern int64 pgps_usable_connections(int max_connections,
									 int reserved_connections);
extern void pgps_advise(const pgpsDemand *d, pgpsAdvice *advice);
extern void pgps_server_add_app(pgpsServerDemand *s, const pgpsDemand *d,
								const pgpsAdvice *advice, int clients,
								int64 open_connections);
extern void pgps_advise_server(const pgpsServerDemand *s,
							   pgpsServerAdvice *advice);

extern double pgps_arrival_shape(double offered, double dispersion);
extern void pgps_predict_wait(const pgpsLoad *load, int pool_size,
							  pgpsWait *w);
extern int	pgps_smallest_pool(const pgpsLoad *load, double target_ms,
							   int max_pool);
extern int	pgps_pool_keeping_up(const pgpsLoad *load, int max_pool);
extern bool pgps_fit_load(const pgpsLoadFacts *f, double rate_factor,
						  pgpsLoad *load);

#endif							/* PGPS_RULES_H */
