/*-------------------------------------------------------------------------
 *
 * persist.c
 *		Statistics across clean restarts: the postmaster writes them to a
 *		file when the server shuts down cleanly and reads them back when it
 *		starts after a clean shutdown.
 *
 * The file, pg_stat/pgpool_stats.stat, is written to a temporary name and
 * renamed durably.  It opens with a header (magic number, format version,
 * PostgreSQL major version, and the sizes that shape it) and ends with a
 * CRC-32C of everything before it.  It holds no enum values: only counts,
 * times and keys.
 *
 * Nothing here may stop the server: a missing, truncated, corrupt or foreign
 * file gives a LOG line and an empty start; one written with other sizes
 * gives what fits.  Nothing is written after a crash or an immediate
 * shutdown (the control file does not say "shut down"), so statistics that
 * a dying backend may have left half-updated never come back.  The file
 * read at start is renamed pgpool_stats.stat.loaded, a name never read at a
 * start (and removed at every start and every unclean exit): a clean
 * shutdown removes it once the new file is written, or, if that write fails
 * (a full disk), puts it back under its name, so the next start has the
 * statistics of this one's start rather than none.  A file is read only
 * when the control file says the server shut down cleanly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/memutils.h"

#include "pgpool_stats.h"
#include "store.h"

#define PGPS_DUMP_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/pgpool_stats.stat"
/* the file read at start, while the server runs: never read again */
#define PGPS_LOADED_FILE	PGPS_DUMP_FILE ".loaded"
#define PGPS_DUMP_MAGIC		0x50475053	/* "PGPS" */

/*
 * The version of the file's layout: bump it whenever a struct written to
 * the file changes (pgpsDumpHeader, pgpsDumpEntry and what they hold, the
 * history's pgpsHistoryDump, pgpsHistBucket and pgpsHistRow).  A file of
 * another format is ignored with a LOG line, but for the formats earlier
 * versions wrote, which are read and converted (below).
 *
 * The file: the header; nentries entries; the history part (a
 * pgpsHistoryDump, nbuckets buckets, nrows rows); a CRC-32C of all before.
 */
#define PGPS_DUMP_FORMAT	6

typedef struct pgpsDumpHeader
{
	/* the fields up to part_size keep their offsets in every later format */
	uint32		magic;
	uint32		format;
	uint32		pg_major;		/* PG_VERSION_NUM / 100 */
	uint32		header_size;	/* sizes of what follows */
	uint32		entry_size;
	uint32		bucket_size;
	uint32		row_size;
	uint32		history_size;	/* of the pgpsHistoryDump */
	uint32		hist_buckets;	/* histogram layouts */
	uint32		count_buckets;
	int64		nentries;
	int64		nbuckets;
	int64		nrows;
	uint32		key_size;		/* the parts of an entry */
	uint32		churn_size;
	uint32		activity_size;
	uint32		part_size;
	pgpsGlobalStats stats;
} pgpsDumpHeader;

/* What one key contributes to the file */
typedef struct pgpsDumpEntry
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsActivity activity;
	pgpsBucketPart bucket;
	pgpsUsage	usage;			/* since format 5 (its time since 6) */
	pgpsBucketLoad bucket_load; /* since format 6 */
} pgpsDumpEntry;

/*
 * Format 5, written by pgpool_stats 1.3, is still read, so that updating the
 * library keeps the statistics: its header is format 6's, its entries' usage
 * had no transactions' time, which 1.4 added at their end.  Frozen: never
 * change them.
 */
#define PGPS_DUMP_FORMAT_1_3	5

typedef struct pgpsUsageV5
{
	int64		connections;
	int64		transactions;
	int64		statements;
	int64		sessions_normal;
	int64		sessions_abandoned;
	int64		sessions_fatal;
	int64		sessions_killed;
} pgpsUsageV5;

typedef struct pgpsDumpEntryV5
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsActivity activity;
	pgpsBucketPart bucket;
	pgpsUsageV5 usage;
} pgpsDumpEntryV5;

StaticAssertDecl(offsetof(pgpsDumpEntry, usage) +
				 offsetof(pgpsUsage, timed_transactions) == sizeof(pgpsDumpEntryV5),
				 "an entry of format 5 is the start of format 6's");

/* A history row of formats 5 to 2: no load (1.4 added it at the end) */
typedef struct pgpsHistRowV5
{
	pgpsKey		key;
	int32		max_total;
	int32		max_active;
	int32		max_iit;
	int32		connections;
	int32		disconnections;
	int64		sum_total;
	int64		sum_active;
} pgpsHistRowV5;

StaticAssertDecl(offsetof(pgpsHistRow, transactions) == sizeof(pgpsHistRowV5),
				 "a history row of format 5 is the start of format 6's");

/*
 * Format 4, written by pgpool_stats 1.2, is still read, so that updating the
 * library keeps the statistics: its header is format 5's, its entries had
 * no usage, which 1.3 added at their end.  Frozen: never change it.
 */
#define PGPS_DUMP_FORMAT_1_2	4

typedef struct pgpsDumpEntryV4
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsActivity activity;
	pgpsBucketPart bucket;
} pgpsDumpEntryV4;

StaticAssertDecl(offsetof(pgpsDumpEntry, usage) == sizeof(pgpsDumpEntryV4),
				 "an entry of format 4 is the start of format 5's");

/*
 * Format 3, written by pgpool_stats 1.1, is still read, so that updating the
 * library keeps the statistics: its header is format 5's, its activity had
 * none of 1.2's pooler figures.  Frozen: never change them.
 */
#define PGPS_DUMP_FORMAT_1_1	3

typedef struct pgpsActivityV3
{
	int64		window_start_no;
	int64		last_sample_no;
	TimestampTz last_sample;
	pgpsCounts	latest;
	int64		nonzero_samples;
	int64		saturated_samples;
	int32		peak_total;
	int32		peak_active;
	int64		sum_total;
	int64		sum_active;
	int64		sum_busy;
	int64		longest_iit_us;
	int64		long_iit_samples;
	uint32		hist_active[PGPS_COUNT_BUCKETS];
	uint32		hist_busy[PGPS_COUNT_BUCKETS];
	uint32		hist_total[PGPS_COUNT_BUCKETS];
} pgpsActivityV3;

typedef struct pgpsDumpEntryV3
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsActivityV3 activity;
	pgpsBucketPart bucket;
} pgpsDumpEntryV3;

/* 1.2 added its figures at the end: 1.1's activity is the start of 1.2's */
StaticAssertDecl(offsetof(pgpsActivity, lent_samples) == sizeof(pgpsActivityV3),
				 "the activity of format 3 is the start of format 4's");

/*
 * Format 2, written by pgpool_stats 1.0, is still read, so that updating
 * the library keeps the statistics: its entries are laid out as format 3's
 * (1.0's activity carried the bucket part at its end), its header held the
 * global figures field by field and the bucket being filled, and its
 * history had no part of its own.  Frozen: never change it.
 */
#define PGPS_DUMP_FORMAT_1_0	2

typedef struct pgpsDumpHeaderV2
{
	uint32		magic;
	uint32		format;
	uint32		pg_major;
	uint32		key_size;
	uint32		churn_size;
	uint32		activity_size;	/* activity and bucket part */
	uint32		bucket_size;
	uint32		row_size;
	uint32		hist_buckets;
	uint32		count_buckets;
	int64		nentries;
	int64		nbuckets;
	int64		nrows;
	TimestampTz stats_reset;
	int64		evicted;
	int64		dropped;
	int64		samples_taken;
	int64		rows_lost;
	int32		peak_sessions;
	TimestampTz last_sample;
	double		total_sample_us;
	double		max_sample_us;
	TimestampTz cur_bucket_start;
	TimestampTz cur_bucket_end;
	int64		cur_bucket_samples;
} pgpsDumpHeaderV2;

/* The file being written, and its running CRC */
typedef struct DumpFile
{
	FILE	   *file;
	pg_crc32c	crc;
} DumpFile;

/* The control file says the server shut down cleanly */
static bool
shut_down_cleanly(void)
{
	ControlFileData control;
	int			fd;
	bool		clean = false;

	fd = open(XLOG_CONTROL_FILE, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		return false;
	if (read(fd, &control, sizeof(control)) == sizeof(control))
		clean = (control.state == DB_SHUTDOWNED ||
				 control.state == DB_SHUTDOWNED_IN_RECOVERY);
	close(fd);
	return clean;
}

/* fwrite that keeps the running CRC; false on a write error */
static bool
write_crc(const void *data, size_t len, void *arg)
{
	DumpFile   *out = (DumpFile *) arg;

	COMP_CRC32C(out->crc, data, len);
	return fwrite(data, 1, len, out->file) == len;
}

/* One entry into the file; a write error stops the writes that follow */
static void
dump_entry(pgpsEntry *entry, void *arg)
{
	DumpFile   *out = (DumpFile *) arg;
	pgpsDumpEntry de;

	if (out->file == NULL)
		return;
	memset(&de, 0, sizeof(de));
	de.key = entry->key;
	de.last_seen = entry->last_seen;
	de.churn = entry->churn;
	de.activity = entry->activity;
	de.bucket = entry->bucket;
	de.usage = entry->usage;
	de.bucket_load = entry->bucket_load;
	if (!write_crc(&de, sizeof(de), out))
		out->file = NULL;
}

/*
 * on_shmem_exit callback of the postmaster: write the statistics if the
 * server shut down cleanly and pgpool_stats.save is on.  Every other
 * process is gone: no lock is needed.  Never throws.
 */
static void
dump_statistics(int code, Datum arg)
{
	FILE	   *file;
	pgpsDumpHeader header;
	pgpsHistoryDump history;
	DumpFile	out;
	bool		ok;

	/*
	 * The exit code does not matter: a postmaster that loaded the file and
	 * then failed to start exits with 1, and must write the statistics back
	 * (the control file still says "shut down").
	 */
	if (!pgps_loaded())
		return;
	if (!pgps_save)
	{
		/* nothing to carry over, not even the file read at start */
		unlink(PGPS_LOADED_FILE);
		return;
	}
	if (!shut_down_cleanly())
	{
		unlink(PGPS_LOADED_FILE);
		ereport(LOG,
				(errmsg("pgpool_stats: statistics not saved: the server did not shut down cleanly")));
		return;
	}

	file = AllocateFile(PGPS_DUMP_FILE ".tmp", PG_BINARY_W);
	if (file == NULL)
		goto error;

	memset(&header, 0, sizeof(header));
	header.magic = PGPS_DUMP_MAGIC;
	header.format = PGPS_DUMP_FORMAT;
	header.pg_major = PG_VERSION_NUM / 100;
	header.header_size = sizeof(pgpsDumpHeader);
	header.entry_size = sizeof(pgpsDumpEntry);
	header.bucket_size = sizeof(pgpsHistBucket);
	header.row_size = sizeof(pgpsHistRow);
	header.history_size = sizeof(pgpsHistoryDump);
	header.hist_buckets = PGPS_HIST_BUCKETS;
	header.count_buckets = PGPS_COUNT_BUCKETS;
	header.key_size = sizeof(pgpsKey);
	header.churn_size = sizeof(pgpsChurn);
	header.activity_size = sizeof(pgpsActivity);
	header.part_size = sizeof(pgpsBucketPart);
	header.nentries = pgps_entry_count();
	pgps_history_dump_state(&history, &header.nbuckets, &header.nrows);
	header.stats = pgps_stats_copy();

	out.file = file;
	INIT_CRC32C(out.crc);
	if (!write_crc(&header, sizeof(header), &out))
		out.file = NULL;
	else
		pgps_entry_foreach(dump_entry, NULL, &out, false);
	ok = out.file != NULL && write_crc(&history, sizeof(history), &out) &&
		pgps_history_write(write_crc, &out);
	FIN_CRC32C(out.crc);
	if (ok)
		ok = fwrite(&out.crc, 1, sizeof(out.crc), file) == sizeof(out.crc);

	if (!ok || FreeFile(file) != 0)
	{
		if (ok)
			file = NULL;		/* FreeFile failed: already closed */
		goto error;
	}
	/* fsyncs the file and the directory: the rename survives a crash */
	if (durable_rename(PGPS_DUMP_FILE ".tmp", PGPS_DUMP_FILE, LOG) != 0)
		goto error_unlink;
	unlink(PGPS_LOADED_FILE);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("pgpool_stats: could not write statistics file \"%s\": %m",
					PGPS_DUMP_FILE ".tmp"),
			 errdetail("The statistics file read at start, if any, is kept: the next start has the statistics of this one's start.")));
	if (file)
		FreeFile(file);
error_unlink:
	unlink(PGPS_DUMP_FILE ".tmp");
	/* the file read at start, back under its name: better than nothing */
	(void) durable_rename(PGPS_LOADED_FILE, PGPS_DUMP_FILE, DEBUG1);
}

/* The counts of a header, within what a file can hold */
static bool
counts_valid(int64 nentries, int64 nbuckets, int64 nrows)
{
	return nentries >= 0 && nbuckets >= 0 && nrows >= 0 &&
		nentries <= PG_INT32_MAX && nbuckets <= PG_INT32_MAX &&
		nrows <= PG_INT32_MAX;
}

/*
 * Why a format 6, 5, 4 or 3 file cannot be loaded, or NULL if its header is ours
 * (the entry and activity of its format given)
 */
static const char *
header_problem(const pgpsDumpHeader *h, size_t file_size, size_t entry_size,
			   size_t activity_size, size_t row_size)
{
	uint64		expected;

	if (h->pg_major != PG_VERSION_NUM / 100)
		return "written by another PostgreSQL major version";
	if (h->header_size != sizeof(pgpsDumpHeader) ||
		h->entry_size != entry_size ||
		h->bucket_size != sizeof(pgpsHistBucket) ||
		h->row_size != row_size ||
		h->history_size != sizeof(pgpsHistoryDump) ||
		h->key_size != sizeof(pgpsKey) || h->churn_size != sizeof(pgpsChurn) ||
		h->activity_size != activity_size ||
		h->part_size != sizeof(pgpsBucketPart) ||
		h->hist_buckets != PGPS_HIST_BUCKETS ||
		h->count_buckets != PGPS_COUNT_BUCKETS)
		return "written by a build with another layout";
	if (!counts_valid(h->nentries, h->nbuckets, h->nrows))
		return "corrupt header";
	expected = sizeof(pgpsDumpHeader) + h->nentries * entry_size +
		sizeof(pgpsHistoryDump) + h->nbuckets * sizeof(pgpsHistBucket) +
		h->nrows * row_size + sizeof(pg_crc32c);
	if (expected != file_size)
		return "truncated or of the wrong size";
	return NULL;
}

/*
 * Why a format 2 file (pgpool_stats 1.0) cannot be loaded, or NULL; if it
 * can, *h gets its header in format 6's terms and *history the history's
 * own part.
 */
static const char *
header_problem_v2(const pgpsDumpHeaderV2 *v2, size_t file_size,
				  pgpsDumpHeader *h, pgpsHistoryDump *history)
{
	uint64		expected;

	if (v2->pg_major != PG_VERSION_NUM / 100)
		return "written by another PostgreSQL major version";
	if (v2->key_size != sizeof(pgpsKey) || v2->churn_size != sizeof(pgpsChurn) ||
		v2->activity_size != sizeof(pgpsActivityV3) + sizeof(pgpsBucketPart) ||
		v2->bucket_size != sizeof(pgpsHistBucket) ||
		v2->row_size != sizeof(pgpsHistRowV5) ||
		v2->hist_buckets != PGPS_HIST_BUCKETS ||
		v2->count_buckets != PGPS_COUNT_BUCKETS)
		return "written by a build with another layout";
	if (!counts_valid(v2->nentries, v2->nbuckets, v2->nrows))
		return "corrupt header";
	expected = sizeof(pgpsDumpHeaderV2) + v2->nentries * sizeof(pgpsDumpEntryV3) +
		v2->nbuckets * sizeof(pgpsHistBucket) + v2->nrows * sizeof(pgpsHistRowV5) +
		sizeof(pg_crc32c);
	if (expected != file_size)
		return "truncated or of the wrong size";

	memset(h, 0, sizeof(pgpsDumpHeader));
	h->nentries = v2->nentries;
	h->nbuckets = v2->nbuckets;
	h->nrows = v2->nrows;
	h->stats.stats_reset = v2->stats_reset;
	h->stats.evicted = v2->evicted;
	h->stats.dropped = v2->dropped;
	h->stats.samples_taken = v2->samples_taken;
	h->stats.last_sample = v2->last_sample;
	h->stats.total_sample_us = v2->total_sample_us;
	h->stats.max_sample_us = v2->max_sample_us;
	h->stats.peak_sessions = v2->peak_sessions;
	memset(history, 0, sizeof(pgpsHistoryDump));
	history->cur_start = v2->cur_bucket_start;
	history->cur_end = v2->cur_bucket_end;
	history->cur_samples = v2->cur_bucket_samples;
	history->rows_lost = v2->rows_lost;
	return NULL;
}

/* A time the file may hold: 0 (none) or a valid timestamp */
static bool
valid_time(TimestampTz t)
{
	return t == 0 || (t > 0 && IS_VALID_TIMESTAMP(t));
}

/* The parts of a file's body, whose header was checked */
typedef struct DumpBody
{
	pgpsDumpEntry *entries;
	pgpsHistoryDump *history;
	pgpsHistBucket *buckets;
	pgpsHistRow *rows;
	bool		from_1_0;		/* format 2 */
	bool		converted;		/* entries and rows converted into memory of
								 * their own */
} DumpBody;

/*
 * Zeroed memory of its own for n converted items of a file (NULL if out of
 * memory): what their format did not have starts at zero
 */
static void *
alloc_converted(int64 n, Size size)
{
	return MemoryContextAllocExtended(TopMemoryContext, Max(n, 1) * size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM |
									  MCXT_ALLOC_ZERO);
}

/*
 * The entries of a format 5, 4, 3 or 2 file, of old_size bytes each, in
 * format 6's layout, in memory of their own (NULL if out of memory): what
 * their format did not have starts at zero (1.4's transactions' time; 1.3's
 * usage too for format 4; 1.2's pooler figures too for formats 3 and 2).
 * Formats 5 and 4 are the start of format 6's entry.
 */
static pgpsDumpEntry *
convert_entries(const char *old, int64 n, size_t old_size)
{
	pgpsDumpEntry *entries = alloc_converted(n, sizeof(pgpsDumpEntry));

	if (entries == NULL)
		return NULL;
	for (int64 i = 0; i < n; i++)
	{
		pgpsDumpEntryV3 e;

		/* the file's bytes may not be aligned for the struct */
		if (old_size != sizeof(pgpsDumpEntryV3))
		{
			memcpy(&entries[i], old + i * old_size, old_size);
			continue;
		}
		memcpy(&e, old + i * sizeof(pgpsDumpEntryV3), sizeof(e));
		entries[i].key = e.key;
		entries[i].last_seen = e.last_seen;
		entries[i].churn = e.churn;
		memcpy(&entries[i].activity, &e.activity, sizeof(pgpsActivityV3));
		entries[i].bucket = e.bucket;
	}
	/* its load in the bucket being filled counts from its usage on */
	for (int64 i = 0; i < n; i++)
		entries[i].bucket_load.base_transactions = entries[i].usage.transactions;
	return entries;
}

/*
 * The history rows of a format 5, 4, 3 or 2 file, in format 6's layout, in
 * memory of their own (NULL if out of memory): their load starts at zero
 */
static pgpsHistRow *
convert_rows(const char *old, int64 n)
{
	pgpsHistRow *rows = alloc_converted(n, sizeof(pgpsHistRow));

	if (rows == NULL)
		return NULL;
	/* the file's bytes may not be aligned for the struct */
	for (int64 i = 0; i < n; i++)
		memcpy(&rows[i], old + i * sizeof(pgpsHistRowV5), sizeof(pgpsHistRowV5));
	return rows;
}

/*
 * Find the parts of a file read whole into data; false, with *problem, if
 * its header is not one this library reads.  A format 2 file's history
 * part is taken from its header into *history.
 */
static bool
split_file(char *data, size_t size, pgpsDumpHeader *h,
		   pgpsHistoryDump *history, DumpBody *body, const char **problem)
{
	uint32		magic;
	uint32		format;
	pgpsDumpHeaderV2 v2;

	*problem = NULL;
	if (size < sizeof(pgpsDumpHeaderV2) + sizeof(pg_crc32c))
		*problem = "truncated";
	else
	{
		memcpy(&magic, data, sizeof(magic));
		memcpy(&format, data + sizeof(magic), sizeof(format));
		if (magic != PGPS_DUMP_MAGIC)
			*problem = "not a pgpool_stats statistics file";
		else if (format == PGPS_DUMP_FORMAT ||
				 format == PGPS_DUMP_FORMAT_1_3 ||
				 format == PGPS_DUMP_FORMAT_1_2 ||
				 format == PGPS_DUMP_FORMAT_1_1)
		{
			if (size < sizeof(pgpsDumpHeader))
				*problem = "truncated";
			else
			{
				memcpy(h, data, sizeof(pgpsDumpHeader));
				if (format == PGPS_DUMP_FORMAT)
					*problem = header_problem(h, size, sizeof(pgpsDumpEntry),
											  sizeof(pgpsActivity),
											  sizeof(pgpsHistRow));
				else if (format == PGPS_DUMP_FORMAT_1_3)
					*problem = header_problem(h, size, sizeof(pgpsDumpEntryV5),
											  sizeof(pgpsActivity),
											  sizeof(pgpsHistRowV5));
				else if (format == PGPS_DUMP_FORMAT_1_2)
					*problem = header_problem(h, size, sizeof(pgpsDumpEntryV4),
											  sizeof(pgpsActivity),
											  sizeof(pgpsHistRowV5));
				else
					*problem = header_problem(h, size, sizeof(pgpsDumpEntryV3),
											  sizeof(pgpsActivityV3),
											  sizeof(pgpsHistRowV5));
			}
		}
		else if (format == PGPS_DUMP_FORMAT_1_0)
		{
			memcpy(&v2, data, sizeof(v2));
			*problem = header_problem_v2(&v2, size, h, history);
		}
		else
			*problem = "written in another format version";
	}
	if (*problem != NULL)
		return false;

	/* the header was checked against the file's size: the parts are in it */
	body->from_1_0 = (format == PGPS_DUMP_FORMAT_1_0);
	body->converted = (format != PGPS_DUMP_FORMAT);
	if (format == PGPS_DUMP_FORMAT)
	{
		body->entries = (pgpsDumpEntry *) (data + sizeof(pgpsDumpHeader));
		body->history = (pgpsHistoryDump *) (body->entries + h->nentries);
		body->buckets = (pgpsHistBucket *) (body->history + 1);
	}
	else
	{
		const char *old;
		size_t		old_size = format == PGPS_DUMP_FORMAT_1_3 ? sizeof(pgpsDumpEntryV5) :
			format == PGPS_DUMP_FORMAT_1_2 ? sizeof(pgpsDumpEntryV4) :
			sizeof(pgpsDumpEntryV3);

		if (format != PGPS_DUMP_FORMAT_1_0)
		{
			old = data + sizeof(pgpsDumpHeader);
			body->history = (pgpsHistoryDump *) (old + h->nentries * old_size);
			body->buckets = (pgpsHistBucket *) (body->history + 1);
		}
		else
		{
			old = data + sizeof(pgpsDumpHeaderV2);
			body->history = history;
			body->buckets = (pgpsHistBucket *)
				(old + h->nentries * sizeof(pgpsDumpEntryV3));
		}
		body->entries = convert_entries(old, h->nentries, old_size);
		body->rows = convert_rows((const char *) (body->buckets + h->nbuckets),
								  h->nrows);
		if (body->entries == NULL || body->rows == NULL)
		{
			*problem = "too large to read";
			return false;
		}
		return true;
	}
	body->rows = (pgpsHistRow *) (body->buckets + h->nbuckets);
	return true;
}

/*
 * Why the body of a file whose checksum matched cannot be loaded, or NULL:
 * times a view shows must be in range, and the history must hold together
 * (history.c checks it).
 */
static const char *
body_problem(const pgpsDumpHeader *h, const DumpBody *body)
{
	if (!valid_time(h->stats.stats_reset) || !valid_time(h->stats.last_sample))
		return "corrupt (times out of range)";
	return pgps_history_check(body->history, body->buckets, h->nbuckets,
							  h->nrows);
}

/*
 * A key from the file, rebuilt as the connection path builds keys: zeroed
 * padding, a terminated printable name, a known address family.  A key
 * that differs in a byte from a live one would never match it.
 */
static void
clean_key(pgpsKey *key)
{
	pgpsKey		clean;
	char		name[NAMEDATALEN];

	memset(&clean, 0, sizeof(clean));
	clean.dbid = key->dbid;
	clean.userid = key->userid;
	if (key->addr.family == PGSQL_AF_INET || key->addr.family == PGSQL_AF_INET6)
	{
		clean.addr.family = key->addr.family;
		memcpy(clean.addr.bytes, key->addr.bytes,
			   key->addr.family == PGSQL_AF_INET ? 4 : 16);
	}
	/* the file's name may lack its terminator */
	memcpy(name, key->appname, NAMEDATALEN);
	name[NAMEDATALEN - 1] = '\0';
	pgps_copy_appname(clean.appname, name);
	*key = clean;
}

/* Newest first, by last_seen */
static int
compare_last_seen(const void *a, const void *b)
{
	TimestampTz ta = ((const pgpsDumpEntry *) a)->last_seen;
	TimestampTz tb = ((const pgpsDumpEntry *) b)->last_seen;

	return (ta < tb) - (ta > tb);
}

/*
 * Put the file's contents into the (empty, fresh) shared memory: what fits.
 * Called in the postmaster at start, before any backend exists.
 */
static void
apply_dump(const pgpsDumpHeader *h, const DumpBody *body)
{
	int64		keep = Min(h->nentries, (int64) pgps_max_entries);
	int64		loaded = 0;
	int64		buckets;

	pgps_stats_restore(&h->stats);

	/* with a smaller table, the most recently seen keys */
	if (keep < h->nentries)
		qsort(body->entries, h->nentries, sizeof(pgpsDumpEntry),
			  compare_last_seen);
	for (int64 i = 0; i < keep; i++)
	{
		pgpsDumpEntry *e = &body->entries[i];

		clean_key(&e->key);

		/*
		 * 1.0 counted every sample with a session idle in a transaction, a
		 * moment between statements included; 1.1 counts only those idle
		 * for at least idle_in_transaction_threshold.  The old count is not
		 * that, so it is not carried over.
		 */
		if (body->from_1_0)
			e->activity.long_iit_samples = 0;
		if (pgps_entry_restore(&e->key, e->last_seen, &e->churn, &e->activity,
							   &e->bucket, &e->usage, &e->bucket_load))
			loaded++;
	}

	for (int64 r = 0; r < h->nrows; r++)
		clean_key(&body->rows[r].key);
	buckets = pgps_history_restore(body->history, body->buckets, h->nbuckets,
								   body->rows);

	ereport(LOG,
			(errmsg("pgpool_stats: loaded " INT64_FORMAT " of " INT64_FORMAT " keys and " INT64_FORMAT " of " INT64_FORMAT " history buckets from \"%s\"",
					loaded, h->nentries, buckets, h->nbuckets,
					PGPS_DUMP_FILE)));
}

/*
 * Read the file back, if there is one and the control file says the server
 * shut down cleanly, into freshly created shared memory; a file that cannot
 * be used, or one found after a crash, is removed.  Called in the
 * postmaster at start and after a crash.  Never throws: any problem leaves
 * the statistics empty, with a LOG line.
 */
static void
load_statistics(void)
{
	struct stat st;
	FILE	   *file = NULL;
	char	   *data = NULL;
	size_t		size;
	pgpsDumpHeader header;
	pgpsHistoryDump history;
	DumpBody	body = {0};
	pg_crc32c	crc;
	pg_crc32c	stored;
	const char *problem = NULL;

	/* one read at a start that never shut down cleanly: stale */
	unlink(PGPS_LOADED_FILE);
	if (stat(PGPS_DUMP_FILE, &st) != 0)
		return;					/* no file: a first start */
	if (!pgps_save)
		goto done;
	if (!shut_down_cleanly())
	{
		/* written before a crash or an immediate stop: stale */
		problem = "the server did not shut down cleanly since it was written";
		goto done;
	}

	size = (size_t) st.st_size;
	file = AllocateFile(PGPS_DUMP_FILE, PG_BINARY_R);
	if (file == NULL)
		problem = "could not be opened";
	else if ((data = MemoryContextAllocExtended(TopMemoryContext, Max(size, 1),
												MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM)) == NULL)
		problem = "too large to read";
	else if (fread(data, 1, size, file) != size)
		problem = "truncated";
	else if (split_file(data, size, &header, &history, &body, &problem))
	{
		INIT_CRC32C(crc);
		COMP_CRC32C(crc, data, size - sizeof(crc));
		FIN_CRC32C(crc);
		memcpy(&stored, data + size - sizeof(crc), sizeof(crc));
		if (!EQ_CRC32C(crc, stored))
			problem = "corrupt (checksum mismatch)";
		else
			problem = body_problem(&header, &body);
	}

done:
	if (file)
		FreeFile(file);
	/*
	 * Applied, it is kept under another name, never read at a start: the
	 * next clean shutdown removes it once its new file is written, or puts
	 * it back if that write fails.  Anything else goes.
	 */
	if (problem != NULL || data == NULL)
		unlink(PGPS_DUMP_FILE);
	else if (durable_rename(PGPS_DUMP_FILE, PGPS_LOADED_FILE, LOG) != 0)
		unlink(PGPS_DUMP_FILE);

	if (problem != NULL)
		ereport(LOG,
				(errmsg("pgpool_stats: statistics file \"%s\" ignored: %s; starting empty",
						PGPS_DUMP_FILE, problem)));
	else if (data != NULL)
		apply_dump(&header, &body);
	if (data)
		pfree(data);
	if (body.converted && body.entries != NULL)
		pfree(body.entries);
	if (body.converted && body.rows != NULL)
		pfree(body.rows);
}

/*
 * At each creation of shared memory in the postmaster: load the saved
 * statistics and arrange for them to be saved at shutdown.  After a crash
 * the shared memory is created again, and the control file no longer says
 * the server shut down cleanly: the file is removed, not read.
 */
void
pgps_persist_startup(void)
{
	if (IsUnderPostmaster)
		return;
	load_statistics();
	on_shmem_exit(dump_statistics, (Datum) 0);
}
