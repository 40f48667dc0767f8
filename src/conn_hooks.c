/*-------------------------------------------------------------------------
 *
 * conn_hooks.c
 *		Exact connection churn: the authentication hook, the moment a session
 *		is established (the commit of its start-up transaction), and the exit
 *		callback that counts its end and how it ended; and what the session
 *		does meanwhile, its transactions and top-level statements, counted in
 *		its own slot.  src/README tells a session's life.
 *
 * Every function here runs in the life of every connection: none may throw,
 * block on anything but the store's LWLock, or do more than a hash look-up.
 * The executor, planner and utility hooks run in every statement: they
 * count one and pass on, nothing else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "executor/executor.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "pgstat.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "pgpool_stats.h"
#include "store.h"

typedef enum pgpsSessionState
{
	SESSION_UNTRACKED = 0,		/* not ours to count, or already counted */
	SESSION_PENDING,			/* authenticated, start-up not finished */
	SESSION_ESTABLISHED,		/* counted as a connection */
	SESSION_UNKEYED				/* established with no key (the table was
								 * full of open keys): in a slot of no key */
} pgpsSessionState;

/* This backend's own session */
static pgpsSessionState session_state = SESSION_UNTRACKED;
static pgpsKey session_key;

/*
 * What this session has done, counted in its slot (NULL: not counted, no
 * slot or no key), and the same counts in local memory, so that counting
 * one is an increment and a store.
 */
static pgpsSessionCounts *session_counts = NULL;
static uint64 session_transactions = 0;
static uint64 session_statements = 0;
static uint64 session_xact_us = 0;
static uint64 session_xact_sq = 0;

/*
 * How deep the statement running now is: 0 at the top level, where a
 * client's statements start; more inside a utility statement, an
 * executor's start, run or finish, or a plan (a function evaluated while
 * planning).  Kept in every backend, counted in client sessions only, and
 * only while a portal runs (a client's statement always runs in one; a
 * deferred trigger at COMMIT or a login event trigger runs in none).
 *
 * An error unwinds the hooks without their decrement, and no PG_TRY puts it
 * back (four of them would cost a pooled transaction more than the whole
 * count may): the transaction callbacks do.  A subtransaction remembers the
 * depth it started at, and its abort (an error caught in a PL/pgSQL
 * EXCEPTION block, a ROLLBACK TO SAVEPOINT) puts it back; a transaction
 * that ends with no portal running (a statement's own transaction ends
 * after its portal, and an error that reached the top passed PortalRun and
 * PortalStart, which restore ActivePortal) is at depth 0.  A procedure's
 * COMMIT and ROLLBACK run inside its CALL's portal: its depth stays.
 */
static int	statement_nesting = 0;

#define PGPS_SUBXACT_DEPTHS 64
static int	subxact_nesting[PGPS_SUBXACT_DEPTHS];

static ClientAuthentication_hook_type prev_ClientAuthentication = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static planner_hook_type prev_planner = NULL;

static void pgps_ClientAuthentication(Port *port, int status);
static void pgps_xact_callback(XactEvent event, void *arg);
static void pgps_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								  SubTransactionId parentSubid, void *arg);
static void pgps_session_exit(int code, Datum arg);
static void pgps_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void pgps_ExecutorRun(PGPS_EXECUTOR_RUN_PARAMS);
static void pgps_ExecutorFinish(QueryDesc *queryDesc);
static void pgps_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree,
								ProcessUtilityContext context,
								ParamListInfo params,
								QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc);
static PlannedStmt *pgps_planner(PGPS_PLANNER_PARAMS);

void
pgps_install_conn_hooks(void)
{
	prev_ClientAuthentication = ClientAuthentication_hook;
	ClientAuthentication_hook = pgps_ClientAuthentication;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = pgps_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = pgps_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = pgps_ExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgps_ProcessUtility;
	prev_planner = planner_hook;
	planner_hook = pgps_planner;
}

/*
 * Copy an application_name into a key: printable ASCII is kept, every other
 * character (a control character, a whole multibyte UTF-8 sequence, or a
 * stray byte) becomes one '?', and the result is cut at NAMEDATALEN - 1
 * bytes, which is always a character boundary since the result is ASCII.
 * PostgreSQL already cleans the startup packet's name to ASCII; this keeps
 * the key safe to show whatever the version or database encoding.
 */
void
pgps_copy_appname(char *dst, const char *src)
{
	int			n = 0;

	if (src == NULL)
		return;
	while (*src != '\0' && n < NAMEDATALEN - 1)
	{
		unsigned char c = (unsigned char) *src++;

		if (c >= 0x20 && c <= 0x7e)
		{
			dst[n++] = (char) c;
			continue;
		}
		dst[n++] = '?';
		/* skip the continuation bytes of a multibyte lead byte */
		if (c >= 0xc0)
		{
			int			more = (c >= 0xf0) ? 3 : (c >= 0xe0) ? 2 : 1;

			while (more-- > 0 && ((unsigned char) *src & 0xc0) == 0x80)
				src++;
		}
	}
	dst[n] = '\0';
}

/* The client's IP address without the port; none for Unix sockets */
static void
copy_client_addr(pgpsAddr *dst, const Port *port)
{
	const struct sockaddr_storage *ss = &port->raddr.addr;

	if (!pgps_track_client_addr)
		return;
	if (ss->ss_family == AF_INET)
	{
		dst->family = PGSQL_AF_INET;
		memcpy(dst->bytes, &((const struct sockaddr_in *) ss)->sin_addr, 4);
	}
	else if (ss->ss_family == AF_INET6)
	{
		dst->family = PGSQL_AF_INET6;
		memcpy(dst->bytes, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
	}
}

/*
 * Oid of a database by name, InvalidOid if there is none or if finding out
 * would mean waiting.  Only for failed authentications (an established
 * session has MyDatabaseId).  Reads the shared catalog the way InitPostgres
 * does a moment later, with an index only once the shared relcache is
 * complete; takes its locks only if they are free at once, so that a client
 * failing to authenticate never waits behind VACUUM FULL or REINDEX of
 * pg_database.
 */
static Oid
lookup_database_oid(const char *name)
{
	Relation	rel;
	ScanKeyData scankey;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		use_index;
	Oid			dbid = InvalidOid;

	if (!ConditionalLockRelationOid(DatabaseRelationId, AccessShareLock))
		return InvalidOid;
	use_index = criticalSharedRelcachesBuilt &&
		ConditionalLockRelationOid(DatabaseNameIndexId, AccessShareLock);

	rel = table_open(DatabaseRelationId, NoLock);
	ScanKeyInit(&scankey, Anum_pg_database_datname,
				BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum(name));
	scan = systable_beginscan(rel, DatabaseNameIndexId, use_index, NULL, 1,
							  &scankey);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		dbid = ((Form_pg_database) GETSTRUCT(tuple))->oid;
	systable_endscan(scan);
	table_close(rel, NoLock);
	if (use_index)
		UnlockRelationOid(DatabaseNameIndexId, AccessShareLock);
	UnlockRelationOid(DatabaseRelationId, AccessShareLock);
	return dbid;
}

/*
 * The key of a connecting client, but for the database, which the caller
 * fills in.  The role is looked up in the syscache that authentication has
 * just filled.
 */
static void
build_key(pgpsKey *key, const Port *port)
{
	memset(key, 0, sizeof(pgpsKey));
	if (IsTransactionState() && port->user_name != NULL)
		key->userid = get_role_oid(port->user_name, true);
	pgps_copy_appname(key->appname, port->application_name);
	copy_client_addr(&key->addr, port);
}

/*
 * Count a failed login, never making a key that could push a real one out.
 * A failure comes from a client that chose its application_name and, for an
 * authentication failure or a role that does not exist (trust, peer and the
 * like pass any operating-system user), was vouched for by nobody.  So it
 * counts under its own key only if that key exists already (an application
 * that connected before); otherwise under the key of its database and role
 * with no name and no address, made only while the table has room.  Failed
 * logins from any number of names and addresses make at most one key per
 * database and role, and a key that only ever failed is the first to go
 * when a real key needs room (shmem.c).  Never throws.
 */
static void
count_failure(pgpsKey *key, bool authentication)
{
	pgpsEntry  *entry;
	TimestampTz now = GetCurrentTimestamp();

	entry = pgps_entry_acquire(key, PGPS_FIND, now);
	if (entry == NULL)
	{
		memset(key->appname, 0, sizeof(key->appname));
		memset(&key->addr, 0, sizeof(key->addr));
		entry = pgps_entry_acquire(key, PGPS_CREATE_IF_ROOM, now);
	}
	if (entry == NULL)
	{
		pgps_count_dropped();
		return;
	}
	if (authentication)
		entry->churn.auth_failures++;
	else
		entry->churn.login_failures++;
	entry->last_seen = now;
	pgps_entry_release(entry);
}

/*
 * ClientAuthentication_hook: runs once in every client backend, inside
 * InitPostgres's start-up transaction, after the authentication exchange.
 */
static void
pgps_ClientAuthentication(Port *port, int status)
{
	if (prev_ClientAuthentication)
		prev_ClientAuthentication(port, status);

	/* replication connections are not application sessions */
	if (!pgps_loaded() || am_walsender)
		return;

	if (status == STATUS_OK)
	{
		build_key(&session_key, port);
		session_state = SESSION_PENDING;
		before_shmem_exit(pgps_session_exit, (Datum) 0);
		RegisterXactCallback(pgps_xact_callback, NULL);
		RegisterSubXactCallback(pgps_subxact_callback, NULL);
	}
	else if (status == STATUS_ERROR)
	{
		pgpsKey		key;

		build_key(&key, port);
		if (IsTransactionState() && port->database_name != NULL)
			key.dbid = lookup_database_oid(port->database_name);
		count_failure(&key, true);
	}
}

/* Count one statement started at the top level, in a counted session */
static inline void
count_statement(void)
{
	if (statement_nesting <= 0 && session_counts != NULL && ActivePortal != NULL)
		pg_atomic_write_u64(&session_counts->statements, ++session_statements);
}

/*
 * Count a transaction's end in the session's slot, with its time from its
 * start (its first statement's arrival) to now, how long it held its
 * connection, and that time's square.  Plain stores: a sampler that reads
 * some and not yet the others adds the rest at its next walk, or the
 * session at its end.
 */
static void
count_transaction(pgpsSessionCounts *counts)
{
	uint64		us = (uint64) Max(GetCurrentTimestamp() -
									  GetCurrentTransactionStartTimestamp(), 0);

	session_xact_us += us;
	/* us x ms; a product beyond 2^64 (71 minutes) divided first */
	session_xact_sq += us < UINT64CONST(4000000000) ? us * us / 1000 :
		us * (us / 1000);
	pg_atomic_write_u64(&counts->xact_us, session_xact_us);
	pg_atomic_write_u64(&counts->xact_sq, session_xact_sq);
	pg_atomic_write_u64(&counts->transactions, ++session_transactions);
}

/*
 * The first commit after authentication ends InitPostgres: the session is
 * established.  Then every transaction's end (a commit, a rollback, a
 * PREPARE TRANSACTION) is counted in the session's slot, as
 * pg_stat_database's xact_commit and xact_rollback count them: the server
 * counts a prepared transaction when its COMMIT PREPARED or ROLLBACK
 * PREPARED runs, besides that statement's own transaction; here it counts
 * where it ran.  The callback stays registered, as the list of callbacks
 * must not change while it is walked.
 */
static void
pgps_xact_callback(XactEvent event, void *arg)
{
	bool		ends = (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
						event == XACT_EVENT_PREPARE);
	TimestampTz now;
	pgpsEntry  *entry;

	if (ends && ActivePortal == NULL)
		statement_nesting = 0;
	if (session_counts != NULL)
	{
		if (ends)
			count_transaction(session_counts);
		return;
	}
	if (session_state != SESSION_PENDING || event != XACT_EVENT_COMMIT)
		return;

	session_state = SESSION_UNTRACKED;
	session_key.dbid = MyDatabaseId;

	/*
	 * By now the application_name setting holds the startup packet's value
	 * as pg_stat_activity shows it: cut on a character boundary of the
	 * database encoding, then cleaned (or as ALTER ROLE/DATABASE ... SET
	 * made it).  Use it, so both views name a session alike.
	 */
	memset(session_key.appname, 0, sizeof(session_key.appname));
	pgps_copy_appname(session_key.appname, application_name);

	now = GetCurrentTimestamp();
	entry = pgps_entry_acquire(&session_key, PGPS_CREATE, now);
	if (entry == NULL)
	{
		/* still a client backend: the server's figures count it */
		pgps_count_dropped();
		pgps_slot_set(NULL);
		session_state = SESSION_UNKEYED;
		return;
	}
	entry->churn.connections++;
	entry->usage.connections++;
	entry->churn.open_connections++;
	entry->churn.setup_total_us += Max(now - MyStartTimestamp, 0);
	entry->churn.last_connect = now;
	entry->last_seen = now;
	session_counts = pgps_slot_set(entry);
	pgps_entry_release(entry);

	session_state = SESSION_ESTABLISHED;
}

/*
 * A subtransaction's start remembers the statement depth, its abort puts it
 * back (see statement_nesting).  Nests deeper than PGPS_SUBXACT_DEPTHS are
 * not remembered: their abort leaves the depth to the end of the
 * transaction, or sets it to 0 with no portal running.
 */
static void
pgps_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (event == SUBXACT_EVENT_START_SUB)
	{
		if (level < PGPS_SUBXACT_DEPTHS)
			subxact_nesting[level] = statement_nesting;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		if (level < PGPS_SUBXACT_DEPTHS)
			statement_nesting = subxact_nesting[level];
		else if (ActivePortal == NULL)
			statement_nesting = 0;
	}
}

/*
 * before_shmem_exit callback: the end of an established session, or the
 * failure of a pending one.  Runs on every exit path but a crash; must not
 * throw.
 */
static void
pgps_session_exit(int code, Datum arg)
{
	pgpsSessionState state = session_state;
	TimestampTz now;
	uint64		lifetime_us;
	pgpsEntry  *entry;

	pgpsSessionCounts *counts = session_counts;

	session_state = SESSION_UNTRACKED;
	session_counts = NULL;
	if (!pgps_loaded() || state == SESSION_UNTRACKED)
		return;

	if (state == SESSION_UNKEYED)
	{
		pgps_slot_clear();
		return;
	}
	if (state == SESSION_PENDING)
	{
		/* the database, if InitPostgres got as far as finding it */
		session_key.dbid = MyDatabaseId;
		count_failure(&session_key, false);
		return;
	}

	/*
	 * A transaction still open is rolled back after this callback (by
	 * ShutdownPostgres, registered before it): it is counted now, as
	 * pg_stat_database counts it then.  One already aborted, waiting for
	 * its ROLLBACK, was counted when it aborted.
	 */
	if (counts != NULL && IsTransactionOrTransactionBlock() &&
		(!IsAbortedTransactionBlockState() || IsSubTransaction()))
		count_transaction(counts);

	/* the sampler stops seeing the session before it stops being open */
	pgps_slot_clear();

	/* an open connection keeps its entry: it cannot have gone */
	now = GetCurrentTimestamp();
	lifetime_us = (uint64) Max(now - MyStartTimestamp, 0);
	entry = pgps_entry_acquire(&session_key, PGPS_FIND, now);
	if (entry == NULL)
	{
		pgps_count_dropped();
		return;
	}

	entry->churn.disconnections++;
	if (entry->churn.open_connections > 0)
		entry->churn.open_connections--;
	entry->churn.session_total_us += lifetime_us;
	entry->churn.session_max_us = Max(entry->churn.session_max_us, lifetime_us);
	pgps_hist_add(entry->churn.session_hist, pgps_lifetime_bucket(lifetime_us));
	if (lifetime_us < (uint64) pgps_short_session_ms * 1000)
		entry->churn.short_sessions++;
	if (counts != NULL)
		pgps_usage_flush(&entry->usage, counts);
	/* the cause pg_stat_database counts the session's end under */
	switch (pgStatSessionEndCause)
	{
		case DISCONNECT_CLIENT_EOF:
			entry->usage.sessions_abandoned++;
			break;
		case DISCONNECT_FATAL:
			entry->usage.sessions_fatal++;
			break;
		case DISCONNECT_KILLED:
			entry->usage.sessions_killed++;
			break;
		default:
			entry->usage.sessions_normal++;
			break;
	}
	entry->last_seen = now;
	pgps_entry_release(entry);
}

/*
 * The statement hooks: a statement whose executor starts at the top level
 * is one a client ran (a simple query's statement, an extended-protocol
 * portal), and so is a utility statement run there; what runs inside
 * either, or inside a plan, is not counted.  An error's unwinding is
 * undone by the transaction callbacks (see statement_nesting).
 */
static void
pgps_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	count_statement();
	statement_nesting++;
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	statement_nesting--;
}

static void
pgps_ExecutorRun(PGPS_EXECUTOR_RUN_PARAMS)
{
	statement_nesting++;
	if (prev_ExecutorRun)
		prev_ExecutorRun(PGPS_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(PGPS_EXECUTOR_RUN_ARGS);
	statement_nesting--;
}

static void
pgps_ExecutorFinish(QueryDesc *queryDesc)
{
	statement_nesting++;
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	statement_nesting--;
}

static void
pgps_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	count_statement();
	statement_nesting++;
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	statement_nesting--;
}

static PlannedStmt *
pgps_planner(PGPS_PLANNER_PARAMS)
{
	PlannedStmt *result;

	statement_nesting++;
	if (prev_planner)
		result = prev_planner(PGPS_PLANNER_ARGS);
	else
		result = standard_planner(PGPS_PLANNER_ARGS);
	statement_nesting--;
	return result;
}
