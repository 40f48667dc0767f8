/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL-version shim pgpool_stats needs, and nothing else.
 *
 * Supported: PostgreSQL 15 to 19.  Each shim names the version and the
 * upstream change it follows, so it can be dropped with that version.
 * PostgreSQL 14 reached its end of life in November 2026 and is no longer
 * supported (its shims went with it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPS_COMPAT_H
#define PGPS_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 200000
#error "pgpool_stats supports PostgreSQL 15 to 19"
#endif

/*
 * A backend's own index among the backends, for its slot: PostgreSQL 17
 * replaced BackendId (1-based) with ProcNumber (0-based).  Client backends
 * get an index below MaxBackends on every version.
 */
#if PG_VERSION_NUM >= 170000
#define PGPS_MY_SLOT		((int) MyProcNumber)
#else
#define PGPS_MY_SLOT		((int) MyBackendId - 1)
#endif


/*
 * Connection slots kept from ordinary roles: PostgreSQL 16 renamed
 * ReservedBackends to SuperuserReservedConnections and added
 * reserved_connections (ReservedConnections) for pg_use_reserved_connections.
 */
#include "postmaster/postmaster.h"
#if PG_VERSION_NUM >= 160000
#define PGPS_RESERVED_CONNECTIONS	(SuperuserReservedConnections + ReservedConnections)
#else
#define PGPS_RESERVED_CONNECTIONS	ReservedBackends
#endif

/*
 * Wait events: PostgreSQL 17 lets an extension name its own
 * (WaitEventExtensionNew); before, all extensions share "Extension".
 */
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
#define PGPS_WAIT_EVENT()	pgps_wait_event_named()
static inline uint32
pgps_wait_event_named(void)
{
	static uint32 event = 0;

	if (event == 0)
		event = WaitEventExtensionNew("PgpoolStatsCollector");
	return event;
}
#else
#define PGPS_WAIT_EVENT()	PG_WAIT_EXTENSION
#endif

/*
 * Materialized set-returning functions: PostgreSQL 16 renamed 15's
 * SetSingleFuncCall to InitMaterializedSRF.
 */
#include "funcapi.h"
#if PG_VERSION_NUM >= 160000
#define pgps_init_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#else
#define pgps_init_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#endif

/*
 * The executor's and the planner's hooks: PostgreSQL 18 dropped
 * ExecutorRun's execute_once argument, PostgreSQL 19 gave planner_hook the
 * ExplainState of an EXPLAIN (es).  Each _PARAMS macro is a hook's
 * parameter list, its _ARGS the same names to pass on.
 */
#if PG_VERSION_NUM >= 180000
#define PGPS_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PGPS_EXECUTOR_RUN_ARGS	queryDesc, direction, count
#else
#define PGPS_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, \
	bool execute_once
#define PGPS_EXECUTOR_RUN_ARGS	queryDesc, direction, count, execute_once
#endif
#if PG_VERSION_NUM >= 190000
#define PGPS_PLANNER_PARAMS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams, ExplainState *es
#define PGPS_PLANNER_ARGS	parse, query_string, cursorOptions, boundParams, es
#else
#define PGPS_PLANNER_PARAMS \
	Query *parse, const char *query_string, int cursorOptions, \
	ParamListInfo boundParams
#define PGPS_PLANNER_ARGS	parse, query_string, cursorOptions, boundParams
#endif

#endif							/* PGPS_COMPAT_H */
