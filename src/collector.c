/*-------------------------------------------------------------------------
 *
 * collector.c
 *		The background worker that samples what every client session is
 *		doing, and one sample, which pgpool_stats_sample() takes too.
 *
 * A sample reads each session's own backend status entry (the data behind
 * pg_stat_activity) and its PGPROC's wait event through the pointers the
 * session left in its slot when it was established: no SQL, no snapshot of
 * the whole status array, O(1) per session.  Each session counts under the
 * key it connected with, so a key's sampled total matches its
 * open_connections; a busy session that carries another application's name
 * (a pooler's) counts for that application's key too, one with no
 * connection of its own.
 *
 * The worker connects to no database (it shows in pg_stat_activity, with
 * its wait event), so it also runs on a hot standby.  SIGHUP
 * reloads the settings.  SIGTERM from the postmaster means the server is
 * shutting down: the worker exits with code 0 and no message, as autoprewarm
 * does.  SIGTERM from anyone else (pg_terminate_backend, kill) ends it with
 * exit code 1 and a LOG line, so the postmaster starts it again a second
 * later (the statistics live in shared memory and are not lost).  The sender
 * is told apart by the signal's si_pid.  Postmaster death ends it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pgpool_stats.h"
#include "store.h"

/* Why the worker is to stop: set by its SIGTERM handler */
typedef enum pgpsStop
{
	PGPS_RUN = 0,
	PGPS_STOP_SHUTDOWN,			/* the postmaster's: the server is stopping */
	PGPS_STOP_TERMINATED		/* anyone else's: start again */
} pgpsStop;

static volatile sig_atomic_t stop_requested = PGPS_RUN;
static volatile sig_atomic_t stop_sender = 0;

/*
 * SIGTERM: note who sent it and wake the loop.  Installed with sigaction,
 * not pqsignal, for the sender's pid.
 */
static void
collector_sigterm(int signo, siginfo_t *info, void *context)
{
	int			save_errno = errno;
	pid_t		sender = info != NULL ? info->si_pid : 0;

	stop_sender = sender;
	stop_requested = sender == PostmasterPid ? PGPS_STOP_SHUTDOWN
		: PGPS_STOP_TERMINATED;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* End the worker if SIGTERM asked it to; quietly at a shutdown */
static void
collector_check_stop(void)
{
	if (stop_requested == PGPS_RUN)
		return;
	if (stop_requested == PGPS_STOP_SHUTDOWN)
		proc_exit(0);
	ereport(LOG,
			(errmsg("pgpool_stats collector stopping on SIGTERM from process %d",
					(int) stop_sender),
			 errdetail("It starts again in one second; no statistics are lost.")));
	proc_exit(1);
}

/* Register the worker; called from _PG_init at preload */
void
pgps_register_collector(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	/* a connection to no database: the worker shows in pg_stat_activity */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgpool_stats");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgps_collector_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgpool_stats collector");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgpool_stats collector");
	RegisterBackgroundWorker(&worker);
}

/*
 * The state of one session, read from its status entry with the
 * changecount protocol.  False if the entry changed hands (the session
 * ended) or kept changing.
 */
static bool
read_state(volatile PgBackendStatus *be, int pid, BackendState *state,
		   TimestampTz *state_start, TimestampTz *proc_start, char *appname)
{
	int			attempt;

	if (be == NULL)
		return false;
	for (attempt = 0; attempt < 100; attempt++)
	{
		int			before;
		int			after;
		int			owner;

		pgstat_begin_read_activity(be, before);
		owner = be->st_procpid;
		*state = be->st_state;
		*state_start = be->st_state_start_timestamp;
		*proc_start = be->st_proc_start_timestamp;
		/* the name it carries now: a pooler sets its client's */
		if (appname != NULL)
			strlcpy(appname, (const char *) be->st_appname, NAMEDATALEN);
		pgstat_end_read_activity(be, after);
		if (pgstat_read_activity_complete(before, after))
			return owner == pid;
	}
	return false;
}

/* Count one session into its entry's scratch for the current sample */
static void
count_session(pgpsEntry *entry, BackendState state, TimestampTz state_start,
			  uint32 wait_event_info, TimestampTz now)
{
	pgpsCounts *c = &entry->scratch;

	c->total++;
	switch (state)
	{
		case STATE_RUNNING:
		case STATE_FASTPATH:
			c->active++;
			if ((wait_event_info & 0xFF000000) == PG_WAIT_LOCK)
				c->waiting++;
			break;
		case STATE_IDLE:
			c->idle++;
			break;
		case STATE_IDLEINTRANSACTION:
		case STATE_IDLEINTRANSACTION_ABORTED:
			if (state == STATE_IDLEINTRANSACTION)
				c->idle_in_xact++;
			else
				c->idle_in_xact_aborted++;
			if (state_start > 0)
			{
				entry->scratch_iit_us = Max(entry->scratch_iit_us,
											now - state_start);
				/* held open for as long as a leak: not at work */
				if (now - state_start >= (int64) pgps_leak_threshold_ms * 1000)
					entry->scratch_held++;
			}
			break;
		default:
			/* starting up, or track_activities is off: total only */
			break;
	}
}

/* Fold one key's scratch into its statistics; caller holds the spinlock */
static void
fold_sample(pgpsEntry *entry, int64 sample_no, TimestampTz now)
{
	pgpsActivity *a = &entry->activity;
	const pgpsCounts *c = &entry->scratch;
	int32		iit = c->idle_in_xact + c->idle_in_xact_aborted;

	/*
	 * Busy: at work for the application, running a query or in a
	 * transaction.  A session idle in a transaction for leak_threshold or
	 * more is held, not at work: a leaked transaction is no demand for
	 * connections.
	 */
	int32		busy = c->active + iit - entry->scratch_held;

	/*
	 * A key made or reset while this sample was being taken starts its
	 * window at this sample's number, but this sample counts in it.
	 */
	if (a->window_start_no >= sample_no)
		a->window_start_no = sample_no - 1;
	a->latest = *c;
	a->last_sample_no = sample_no;
	a->last_sample = now;
	a->nonzero_samples++;
	/* a pooler's lent sessions are all busy: they fill no pool of its own */
	if (busy == c->total && !entry->scratch_pooled)
		a->saturated_samples++;
	if (entry->scratch_lent)
		a->lent_samples++;
	if (entry->scratch_pooled)
	{
		a->pooled_samples++;
		/* it has no connection of its own to keep it from eviction */
		entry->last_seen = now;
	}
	a->peak_total = Max(a->peak_total, c->total);
	a->peak_active = Max(a->peak_active, c->active);
	a->sum_total += c->total;
	a->sum_active += c->active;
	a->sum_busy += busy;
	a->longest_iit_us = Max(a->longest_iit_us, entry->scratch_iit_us);
	/* a transaction idle between its statements for a moment is normal */
	/* a transaction idle between its statements for a moment is normal */
	if (iit > 0 &&
		entry->scratch_iit_us >= (int64) pgps_iit_threshold_ms * 1000)
		a->long_iit_samples++;
	pgps_hist_add(a->hist_active, pgps_count_bucket(c->active));
	pgps_hist_add(a->hist_busy, pgps_count_bucket(busy));
	pgps_hist_add(a->hist_total, pgps_count_bucket(c->total));

	pgps_history_add_sample(&entry->bucket, &entry->bucket_load, c, busy);
}

/*
 * At most this many busy sessions of poolers wait for their application's
 * new key in one sample: a client that sets a new name for every request
 * makes keys at a bounded pace, and a sample takes a partition exclusive a
 * bounded number of times
 */
#define PGPS_MAX_NEW_POOLED_KEYS	16

/* A busy session of a pooler whose application has no key yet */
typedef struct PendingSession
{
	pgpsKey		key;			/* the application's */
	BackendState state;
	TimestampTz state_start;
	uint32		wait_event_info;
} PendingSession;

/* One sample being taken: its number, its time, the keys it touched */
typedef struct SampleState
{
	int64		sample_no;
	TimestampTz now;
	pgpsEntry **touched;
	int			ntouched;
	int			seen;
	PendingSession *pending;
	int			npending;
} SampleState;

/* Start an entry's scratch for this sample, once */
static void
touch_entry(SampleState *ss, pgpsEntry *entry)
{
	if (entry->scratch_no == ss->sample_no)
		return;
	entry->scratch_no = ss->sample_no;
	memset(&entry->scratch, 0, sizeof(entry->scratch));
	entry->scratch_iit_us = 0;
	entry->scratch_held = 0;
	entry->scratch_lent = false;
	entry->scratch_pooled = false;
	ss->touched[ss->ntouched++] = entry;
}

/*
 * Whether a key has connections of its own; read without its spinlock (a
 * stale answer only moves one sample's count)
 */
static bool
has_own_connections(volatile pgpsEntry *entry)
{
	return entry->churn.connections > 0 || entry->churn.open_connections > 0;
}

/* Count a pooler's busy session for the application whose name it carries */
static void
count_pooled(SampleState *ss, pgpsEntry *app, BackendState state,
			 TimestampTz state_start, uint32 wait_event_info)
{
	touch_entry(ss, app);
	count_session(app, state, state_start, wait_event_info, ss->now);
	app->scratch_pooled = true;
}

/* Whether a session in this state is at work for its application */
static bool
state_busy(BackendState state)
{
	return state == STATE_RUNNING || state == STATE_FASTPATH ||
		state == STATE_IDLEINTRANSACTION ||
		state == STATE_IDLEINTRANSACTION_ABORTED;
}

/* Count one open session found in its slot into its key's scratch */
static void
sample_slot(pgpsEntry *entry, int pid, volatile PgBackendStatus *status,
			volatile PGPROC *proc, void *arg)
{
	SampleState *ss = (SampleState *) arg;
	BackendState state;
	TimestampTz state_start;
	TimestampTz proc_start;
	uint32		wait_event_info;
	char		raw[NAMEDATALEN];
	char		name[NAMEDATALEN];

	if (!read_state(status, pid, &state, &state_start, &proc_start, raw))
		return;
	wait_event_info = proc ? proc->wait_event_info : 0;

	touch_entry(ss, entry);
	count_session(entry, state, state_start, wait_event_info, ss->now);
	ss->seen++;

	/*
	 * A pooler sets each client's application_name on the server connection
	 * it lends: the session's busy states count for that application too,
	 * under a key of the same database, role and client address.  Its idle
	 * states stay with the pooler's pool.  A key's name is the cleaned one,
	 * and a clean name cleans to itself: only a name that differs as read
	 * is cleaned to compare again.
	 */
	if (strcmp(raw, entry->key.appname) == 0)
		return;
	memset(name, 0, sizeof(name));
	pgps_copy_appname(name, raw);
	if (strcmp(name, entry->key.appname) != 0)
	{
		pgpsKey		key;
		pgpsEntry  *app;

		entry->scratch_lent = true;
		if (!state_busy(state))
			return;
		memcpy(&key, &entry->key, sizeof(pgpsKey));
		memcpy(key.appname, name, NAMEDATALEN);
		app = pgps_entry_find_locked(&key);
		if (app != NULL)
		{
			/*
			 * A key with connections of its own (the application also
			 * connects from the pooler's address) keeps only its own
			 * sessions: counting lent ones in it would make its totals and
			 * its pool wrong.  Its lent sessions stay the pooler's.
			 */
			if (!has_own_connections(app))
				count_pooled(ss, app, state, state_start, wait_event_info);
		}
		else if (ss->npending < PGPS_MAX_NEW_POOLED_KEYS)
		{
			/* made once the walk is over, then counted */
			PendingSession *p = &ss->pending[ss->npending++];

			memcpy(&p->key, &key, sizeof(pgpsKey));
			p->state = state;
			p->state_start = state_start;
			p->wait_event_info = wait_event_info;
		}
	}
}

/* Fold the scratch of every key touched since *from into its statistics */
static void
fold_touched(SampleState *ss, int from)
{
	for (int i = from; i < ss->ntouched; i++)
	{
		pgps_entry_lock(ss->touched[i]);
		fold_sample(ss->touched[i], ss->sample_no, ss->now);
		pgps_entry_unlock(ss->touched[i]);
	}
}

/*
 * Count the busy sessions of poolers whose applications had no key during
 * the walk: make the keys while the table has room (a name a client sets
 * never evicts another application's key, as a failed login's never does),
 * then count each session in its application's.  A session whose
 * application gets no key counts for the pooler only.  The caller holds
 * the sample lock, no partition.
 */
static void
count_pending(SampleState *ss)
{
	int			from = ss->ntouched;

	for (int i = 0; i < ss->npending; i++)
	{
		pgpsEntry  *app = pgps_entry_acquire(&ss->pending[i].key,
											 PGPS_CREATE_IF_ROOM, ss->now);

		if (app != NULL)
			pgps_entry_release(app);
	}
	pgps_store_lock(LW_SHARED);
	for (int i = 0; i < ss->npending; i++)
	{
		PendingSession *p = &ss->pending[i];
		pgpsEntry  *app = pgps_entry_find_locked(&p->key);

		if (app != NULL && !has_own_connections(app))
			count_pooled(ss, app, p->state, p->state_start,
						 p->wait_event_info);
	}
	fold_touched(ss, from);
	pgps_store_unlock();
}

/*
 * Take one sample: count every client session by state under its key, fold
 * the counts into the statistics, and let the history close its bucket
 * when its time is up.  Returns the number of sessions seen.  The worker
 * and pgpool_stats_sample() both call this; the sample lock keeps them
 * apart.  Allocates in the current memory context.
 */
int
pgps_sample(void)
{
	SampleState ss;
	instr_time	start;
	instr_time	duration;

	/* each session touches its own key, and its application's if lent */
	ss.touched = palloc(sizeof(pgpsEntry *) * 2 * Max(pgps_num_slots(), 1));
	ss.ntouched = 0;
	ss.seen = 0;
	ss.pending = palloc(sizeof(PendingSession) * PGPS_MAX_NEW_POOLED_KEYS);
	ss.npending = 0;

	pgps_sample_lock(LW_EXCLUSIVE);
	INSTR_TIME_SET_CURRENT(start);
	ss.now = GetCurrentTimestamp();
	pgps_history_tick(ss.now);
	ss.sample_no = pgps_sample_begin();

	pgps_store_lock(LW_SHARED);
	/* a session without a key is still one of the server's */
	ss.seen += pgps_slot_foreach(sample_slot, &ss);
	fold_touched(&ss, 0);
	pgps_store_unlock();
	if (ss.npending > 0)
		count_pending(&ss);

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	pgps_sample_end(ss.now, INSTR_TIME_GET_DOUBLE(duration) * 1e6, ss.seen);

	pgps_sample_unlock();
	pfree(ss.touched);
	pfree(ss.pending);
	return ss.seen;
}

/* One open session, as pgps_left_behind() reads it */
typedef struct LiveSession
{
	pgpsKey		key;
	BackendState state;
	TimestampTz state_start;
	TimestampTz proc_start;
} LiveSession;

typedef struct LiveWalk
{
	LiveSession *sessions;
	int			n;
	int			room;
} LiveWalk;

/* Copy one open session's key and state; no lock held */
static void
live_slot(const pgpsKey *key, int pid, volatile PgBackendStatus *status,
		  volatile PGPROC *proc, void *arg)
{
	LiveWalk   *walk = (LiveWalk *) arg;
	LiveSession *ls;

	if (walk->n >= walk->room)
		return;
	ls = &walk->sessions[walk->n];
	if (!read_state(status, pid, &ls->state, &ls->state_start, &ls->proc_start,
					NULL))
		return;
	/* whole bytes, padding included: keys are compared with memcmp */
	memcpy(&ls->key, key, sizeof(pgpsKey));
	walk->n++;
}

static int
live_session_cmp(const void *a, const void *b)
{
	return memcmp(&((const LiveSession *) a)->key,
				  &((const LiveSession *) b)->key, sizeof(pgpsKey));
}

/*
 * The sessions each key has left behind now: idle, in a transaction or not,
 * since at least threshold_us before the key's newest session was started.
 * A pool opens a connection when none of its own is free, so one that
 * stays idle while newer ones are opened is not in the pool any more: it
 * was taken and not given back.  Returns, in the current memory context,
 * one pgpsLeftBehind per key that has any, and their number in *count.
 * Reads every open session's status entry, as a sample does, but records
 * nothing: the leak is in the connections open now.
 */
pgpsLeftBehind *
pgps_left_behind(int64 threshold_us, int *count)
{
	LiveWalk	walk;
	pgpsLeftBehind *result;
	int			n = 0;

	walk.room = Max(pgps_num_slots(), 1);
	walk.sessions = palloc0(sizeof(LiveSession) * walk.room);
	walk.n = 0;
	/* no partition held: readers of the recommendations never stall logins */
	pgps_slot_foreach_key(live_slot, &walk);

	/* sort by key, so that each key's sessions follow one another */
	qsort(walk.sessions, walk.n, sizeof(LiveSession), live_session_cmp);
	result = palloc0(sizeof(pgpsLeftBehind) * Max(walk.n, 1));
	for (int first = 0, last; first < walk.n; first = last)
	{
		TimestampTz newest = 0;
		pgpsLeftBehind *lb = &result[n];

		for (last = first; last < walk.n &&
			 live_session_cmp(&walk.sessions[first], &walk.sessions[last]) == 0;
			 last++)
			newest = Max(newest, walk.sessions[last].proc_start);

		memset(lb, 0, sizeof(*lb));
		memcpy(&lb->key, &walk.sessions[first].key, sizeof(pgpsKey));
		lb->open = last - first;
		for (int i = first; i < last; i++)
		{
			const LiveSession *ls = &walk.sessions[i];

			if ((ls->state != STATE_IDLE &&
				 ls->state != STATE_IDLEINTRANSACTION &&
				 ls->state != STATE_IDLEINTRANSACTION_ABORTED) ||
				ls->state_start <= 0 || newest - ls->state_start < threshold_us)
				continue;
			lb->sessions++;
			if (ls->state != STATE_IDLE)
				lb->in_transaction++;
			if (lb->oldest_idle_since == 0 || ls->state_start < lb->oldest_idle_since)
				lb->oldest_idle_since = ls->state_start;
		}
		if (lb->sessions > 0)
			n++;
	}
	pfree(walk.sessions);
	*count = n;
	return result;
}

/* Exit callback of the worker: it is no longer running */
static void
collector_exit(int code, Datum arg)
{
	pgps_worker_publish(0, pgps_sample_interval_ms);
}

/*
 * When to sample in the interval that starts at slot_start: at a random
 * moment of it, so that one sample falls in each interval, on average one
 * interval apart, but never at the same moment of a workload's own period
 * (a client that starts a transaction every 20 ms, a job every second),
 * which a fixed cadence would see at one phase only, and misjudge.
 */
static TimestampTz
sample_time(TimestampTz slot_start)
{
	return slot_start + (int64) (pg_prng_double(&pg_global_prng_state) *
								 pgps_sample_interval_ms * 1000);
}

/* Main loop of the worker */
void
pgps_collector_main(Datum main_arg)
{
	MemoryContext loop_context;
	TimestampTz slot_start;
	TimestampTz next_sample;

	struct sigaction sa;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = collector_sigterm;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	BackgroundWorkerUnblockSignals();

	if (!pgps_loaded())
		proc_exit(0);			/* not preloaded: cannot happen, do nothing */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	pgps_worker_publish(MyProcPid, pgps_sample_interval_ms);
	before_shmem_exit(collector_exit, (Datum) 0);

	loop_context = AllocSetContextCreate(TopMemoryContext,
										 "pgpool_stats collector",
										 ALLOCSET_SMALL_SIZES);
	/*
	 * The first sample at once: it opens the first history bucket, which
	 * counts connections from then on (the sessions the server's first
	 * moments saw must not miss it)
	 */
	slot_start = GetCurrentTimestamp();
	next_sample = slot_start;

	for (;;)
	{
		TimestampTz now;
		long		delay_ms;

		CHECK_FOR_INTERRUPTS();
		collector_check_stop();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			pgps_worker_publish(MyProcPid, pgps_sample_interval_ms);
			slot_start = GetCurrentTimestamp();
			next_sample = slot_start;
		}

		now = GetCurrentTimestamp();
		/* the clock set back must not stop the sampling */
		if (next_sample - now > (int64) pgps_sample_interval_ms * 1000)
		{
			slot_start = now;
			next_sample = now;
		}
		if (now >= next_sample)
		{
			MemoryContext old = MemoryContextSwitchTo(loop_context);

			pgps_sample();
			MemoryContextSwitchTo(old);
			MemoryContextReset(loop_context);

			/* keep to the schedule; if a whole interval behind, start anew */
			slot_start = TimestampTzPlusMilliseconds(slot_start,
													 pgps_sample_interval_ms);
			if (TimestampTzPlusMilliseconds(slot_start, pgps_sample_interval_ms) <= now)
				slot_start = now;
			next_sample = sample_time(slot_start);
		}

		/* round up: waking a little early would spin until the time comes */
		delay_ms = (long) ((next_sample - GetCurrentTimestamp() + 999) / 1000);
		if (delay_ms > 0)
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 delay_ms, PGPS_WAIT_EVENT());
		ResetLatch(MyLatch);
	}
}
