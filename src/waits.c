/*-------------------------------------------------------------------------
 *
 * waits.c
 *		What a pool of N connections would make an instance's transactions
 *		wait: a queueing model fitted to what the server measured, as pure
 *		functions (no locks, no I/O, no allocation, no settings; a long
 *		search of pool sizes may be cancelled).
 *
 * An instance's pool is a queue with N servers.  The server measures, per
 * key, the rate of transactions (exact counts over the window), the mean
 * time a transaction holds its connection and how spread those times are
 * (each transaction timed with its end), and the mean and variance of the
 * sampled busy count, which tell how regular the arrivals are.
 *
 * The model (the README's "What a pool of N would do" has the evidence):
 *
 *	 holds		of the measured mean, exponential for the queue (GI/M/c),
 *				then the waits scaled by (Ca^2 + Cs^2) / (Ca^2 + 1) for
 *				their measured squared coefficient of variation Cs^2
 *				(1 when exponential), as for GI/G/c queues the two
 *				variabilities add (Whitt; Lee and Longton for M/G/c)
 *	 arrivals	renewal, gamma-distributed gaps of the measured rate; the
 *				shape k is fitted to the busy count's dispersion
 *				D = Var(N) / E(N) seen with a pool that rarely ran out:
 *				with no one waiting the pool is a GI/M/infinity queue,
 *				where Var(N) = a phi / (1 - phi) + a - a^2 (a the mean
 *				busy count, phi the Laplace transform of the gaps at the
 *				hold rate, (1 + 1/(k a))^-k for gamma gaps).  k = 1 is
 *				Poisson (D = 1), a larger k smoother, infinity regular.
 *	 waits		the exact GI/M/c queue of those arrivals and holds
 *				(Takacs, below): the share of arrivals that find every
 *				connection busy, and, for those, an exponential wait:
 *				P(W > t) = share exp(-t c mu (1 - sigma)).  For k = 1 it
 *				is Erlang C's M/M/c.
 *
 * A pool of c cannot keep up once a >= c: every transaction waits, and the
 * waits grow without bound (infinity).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "pgpool_stats.h"
#include "rules.h"

/* the gamma shape's search range's top; beyond it, regular arrivals */
#define SHAPE_MAX		1000.0

/*
 * phi(s) = E[exp(-s T)] of a gap T of mean 1/rate, gamma of shape k (an
 * infinite k: a fixed gap)
 */
static double
gap_transform(double s, double rate, double shape)
{
	if (isinf(shape))
		return exp(-s / rate);
	return exp(-shape * log1p(s / (shape * rate)));
}

/*
 * The gamma shape of the gaps between arrivals, fitted to the mean busy
 * count (offered load a) and its dispersion D = Var / mean as a pool that
 * never ran out saw them.  D at or below what regular arrivals give:
 * infinity.  Above a Poisson stream's: burstier (k < 1), down to
 * PGPS_SHAPE_MIN.
 */
double
pgps_arrival_shape(double offered, double dispersion)
{
	double		x = dispersion + offered - 1;
	double		phi;
	double		lo = PGPS_SHAPE_MIN;
	double		hi = SHAPE_MAX;

	if (offered <= 0 || x <= 0)
		return INFINITY;
	phi = x / (1 + x);
	/* phi falls with k, from 1 (k -> 0) to exp(-1/a) (k -> infinity) */
	if (phi <= exp(-1 / offered))
		return INFINITY;
	if (phi >= gap_transform(1 / offered, 1, lo))
		return lo;
	if (phi <= gap_transform(1 / offered, 1, hi))
		return INFINITY;
	for (int i = 0; i < 100; i++)
	{
		double		mid = sqrt(lo * hi);

		if (gap_transform(1 / offered, 1, mid) > phi)
			lo = mid;
		else
			hi = mid;
	}
	return sqrt(lo * hi);
}

/* Erlang C: the share of Poisson arrivals that wait, c servers, load a < c */
static double
erlang_c(int c, double a)
{
	/* 1/B by the stable recursion of Erlang B, then C from B */
	double		inv_b = 1;

	for (int k = 1; k <= c; k++)
		inv_b = 1 + inv_b * k / a;
	return 1 / (1 + (1 - a / c) * (inv_b - 1));
}

/*
 * The GI/M/c queue (Takacs): sigma solves sigma = phi(c mu (1 - sigma)) in
 * (0, 1); the wait of an arrival that waits is exponential of mean
 * 1 / (c mu (1 - sigma)); and, with phi_j = phi(j mu) and
 * C_j = prod_{i <= j} phi_i / (1 - phi_i),
 *   1/D = 1/(1 - sigma) + sum_{j=1..c} binom(c, j) / (C_j (1 - phi_j))
 *         x (c (1 - phi_j) - j) / (c (1 - sigma) - j)
 * the share of arrivals that wait is D / (1 - sigma).  The sum's terms are
 * taken in logs (C_j is tiny, binom(c, j) huge for a large c); a sum beyond
 * any double makes the share 0, which it is to the last digit.  The j = c
 * term is phi_c / sigma (1 when both vanish, at a light load of regular
 * arrivals); another term's 0/0 (c (1 - sigma) = j exactly) is avoided by a
 * hold a millionth longer.  False if no answer could be had.
 */
static bool
gimc(int c, double rate, double hold_s, double shape, double *share,
	 double *cond_s)
{
	for (int attempt = 0; attempt < 3; attempt++)
	{
		double		mu = 1 / hold_s;
		double		lo = 0;
		double		hi = 1;
		double		sigma;
		double		total;
		double		log_cj = 0;
		bool		singular = false;

		for (int i = 0; i < 200; i++)
		{
			double		mid = (lo + hi) / 2;

			if (gap_transform(c * mu * (1 - mid), rate, shape) > mid)
				lo = mid;
			else
				hi = mid;
		}
		sigma = (lo + hi) / 2;
		total = 1 / (1 - sigma);
		for (int j = 1; j <= c; j++)
		{
			double		phi_j = gap_transform(j * mu, rate, shape);
			double		log_binom;
			double		ratio;

			/* C_j too small to hold: 1/D beyond any double, the share 0 */
			if (phi_j <= 0)
			{
				total = INFINITY;
				break;
			}
			log_cj += log(phi_j) - log1p(-phi_j);
			log_binom = lgamma(c + 1.0) - lgamma(j + 1.0) - lgamma(c - j + 1.0);
			if (j < c)
			{
				/* (c (1 - phi_j) - j) / (c (1 - sigma) - j), c - j >= 1 */
				double		den = (c - j) - c * sigma;

				if (fabs(den) < 1e-7 * c)
				{
					singular = true;
					break;
				}
				ratio = ((c - j) - c * phi_j) / den;
			}
			else
			{
				/* j = c: phi_c / sigma, which tends to 1 as both vanish */
				ratio = sigma > 1e-12 ? phi_j / sigma : 1;
			}
			total += exp(log_binom - log_cj - log1p(-phi_j)) * ratio;
			if (isinf(total))
				break;
		}
		if (!singular && total > 0 && !isnan(total))
		{
			*share = isinf(total) ? 0 : Min(1.0, (1 / total) / (1 - sigma));
			*cond_s = 1 / (c * mu * (1 - sigma));
			return true;
		}
		hold_s *= 1 + 1e-6;
	}
	return false;
}

/*
 * A wait's percentile, of a distribution that is 0 with probability 1 -
 * share and else exponential of mean cond_ms
 */
static double
wait_percentile(double share, double cond_ms, double fraction)
{
	if (share <= 1 - fraction)
		return 0;
	return cond_ms * log(share / (1 - fraction));
}

/* What a pool of pool_size connections would make this load wait */
void
pgps_predict_wait(const pgpsLoad *load, int pool_size, pgpsWait *w)
{
	double		a = load->rate * load->hold_s;
	double		ca2 = isinf(load->shape) ? 0 : 1 / load->shape;
	double		share;
	double		cond_s;
	double		cond_ms;

	memset(w, 0, sizeof(*w));
	w->utilization = pool_size > 0 ? Min(a / pool_size, 1.0) : 1;
	if (a <= 0)
		return;
	if (a >= pool_size)
	{
		w->wait_share = 1;
		w->wait_avg_ms = w->wait_p95_ms = w->wait_p99_ms = INFINITY;
		return;
	}
	if (!gimc(pool_size, load->rate, load->hold_s, load->shape, &share,
			  &cond_s))
	{
		/* Poisson arrivals' (M/M/c): exact for them, near for the rest */
		share = erlang_c(pool_size, a);
		cond_s = load->hold_s / (pool_size - a);
	}
	/* holds more (or less) alike than exponential ones wait less (more) */
	cond_ms = 1000 * cond_s * (ca2 + load->hold_scv) / (ca2 + 1);
	w->wait_share = share;
	w->wait_avg_ms = share * cond_ms;
	w->wait_p95_ms = wait_percentile(share, cond_ms, 0.95);
	w->wait_p99_ms = wait_percentile(share, cond_ms, 0.99);
}

/*
 * The smallest pool whose p99 wait is at most target_ms, searched from the
 * smallest that keeps up; -1 if none up to max_pool does.  A search can
 * take long for a large load: it may be cancelled (the one exception to
 * this file's purity).
 */
int
pgps_smallest_pool(const pgpsLoad *load, double target_ms, int max_pool)
{
	for (int c = pgps_pool_keeping_up(load, max_pool); c <= max_pool; c++)
	{
		pgpsWait	w;

		CHECK_FOR_INTERRUPTS();
		pgps_predict_wait(load, c, &w);
		if (w.wait_p99_ms <= target_ms)
			return c;
	}
	return -1;
}

/* The smallest pool that keeps up with the load, at most max_pool */
int
pgps_pool_keeping_up(const pgpsLoad *load, int max_pool)
{
	double		a = load->rate * load->hold_s;

	if (!(a < max_pool))
		return max_pool;
	return Max(1, (int) floor(a) + 1);
}

/*
 * An instance's load from what was measured over a span: the rate of its
 * transactions (times rate_factor: more, or fewer, of the same
 * transactions) and the mean time each held its connection (their counted
 * time; with none counted, by Little's law from the sampled busy
 * connections) once it has a transaction; and the gaps' shape, fitted to
 * the busy count's dispersion.  False if there is too little to fit that to
 * (fewer than PGPS_INSTANCE_SAMPLES samples, or no busy connection seen):
 * no prediction, but the rate and hold are set where known.
 */
bool
pgps_fit_load(const pgpsLoadFacts *f, double rate_factor, pgpsLoad *load)
{
	memset(load, 0, sizeof(*load));
	if (f->transactions <= 0 || f->span_s <= 0)
		return false;
	load->rate = f->transactions / f->span_s;
	load->hold_scv = 1;
	if (f->timed_transactions > 0)
	{
		double		mean_ms = (double) f->xact_time_us / 1000 / f->timed_transactions;

		load->hold_s = mean_ms / 1000;
		/* how alike they are, once there are a few: E[T^2] / E[T]^2 - 1 */
		if (f->timed_transactions >= PGPS_MIN_TIMED && mean_ms > 0)
			load->hold_scv = Max(f->xact_time_sq / f->timed_transactions /
								 (mean_ms * mean_ms) - 1, 0);
	}
	else
		load->hold_s = f->busy_avg / load->rate;
	/* more (or fewer) of the same transactions, arriving alike */
	load->rate *= rate_factor;
	if (f->samples < PGPS_INSTANCE_SAMPLES || f->busy_avg <= 0 || load->hold_s <= 0)
		return false;
	load->shape = pgps_arrival_shape(f->busy_avg, f->busy_dispersion);

	/*
	 * Smoother than random arrivals only where the samples show it: a
	 * dispersion below Poisson's 1 by more than twice its standard error,
	 * sqrt((2 + 1/a) / n) for n independent samples (samples closer than
	 * two holds are not).  Else sampling noise would decide, on the rosy
	 * side: random arrivals are assumed.
	 */
	if (load->shape > 1)
	{
		double		independent = f->samples * Min(1.0, f->sample_interval_s /
												   (2 * load->hold_s));
		double		error = sqrt((2 + 1 / f->busy_avg) / Max(independent, 1));

		if (1 - f->busy_dispersion < 2 * error)
			load->shape = 1;
	}

	/*
	 * Every connection busy in most samples: either no pool (a connection
	 * per transaction) or one that ran out, whose busy count the pool cut
	 * short.  Its dispersion understates the arrivals' irregularity: no
	 * smoother than Poisson is assumed.
	 */
	if (f->saturated)
		load->shape = Min(load->shape, 1.0);
	return true;
}
