# The bounded history: buckets of history_interval hold the right maxima and
# connection counts, and the oldest goes when history_size is reached.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = pgps_node('history', conf => "pgpool_stats.history_interval = '1s'\n"
	  . "pgpool_stats.history_size = 4\npgpool_stats.sample_interval = '50ms'");
my $mon = bg_session($node, 'monitor');

# An application whose one session only ever sits idle (psql sends nothing
# until asked), so its trend is known exactly.
my $idler = bg_session($node, 'idler');

# 5 sessions of one application, 2 of them active, 1 idle in transaction.
my @idle = map { bg_session($node, 'hist') } 1 .. 2;
my $in_xact = bg_session($node, 'hist');
$in_xact->query_safe('BEGIN; SELECT 1');
my @active = map { bg_session($node, 'hist', on_error_stop => 0) } 1 .. 2;
bg_start($_, 'SELECT pg_sleep(600);') for @active;
ok( poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity
	 WHERE application_name = 'hist' AND state = 'active'}, '2'),
	'sessions are in their states');

# A bucket that began after all that holds exactly these maxima and averages.
my $since = $mon->query_safe('SELECT now()');
ok( poll_bg($mon, qq{
	SELECT total_max || '|' || active_max || '|' || idle_in_transaction_max
		   || '|' || total_avg || '|' || active_avg || '|' || (samples > 0)
	  FROM pgpool_stats_history
	 WHERE application_name = 'hist' AND bucket_start > '$since'
	 ORDER BY bucket_start LIMIT 1}, '5|2|1|5|2|true'),
	'a full bucket: max and average of total 5, active 2, idle in transaction 1');

# Connections made in a bucket are counted in it.
my $burst_since = $mon->query_safe('SELECT now()');
run_psql($node, 'dbname=postgres application_name=burst', 'SELECT 1') for 1 .. 5;
ok( poll_bg($mon, q{
	SELECT sum(connections) || '|' || sum(disconnections) FROM pgpool_stats_history
	 WHERE application_name = 'burst'}, '5|5'),
	'five connections and disconnections of a burst are in the history');

# At most history_size buckets; the oldest goes.
ok( poll_bg($mon, 'SELECT history_buckets FROM pgpool_stats_info', '4'),
	'the history fills up to history_size buckets');
my $oldest = $mon->query_safe('SELECT min(bucket_start) FROM pgpool_stats_history');
ok( poll_bg($mon, "SELECT min(bucket_start) > '$oldest' FROM pgpool_stats_history", 't'),
	'then the oldest bucket goes');
is( $mon->query_safe(q{
	SELECT count(DISTINCT bucket_start) <= 4 AND max(bucket_end) <= now()
	  FROM pgpool_stats_history}),
	't', 'never more than history_size buckets, all closed');
is($mon->query_safe('SELECT history_buckets, history_rows_lost FROM pgpool_stats_info'),
	'4|0', 'no row was lost');

# The sparkline: a full block (UTF-8 bytes) for each bucket at the maximum.
is( $mon->query_safe(
		"SELECT active_trend FROM pgpool_stats_activity WHERE application_name = 'hist'"),
	"\xe2\x96\x88" x 4,
	'active_trend: four buckets, all at the maximum of 2 active');
is( $mon->query_safe(
		"SELECT active_trend FROM pgpool_stats_activity WHERE application_name = 'idler'"),
	"\xe2\x96\x81" x 4,
	'active_trend of an application never seen active: four lowest blocks');
is( $mon->query_safe(
		"SELECT total_trend FROM pgpool_stats_activity WHERE application_name = 'idler'"),
	"\xe2\x96\x88" x 4,
	'total_trend of its one connection, open in every bucket: four full blocks');

# A client that cannot receive the block characters gets the ASCII ramp,
# never "has no equivalent in encoding"; also when a parallel worker runs
# the function (it sends in the database encoding, the leader converts).
my $parallel = $node->pg_version >= 16 ? 'debug_parallel_query' : 'force_parallel_mode';
for my $enc (qw(LATIN1 WIN1252 LATIN9 WIN1251 KOI8R SJIS EUC_JP))
{
	for my $mode ('off', 'on')
	{
		my ($ret, $out, $err) = $node->psql('postgres', qq{
			SET client_encoding = '$enc';
			SET $parallel = $mode;
			SELECT active_trend || '|' || total_trend FROM pgpool_stats_activity
			 WHERE application_name IN ('hist', 'idler') ORDER BY application_name});
		is("$ret|$out|$err", "0|####|####\n____|####|", "$enc client, $parallel $mode: the ASCII ramp");
	}
}
# and a UTF-8 client gets the blocks from a parallel worker too
is( $mon->query_safe(qq{
	SET $parallel = on;
	SELECT active_trend FROM pgpool_stats_activity WHERE application_name = 'hist';
	RESET $parallel}),
	"\xe2\x96\x88" x 4, "UTF8 client, $parallel on: the blocks");

# A reset in the middle of a bucket ends it: the buckets after it count
# their samples and their sums together, so 5 open connections average 5.
$mon->query_safe('SELECT pgpool_stats_reset()');
ok( poll_bg($mon, "SELECT count(*) >= 3 FROM pgpool_stats_history WHERE application_name = 'hist'",
		't'),
	'buckets after a reset');
is( $mon->query_safe(q{
	SELECT bool_and(total_avg = 5 AND total_max = 5) FROM pgpool_stats_history
	 WHERE application_name = 'hist'}),
	't', 'every bucket since the reset averages the 5 open connections');

# A shorter history_interval takes effect within one new interval, even
# after an hour-long bucket has begun.
$mon->query_safe(q{ALTER SYSTEM SET pgpool_stats.history_interval = '1h'});
$mon->query_safe('SELECT pg_reload_conf()');
my $long_since = $mon->query_safe('SELECT now()');
ok( poll_bg($mon, qq{SELECT count(*) > 0 FROM pgpool_stats_history WHERE bucket_end > '$long_since'},
		't'),
	'the 1 s bucket being filled closed');
# the worker now fills a bucket of an hour; two samples later it surely uses it
my $taken = $mon->query_safe('SELECT samples_taken FROM pgpool_stats_info');
ok(poll_bg($mon, "SELECT samples_taken > $taken + 2 FROM pgpool_stats_info", 't'),
	'the worker samples on');
$mon->query_safe(q{ALTER SYSTEM SET pgpool_stats.history_interval = '1s'});
$mon->query_safe('SELECT pg_reload_conf()');
my $short_since = $mon->query_safe('SELECT now()');
my $t0 = time;
ok( poll_bg($mon, qq{
	SELECT count(*) > 0 FROM pgpool_stats_history
	 WHERE bucket_end > '$short_since' AND bucket_end - bucket_start > interval '2 s'
	   AND extract(epoch FROM bucket_start)::bigint % 3600 = 0}, 't'),
	'back to 1 s: the bucket of the hour closed');
cmp_ok(time - $t0, '<=', 10, 'within seconds, not an hour');
$mon->query_safe('ALTER SYSTEM RESET pgpool_stats.history_interval');
$mon->query_safe('SELECT pg_reload_conf()');

$mon->query_safe(q{
	SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	 WHERE application_name = 'hist' AND state = 'active'});
$_->quit for (@idle, $in_xact, @active, $idler);

# Connections made after a reset and before the next sample are in the
# first bucket: the worker samples once an hour now, the samples are taken
# here.
$mon->query_safe(q{ALTER SYSTEM SET pgpool_stats.sample_interval = '1h'});
$mon->query_safe('SELECT pg_reload_conf()');
# (the worker samples once as it takes the new interval: two reads 0.3 s
# apart that agree say it is done)
my $quiet = 0;
for (1 .. 100)
{
	my $before = $mon->query_safe('SELECT samples_taken FROM pgpool_stats_info');
	usleep(300_000);
	last if $quiet = ($mon->query_safe('SELECT samples_taken FROM pgpool_stats_info') == $before);
}
ok($quiet, 'the worker no longer samples every 50 ms');
$mon->query_safe('SELECT pgpool_stats_reset()');
run_psql($node, 'dbname=postgres application_name=early', 'SELECT 1') for 1 .. 3;
ok( poll_bg($mon, q{
	SELECT pgpool_stats_sample() >= 0,
		   (SELECT sum(connections) || '|' || sum(disconnections) FROM pgpool_stats_history
			 WHERE application_name = 'early')}, 't|3|3'),
	'three connections before the first sample since the reset: in the first bucket');
$mon->quit;
$node->stop;
done_testing();
