/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL-version shim pgpool_stats needs, and nothing else.
 *
 * Supported: PostgreSQL 14 to 18.  Each shim names the version and the
 * upstream change it follows, so it can be dropped with that version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGPS_COMPAT_H
#define PGPS_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 140000 || PG_VERSION_NUM >= 190000
#error "pgpool_stats supports PostgreSQL 14 to 18"
#endif

/*
 * PostgreSQL 15 added shmem_request_hook; before it,
 * shared memory and LWLocks were requested directly from _PG_init.
 */
#if PG_VERSION_NUM >= 150000
#define PGPS_HAVE_SHMEM_REQUEST_HOOK 1
#endif

/*
 * PostgreSQL 15 renamed EmitWarningsOnPlaceholders to MarkGUCPrefixReserved
 *; 14 only has the old name.
 */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
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
 * MaxBackends is set before shmem_request_hook runs (15+); on 14 shared
 * memory is sized in _PG_init, before it is, so it is computed the way
 * InitializeMaxBackends does.
 */
#if PG_VERSION_NUM >= 150000
#define PGPS_MAX_BACKENDS	MaxBackends
#else
#include "postmaster/autovacuum.h"
#include "replication/walsender.h"
#define PGPS_MAX_BACKENDS \
	(MaxConnections + autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders)
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
 * Materialized set-returning functions: PostgreSQL 16 names the set-up
 * InitMaterializedSRF; 15 introduced it as SetSingleFuncCall; 14 has neither and gets the same steps spelled out.
 */
#include "funcapi.h"
#if PG_VERSION_NUM >= 160000
#define pgps_init_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#elif PG_VERSION_NUM >= 150000
#define pgps_init_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#else
#include "miscadmin.h"
#include "utils/tuplestore.h"
static inline void
pgps_init_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext oldcontext;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcontext);
}
#endif

#endif							/* PGPS_COMPAT_H */
