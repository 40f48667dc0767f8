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
 * open_connections.
 *
 * The worker connects to no database (it shows in pg_stat_activity, with
 * its wait event), so it also runs on a hot standby.  SIGHUP
 * reloads the settings; SIGTERM ends it with exit code 1, so the postmaster
 * starts it again a second later (the statistics live in shared memory and
 * are not lost); postmaster death ends it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
		   TimestampTz *state_start, TimestampTz *proc_start)
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
	if (busy == c->total)
		a->saturated_samples++;
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

	pgps_history_add_sample(&entry->bucket, c);
}

/* One sample being taken: its number, its time, the keys it touched */
typedef struct SampleState
{
	int64		sample_no;
	TimestampTz now;
	pgpsEntry **touched;
	int			ntouched;
	int			seen;
} SampleState;

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

	if (!read_state(status, pid, &state, &state_start, &proc_start))
		return;
	wait_event_info = proc ? proc->wait_event_info : 0;

	if (entry->scratch_no != ss->sample_no)
	{
		entry->scratch_no = ss->sample_no;
		memset(&entry->scratch, 0, sizeof(entry->scratch));
		entry->scratch_iit_us = 0;
		entry->scratch_held = 0;
		ss->touched[ss->ntouched++] = entry;
	}
	count_session(entry, state, state_start, wait_event_info, ss->now);
	ss->seen++;
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

	ss.touched = palloc(sizeof(pgpsEntry *) * Max(pgps_num_slots(), 1));
	ss.ntouched = 0;
	ss.seen = 0;

	pgps_sample_lock(LW_EXCLUSIVE);
	INSTR_TIME_SET_CURRENT(start);
	ss.now = GetCurrentTimestamp();
	pgps_history_tick(ss.now);
	ss.sample_no = pgps_sample_begin();

	pgps_store_lock(LW_SHARED);
	pgps_slot_foreach(sample_slot, &ss);
	for (int i = 0; i < ss.ntouched; i++)
	{
		pgps_entry_lock(ss.touched[i]);
		fold_sample(ss.touched[i], ss.sample_no, ss.now);
		pgps_entry_unlock(ss.touched[i]);
	}
	pgps_store_unlock();

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	pgps_sample_end(ss.now, INSTR_TIME_GET_DOUBLE(duration) * 1e6, ss.seen);

	pgps_sample_unlock();
	pfree(ss.touched);
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

/* Copy one open session's key and state; under the store lock */
static void
live_slot(pgpsEntry *entry, int pid, volatile PgBackendStatus *status,
		  volatile PGPROC *proc, void *arg)
{
	LiveWalk   *walk = (LiveWalk *) arg;
	LiveSession *ls;

	if (walk->n >= walk->room)
		return;
	ls = &walk->sessions[walk->n];
	if (!read_state(status, pid, &ls->state, &ls->state_start, &ls->proc_start))
		return;
	/* whole bytes, padding included: keys are compared with memcmp */
	memcpy(&ls->key, &entry->key, sizeof(pgpsKey));
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
	pgps_store_lock(LW_SHARED);
	pgps_slot_foreach(live_slot, &walk);
	pgps_store_unlock();

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

/* Main loop of the worker */
void
pgps_collector_main(Datum main_arg)
{
	MemoryContext loop_context;
	TimestampTz next_sample;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!pgps_loaded())
		proc_exit(0);			/* not preloaded: cannot happen, do nothing */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	pgps_worker_publish(MyProcPid, pgps_sample_interval_ms);
	before_shmem_exit(collector_exit, (Datum) 0);

	loop_context = AllocSetContextCreate(TopMemoryContext,
										 "pgpool_stats collector",
										 ALLOCSET_SMALL_SIZES);
	next_sample = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now;
		long		delay_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			pgps_worker_publish(MyProcPid, pgps_sample_interval_ms);
			next_sample = GetCurrentTimestamp();
		}

		now = GetCurrentTimestamp();
		/* the clock set back must not stop the sampling */
		if (next_sample - now > (int64) pgps_sample_interval_ms * 1000)
			next_sample = now;
		if (now >= next_sample)
		{
			MemoryContext old = MemoryContextSwitchTo(loop_context);

			pgps_sample();
			MemoryContextSwitchTo(old);
			MemoryContextReset(loop_context);

			/* keep to the schedule; if behind, sample next at now + interval */
			next_sample = TimestampTzPlusMilliseconds(next_sample,
													  pgps_sample_interval_ms);
			if (next_sample <= now)
				next_sample = TimestampTzPlusMilliseconds(now,
														  pgps_sample_interval_ms);
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
