/*-------------------------------------------------------------------------
 *
 * persist.c
 *		Statistics across clean restarts: the postmaster writes them to a
 *		file when the server shuts down cleanly and reads them back (and
 *		removes the file) when it starts.
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
 * a dying backend may have left half-updated never come back.
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

#define PGPS_DUMP_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/pgpool_stats.stat"
#define PGPS_DUMP_MAGIC		0x50475053	/* "PGPS" */
#define PGPS_DUMP_FORMAT	2

typedef struct pgpsDumpHeader
{
	uint32		magic;
	uint32		format;
	uint32		pg_major;		/* PG_VERSION_NUM / 100 */
	uint32		key_size;		/* sizes of what follows */
	uint32		churn_size;
	uint32		activity_size;
	uint32		bucket_size;
	uint32		row_size;
	uint32		hist_buckets;	/* histogram layouts */
	uint32		count_buckets;
	int64		nentries;
	int64		nbuckets;
	int64		nrows;
	/* the global figures */
	TimestampTz stats_reset;
	int64		evicted;
	int64		dropped;
	int64		samples_taken;
	int64		rows_lost;
	int32		peak_sessions;
	TimestampTz last_sample;
	double		total_sample_us;
	double		max_sample_us;
	/* the bucket being filled, whose sums the keys carry */
	TimestampTz cur_bucket_start;
	TimestampTz cur_bucket_end;
	int64		cur_bucket_samples;
} pgpsDumpHeader;

/* What one key contributes to the file */
typedef struct pgpsDumpEntry
{
	pgpsKey		key;
	TimestampTz last_seen;
	pgpsChurn	churn;
	pgpsActivity activity;
} pgpsDumpEntry;

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
write_crc(FILE *file, const void *data, size_t len, pg_crc32c *crc)
{
	COMP_CRC32C(*crc, data, len);
	return fwrite(data, 1, len, file) == len;
}

/*
 * on_shmem_exit callback of the postmaster: write the statistics if the
 * server shut down cleanly and pgpool_stats.save is on.  Never throws.
 */
static void
dump_statistics(int code, Datum arg)
{
	FILE	   *file;
	pgpsDumpHeader header;
	pg_crc32c	crc;
	HASH_SEQ_STATUS status;
	pgpsEntry  *entry;
	int64		b;
	bool		ok = true;

	/*
	 * The exit code does not matter: a postmaster that loaded the file and
	 * then failed to start exits with 1, and must write the statistics back
	 * (the control file still says "shut down").
	 */
	if (!pgps_save || pgps_state == NULL)
		return;
	if (!shut_down_cleanly())
	{
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
	header.key_size = sizeof(pgpsKey);
	header.churn_size = sizeof(pgpsChurn);
	header.activity_size = sizeof(pgpsActivity);
	header.bucket_size = sizeof(pgpsHistBucket);
	header.row_size = sizeof(pgpsHistRow);
	header.hist_buckets = PGPS_HIST_BUCKETS;
	header.count_buckets = PGPS_COUNT_BUCKETS;
	header.nentries = hash_get_num_entries(pgps_entry_hash());
	header.nbuckets = pgps_state->bucket_head - pgps_state->bucket_tail;
	header.nrows = pgps_state->row_head - pgps_state->row_tail;
	header.stats_reset = pgps_state->stats_reset;
	header.evicted = pgps_state->evicted;
	header.dropped = pgps_state->dropped;
	header.samples_taken = pgps_state->samples_taken;
	header.rows_lost = pgps_state->rows_lost;
	header.peak_sessions = pgps_state->peak_sessions;
	header.last_sample = pgps_state->last_sample;
	header.total_sample_us = pgps_state->total_sample_us;
	header.max_sample_us = pgps_state->max_sample_us;
	header.cur_bucket_start = pgps_state->cur_bucket_start;
	header.cur_bucket_end = pgps_state->cur_bucket_end;
	header.cur_bucket_samples = pgps_state->cur_bucket_samples;

	INIT_CRC32C(crc);
	ok = write_crc(file, &header, sizeof(header), &crc);

	/* every process but the postmaster is gone: no lock is needed */
	hash_seq_init(&status, pgps_entry_hash());
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		pgpsDumpEntry out;

		memset(&out, 0, sizeof(out));
		out.key = entry->key;
		out.last_seen = entry->last_seen;
		out.churn = entry->churn;
		out.activity = entry->activity;
		if (ok)
			ok = write_crc(file, &out, sizeof(out), &crc);
	}
	for (b = pgps_state->bucket_tail; ok && b < pgps_state->bucket_head; b++)
	{
		pgpsHistBucket bucket = pgps_state->buckets[b % pgps_history_size];

		bucket.first_row -= pgps_state->row_tail;
		ok = write_crc(file, &bucket, sizeof(bucket), &crc);
	}
	for (b = pgps_state->row_tail; ok && b < pgps_state->row_head; b++)
		ok = write_crc(file, &pgps_state->rows[b % pgps_history_rows],
					   sizeof(pgpsHistRow), &crc);
	FIN_CRC32C(crc);
	if (ok)
		ok = fwrite(&crc, 1, sizeof(crc), file) == sizeof(crc);

	if (!ok || FreeFile(file) != 0)
	{
		if (ok)
			file = NULL;		/* FreeFile failed: already closed */
		goto error;
	}
	/* fsyncs the file and the directory: the rename survives a crash */
	if (durable_rename(PGPS_DUMP_FILE ".tmp", PGPS_DUMP_FILE, LOG) != 0)
		goto error_unlink;
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("pgpool_stats: could not write statistics file \"%s\": %m",
					PGPS_DUMP_FILE ".tmp")));
	if (file)
		FreeFile(file);
error_unlink:
	unlink(PGPS_DUMP_FILE ".tmp");
}

/* Why a file cannot be loaded, or NULL if its header is ours */
static const char *
header_problem(const pgpsDumpHeader *h, size_t file_size)
{
	uint64		expected;

	if (h->magic != PGPS_DUMP_MAGIC)
		return "not a pgpool_stats statistics file";
	if (h->format != PGPS_DUMP_FORMAT)
		return "written in another format version";
	if (h->pg_major != PG_VERSION_NUM / 100)
		return "written by another PostgreSQL major version";
	if (h->key_size != sizeof(pgpsKey) || h->churn_size != sizeof(pgpsChurn) ||
		h->activity_size != sizeof(pgpsActivity) ||
		h->bucket_size != sizeof(pgpsHistBucket) ||
		h->row_size != sizeof(pgpsHistRow) ||
		h->hist_buckets != PGPS_HIST_BUCKETS ||
		h->count_buckets != PGPS_COUNT_BUCKETS)
		return "written by a build with another layout";
	if (h->nentries < 0 || h->nbuckets < 0 || h->nrows < 0 ||
		h->nentries > PG_INT32_MAX || h->nbuckets > PG_INT32_MAX ||
		h->nrows > PG_INT32_MAX)
		return "corrupt header";
	expected = sizeof(pgpsDumpHeader) + h->nentries * sizeof(pgpsDumpEntry) +
		h->nbuckets * sizeof(pgpsHistBucket) + h->nrows * sizeof(pgpsHistRow) +
		sizeof(pg_crc32c);
	if (expected != file_size)
		return "truncated or of the wrong size";
	return NULL;
}

/* A time the file may hold: 0 (none) or a valid timestamp */
static bool
valid_time(TimestampTz t)
{
	return t == 0 || (t > 0 && IS_VALID_TIMESTAMP(t));
}

/* A bucket's span: none (both 0), or from start to end within a day */
static bool
valid_span(TimestampTz start, TimestampTz end)
{
	if (start == 0 && end == 0)
		return true;
	return start > 0 && valid_time(end) && start <= end &&
		end - start <= (int64) PGPS_MAX_HISTORY_INTERVAL_S * USECS_PER_SEC;
}

/*
 * Why the body of a file whose checksum matched cannot be loaded, or NULL.
 * Its buckets must cover its rows in order, as the writer lays them out:
 * an index out of range would otherwise be followed into memory.
 */
static const char *
body_problem(const pgpsDumpHeader *h, const char *data)
{
	const pgpsHistBucket *buckets = (const pgpsHistBucket *)
		(data + h->nentries * sizeof(pgpsDumpEntry));
	int64		next_row = 0;
	int64		b;

	/*
	 * Times a view shows or the sampler compares: in range, and a bucket
	 * being filled no longer than the longest history_interval (one that
	 * never ends would never close).
	 */
	if (!valid_time(h->stats_reset) || !valid_time(h->last_sample) ||
		!valid_span(h->cur_bucket_start, h->cur_bucket_end))
		return "corrupt (times out of range)";
	for (b = 0; b < h->nbuckets; b++)
	{
		if (!valid_span(buckets[b].start, buckets[b].end) || buckets[b].samples < 0)
			return "corrupt (history times out of range)";
		if (buckets[b].nrows < 0 || buckets[b].first_row != next_row)
			return "corrupt (history rows out of order)";
		next_row += buckets[b].nrows;
		if (next_row > h->nrows)
			return "corrupt (history rows out of range)";
	}
	if (next_row != h->nrows)
		return "corrupt (history rows out of range)";
	return NULL;
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
apply_dump(const pgpsDumpHeader *h, char *data)
{
	pgpsDumpEntry *entries = (pgpsDumpEntry *) data;
	pgpsHistBucket *buckets = (pgpsHistBucket *) (entries + h->nentries);
	pgpsHistRow *rows = (pgpsHistRow *) (buckets + h->nbuckets);
	int64		keep = Min(h->nentries, (int64) pgps_max_entries);
	int64		loaded = 0;
	int64		first_bucket;
	int64		nrows_kept = 0;
	int64		b;
	int64		i;

	pgps_state->stats_reset = h->stats_reset;
	pgps_state->evicted = h->evicted;
	pgps_state->dropped = h->dropped;
	pgps_state->samples_taken = h->samples_taken;
	pgps_state->rows_lost = h->rows_lost;
	pgps_state->peak_sessions = h->peak_sessions;
	pgps_state->last_sample = h->last_sample;
	pgps_state->total_sample_us = h->total_sample_us;
	pgps_state->max_sample_us = h->max_sample_us;

	/*
	 * The bucket being filled at shutdown goes on filling, and the first
	 * sample past its end closes it, as if there had been no restart.
	 */
	pgps_state->cur_bucket_start = h->cur_bucket_start;
	pgps_state->cur_bucket_end = h->cur_bucket_end;
	pgps_state->cur_bucket_samples = h->cur_bucket_samples;

	/* with a smaller table, the most recently seen keys */
	if (keep < h->nentries)
		qsort(entries, h->nentries, sizeof(pgpsDumpEntry), compare_last_seen);
	for (i = 0; i < keep; i++)
	{
		bool		found;
		pgpsEntry  *entry;

		clean_key(&entries[i].key);
		entry = hash_search(pgps_entry_hash(), &entries[i].key,
							HASH_ENTER_NULL, &found);
		if (entry == NULL || found)
			continue;
		memset((char *) entry + sizeof(pgpsKey), 0,
			   sizeof(pgpsEntry) - sizeof(pgpsKey));
		SpinLockInit(&entry->mutex);
		entry->last_seen = entries[i].last_seen;
		entry->churn = entries[i].churn;
		entry->activity = entries[i].activity;
		/* no session survives a restart */
		entry->churn.open_connections = 0;
		loaded++;
	}

	/* the newest buckets that fit both rings */
	first_bucket = Max(h->nbuckets - pgps_history_size, 0);
	for (b = h->nbuckets - 1; b >= first_bucket; b--)
	{
		if (nrows_kept + buckets[b].nrows > pgps_history_rows)
		{
			first_bucket = b + 1;
			break;
		}
		nrows_kept += buckets[b].nrows;
	}
	for (b = first_bucket; b < h->nbuckets; b++)
	{
		pgpsHistBucket *dst = &pgps_state->buckets[pgps_state->bucket_head % pgps_history_size];
		int32		r;

		*dst = buckets[b];
		dst->first_row = pgps_state->row_head;
		for (r = 0; r < buckets[b].nrows; r++)
		{
			pgpsHistRow *row = &pgps_state->rows[pgps_state->row_head++ % pgps_history_rows];

			*row = rows[buckets[b].first_row + r];
			clean_key(&row->key);
		}
		pgps_state->bucket_head++;
	}

	ereport(LOG,
			(errmsg("pgpool_stats: loaded " INT64_FORMAT " of " INT64_FORMAT " keys and " INT64_FORMAT " of " INT64_FORMAT " history buckets from \"%s\"",
					loaded, h->nentries, h->nbuckets - first_bucket, h->nbuckets,
					PGPS_DUMP_FILE)));
}

/*
 * Read the file back, if there is one, into freshly created shared memory,
 * then remove it.  Called in the postmaster at start.  Never throws: any
 * problem leaves the statistics empty, with a LOG line.
 */
static void
load_statistics(void)
{
	struct stat st;
	FILE	   *file = NULL;
	char	   *data = NULL;
	pgpsDumpHeader header;
	pg_crc32c	crc;
	pg_crc32c	stored;
	size_t		body;
	const char *problem = NULL;

	if (stat(PGPS_DUMP_FILE, &st) != 0)
		return;					/* no file: a first start, or after a crash */
	if (!pgps_save)
		goto done;

	file = AllocateFile(PGPS_DUMP_FILE, PG_BINARY_R);
	if (file == NULL)
		problem = "could not be opened";
	else if ((size_t) st.st_size < sizeof(header) + sizeof(crc) ||
			 fread(&header, 1, sizeof(header), file) != sizeof(header))
		problem = "truncated";
	else
		problem = header_problem(&header, (size_t) st.st_size);

	if (problem == NULL)
	{
		body = st.st_size - sizeof(header) - sizeof(crc);
		data = MemoryContextAllocExtended(TopMemoryContext, Max(body, 1),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (data == NULL)
			problem = "too large to read";
		else if (fread(data, 1, body, file) != body ||
				 fread(&stored, 1, sizeof(stored), file) != sizeof(stored))
			problem = "truncated";
		else
		{
			INIT_CRC32C(crc);
			COMP_CRC32C(crc, &header, sizeof(header));
			COMP_CRC32C(crc, data, body);
			FIN_CRC32C(crc);
			if (!EQ_CRC32C(crc, stored))
				problem = "corrupt (checksum mismatch)";
			else
				problem = body_problem(&header, data);
		}
	}

done:
	if (file)
		FreeFile(file);
	/* gone before it is applied: whatever happens next, it is read once */
	unlink(PGPS_DUMP_FILE);

	if (problem != NULL)
		ereport(LOG,
				(errmsg("pgpool_stats: statistics file \"%s\" ignored: %s; starting empty",
						PGPS_DUMP_FILE, problem)));
	else if (data != NULL)
		apply_dump(&header, data);
	if (data)
		pfree(data);
}

/*
 * At the first creation of shared memory in the postmaster: load the saved
 * statistics and arrange for them to be saved at shutdown.  After a crash
 * the shared memory is created again, but the file is gone.
 */
void
pgps_persist_startup(void)
{
	if (IsUnderPostmaster)
		return;
	load_statistics();
	on_shmem_exit(dump_statistics, (Datum) 0);
}
