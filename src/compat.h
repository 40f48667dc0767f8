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
 * Materialized set-returning functions: PostgreSQL 16 names the set-up
 * InitMaterializedSRF; 15 introduced it as SetSingleFuncCall; 14 has neither and gets the same steps spelled out.
 */
#if PG_VERSION_NUM >= 160000
#include "funcapi.h"
#define pgps_init_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#elif PG_VERSION_NUM >= 150000
#include "funcapi.h"
#define pgps_init_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#else
#include "funcapi.h"
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
