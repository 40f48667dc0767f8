/*-------------------------------------------------------------------------
 *
 * pgps_bench_fill.c
 *		A bench-only module, not part of the product: pgps_bench_fill(n,
 *		prefix) makes n keys in pgpool_stats's store in one call, through the
 *		store's own API, for test/bench/readers.sh (a million keys made by
 *		logins would take hours).  pgpool_stats.so exports the two functions
 *		it calls (store.h), and the server loads libraries with RTLD_GLOBAL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "store.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(pgps_bench_fill);

/*
 * pgps_bench_fill(n int4, prefix text) returns int8: make the keys (this
 * database, this role, no address, application_name prefix || i) for i in
 * 0 .. n - 1, as a login would, evicting if the table is full; returns how
 * many were made or found
 */
Datum
pgps_bench_fill(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	char	   *prefix = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		made = 0;

	for (int32 i = 0; i < n; i++)
	{
		pgpsKey		key;
		pgpsEntry  *e;

		if (i % 1000 == 0)
			CHECK_FOR_INTERRUPTS();

		/* hashed and compared as raw bytes: zeroed first, padding included */
		memset(&key, 0, sizeof(key));
		key.dbid = MyDatabaseId;
		key.userid = GetUserId();
		snprintf(key.appname, NAMEDATALEN, "%s%d", prefix, i);

		e = pgps_entry_acquire(&key, PGPS_CREATE, GetCurrentTimestamp());
		if (e)
		{
			pgps_entry_release(e);
			made++;
		}
	}
	PG_RETURN_INT64(made);
}
