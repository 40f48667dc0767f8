/*-------------------------------------------------------------------------
 *
 * recommend.h
 *		Inputs and outputs of the pool-sizing rules (recommend.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPS_RECOMMEND_H
#define PGPS_RECOMMEND_H

/* Thresholds of the rules; see recommend.c and the README */
/* the most backends a server can have (MAX_BACKENDS, 2^18 - 1) */
#define PGPS_MAX_CONNECTIONS	262143
#define PGPS_MIN_SAMPLES		600 /* a minute at the default interval */
#define PGPS_IIT_SHARE			0.05	/* the p95 of idle-in-transaction
										 * sessions is at least 1 */
#define PGPS_IIT_LONGEST_S		10.0
#define PGPS_SATURATED_SHARE	0.5 /* "most samples" */

/* One application's statistics, per client instance where it matters */
typedef struct pgpsDemand
{
	int64		samples;		/* samples in the window */
	double		connects_per_sec;
	double		session_p50_ms; /* -1: no session ended */
	double		setup_share;	/* share of backend time spent on setup,
								 * 0..1; -1: unknown */
	double		busy_p50;		/* busy connections per instance */
	double		busy_p95;
	double		busy_p99;
	double		typical_open;	/* median open connections per instance */
	double		saturated_share;	/* of the samples that saw the application
									 * connected, those where every connection
									 * was busy */
	double		iit_share;		/* samples with a session idle in a
								 * transaction */
	double		longest_iit_s;
	double		headroom;		/* margin over demand, 0.2 = 20% */
	double		short_session_ms;
} pgpsDemand;

typedef struct pgpsAdvice
{
	const char *verdict;
	int			pool_size;		/* per client instance */
	int			min_idle;
	char		reason[400];
} pgpsAdvice;

extern int	pgps_recommended_pool_size(double p99_busy, double headroom);
extern int	pgps_recommended_min_idle(double p50_busy);
extern void pgps_advise(const pgpsDemand *d, pgpsAdvice *advice);

#endif							/* PGPS_RECOMMEND_H */
