/*-------------------------------------------------------------------------
 *
 * pgpool_stats.c
 *		Module entry point: settings, and the hooks and the background
 *		worker that pgpool_stats installs when it is preloaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"

#include "pgpool_stats.h"

PG_MODULE_MAGIC;

/* Settings; see the README's table */
int			pgps_max_entries = 1000;
bool		pgps_track_client_addr = true;
int			pgps_short_session_ms = 1000;
int			pgps_iit_threshold_ms = 1000;
int			pgps_leak_threshold_ms = 60000;
int			pgps_sample_interval_ms = 100;
int			pgps_history_interval_s = 60;
int			pgps_history_size = 1440;
int			pgps_history_rows = 65536;
int			pgps_headroom_pct = 20;
int			pgps_wait_target_ms = 10;
int			pgps_busiest_span_s = 3600;
bool		pgps_save = true;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static void
pgps_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	pgps_shmem_request();
}

static void
pgps_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgps_shmem_startup();
}

static void
define_settings(void)
{
	DefineCustomIntVariable("pgpool_stats.max_entries",
							"Number of distinct (database, role, application_name, client address) keys tracked.",
							"When all are in use, keys that only ever failed, then the least recently seen keys without open connections are evicted, a twentieth of the keys one scan covers (the whole table up to 10000 keys) at a time.",
							&pgps_max_entries,
							1000,
							10,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgpool_stats.track_client_addr",
							 "Keeps clients at different addresses apart.",
							 "When off, the client address of every key is NULL.",
							 &pgps_track_client_addr,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.short_session",
							"Sessions that end sooner than this count as short.",
							NULL,
							&pgps_short_session_ms,
							1000,
							1,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.idle_in_transaction_threshold",
							"Sessions idle in a transaction at least this long count as leaving it open.",
							"Shorter pauses between the statements of a transaction are normal and are not held against the application.",
							&pgps_iit_threshold_ms,
							1000,
							1,
							3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.leak_threshold",
							"A connection idle this long before a newer one of its application and client was opened counts as left behind.",
							"A pool opens a connection only when none of its own is free: one idle that long while newer ones are opened was taken from the pool and not given back.",
							&pgps_leak_threshold_ms,
							60000,
							1,
							3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.sample_interval",
							"Time between two samples of the sessions' states.",
							NULL,
							&pgps_sample_interval_ms,
							100,
							10,
							3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.history_interval",
							"Width of a history bucket.",
							NULL,
							&pgps_history_interval_s,
							60,
							1,
							PGPS_MAX_HISTORY_INTERVAL_S,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.history_size",
							"Number of history buckets kept.",
							"When all are in use, the oldest bucket goes.",
							&pgps_history_size,
							1440,
							2,
							1000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.history_rows",
							"Number of (bucket, key) rows the history holds.",
							"When all are in use, the oldest bucket goes with its rows.",
							&pgps_history_rows,
							65536,
							100,
							10000000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.headroom",
							"Margin, in percent, added to measured demand in pool-size recommendations.",
							NULL,
							&pgps_headroom_pct,
							20,
							0,
							PGPS_MAX_HEADROOM_PCT,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.wait_target",
							"Longest wait for a connection, at the 99th percentile, that a pool size may make transactions bear in predictions.",
							NULL,
							&pgps_wait_target_ms,
							10,
							1,
							PGPS_MAX_WAIT_TARGET_MS,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgpool_stats.busiest_span",
							"Length of the busiest stretch of history whose load predictions of waits read; 0 reads the whole window.",
							NULL,
							&pgps_busiest_span_s,
							3600,
							0,
							PGPS_MAX_BUSIEST_SPAN_S,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgpool_stats.save",
							 "Saves the statistics across clean server shutdowns.",
							 NULL,
							 &pgps_save,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("pgpool_stats");
}

/*
 * Module load.  Only a preload installs anything: loaded later (by a call
 * to one of its SQL functions) the library does nothing, and the SQL
 * functions say it must be preloaded.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	define_settings();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgps_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgps_shmem_startup_hook;

	pgps_install_conn_hooks();
	pgps_register_collector();
}
