# The sampler: exact state counts per key on demand, the worker sampling on
# its own, reloading its interval, and coming back after SIGTERM with the
# statistics intact.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('sampler');
$node->safe_psql('postgres', 'CREATE TABLE locked (i int)');
my $mon = bg_session($node, 'monitor');

# Under one application_name: 3 idle, 2 idle in transaction, 4 active.
my @idle = map { bg_session($node, 'states') } 1 .. 3;
my @in_xact = map { bg_session($node, 'states') } 1 .. 2;
$_->query_safe('BEGIN; SELECT 1') for @in_xact;
my @active = map { bg_session($node, 'states', on_error_stop => 0) } 1 .. 4;
bg_start($_, 'SELECT pg_sleep(600);') for @active;

# One session holding a lock while idle in its transaction, two waiting for
# it, one in an aborted transaction.
my $locker = bg_session($node, 'locker');
$locker->query_safe('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
my @waiters = map { bg_session($node, 'waiter', on_error_stop => 0) } 1 .. 2;
bg_start($_, 'SELECT count(*) FROM locked;') for @waiters;
my $aborted = bg_session($node, 'aborted', on_error_stop => 0);
$aborted->query('BEGIN');
$aborted->query('SELECT 1/0');

ok( poll_bg($mon, q{
	SELECT count(*) FILTER (WHERE application_name = 'states' AND state = 'active')
		   || '|' ||
		   count(*) FILTER (WHERE application_name = 'waiter' AND wait_event_type = 'Lock')
	  FROM pg_stat_activity}, '4|2'),
	'sessions are in their states');

my $cols = 'total, active, idle, idle_in_transaction, idle_in_transaction_aborted, waiting';
my $row = sub {
	my ($app) = @_;
	return $mon->query_safe(
		"SELECT $cols FROM pgpool_stats_activity WHERE application_name = '$app'");
};
my $seen = $mon->query_safe('SELECT pgpool_stats_sample()');
is($seen, 3 + 2 + 4 + 1 + 2 + 1 + 1, 'the sample saw every client session, the monitor included');
is($row->('states'), '9|4|3|2|0|0', 'states: 4 active, 3 idle, 2 idle in transaction');
is($row->('locker'), '1|0|0|1|0|0', 'locker: idle in transaction');
is($row->('waiter'), '2|2|0|0|0|2', 'waiters: active and waiting on a lock');
is($row->('aborted'), '1|0|0|0|1|0', 'aborted: idle in transaction (aborted)');
is( $mon->query_safe(q{
	SELECT count(*) FROM pgpool_stats_activity a
	  JOIN pgpool_stats_connections c USING (datname, usename, application_name)
	 WHERE a.total <> c.open_connections
	   AND a.application_name IN ('states', 'locker', 'waiter', 'aborted')}),
	'0', 'each key\'s sampled total equals its open_connections');
is( $mon->query_safe(q{
	SELECT total_max, active_max, active_p95 <= active_max, active_p99 <= active_max,
	       idle_in_transaction_max_s > 0
	  FROM pgpool_stats_activity WHERE application_name = 'states'}),
	'9|4|t|t|t', 'states: peaks, percentiles and the idle-in-transaction time');

# The sessions end (the busy ones cancelled first): the next sample counts
# nothing for them.
$mon->query_safe(q{
	SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	 WHERE application_name IN ('states', 'waiter') AND state = 'active'});
$_->quit for (@idle, @in_xact, @active, $locker, @waiters, $aborted);
ok( poll_bg($mon, q{
	SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections
	 WHERE application_name IN ('states', 'locker', 'waiter', 'aborted')}, '0'),
	'the sessions ended');
$mon->query_safe('SELECT pgpool_stats_sample()');
is($row->('states'), '0|0|0|0|0|0', 'a key without sessions samples as zero');

# The worker samples on its own.
my $taken = $mon->query_safe('SELECT samples_taken FROM pgpool_stats_info');
ok(poll_bg($mon, "SELECT samples_taken > $taken + 5 FROM pgpool_stats_info", 't'),
	'the worker takes samples by itself');

# It reloads its interval on SIGHUP.
$node->safe_psql('postgres',
	"ALTER SYSTEM SET pgpool_stats.sample_interval = '250ms'; SELECT pg_reload_conf()");
ok(poll_bg($mon, 'SELECT sample_interval_ms FROM pgpool_stats_info', '250'),
	'the worker reloaded sample_interval');

# SIGTERM (pg_terminate_backend, then kill): it comes back, statistics intact.
my $before = $mon->query_safe(
	"SELECT connections || '|' || samples FROM pgpool_stats_connections "
	  . "JOIN pgpool_stats_activity USING (datname, usename, application_name) "
	  . "WHERE application_name = 'states'");
my ($conns_before, $samples_before) = split /\|/, $before;
for my $how ('pg_terminate_backend', 'SIGTERM')
{
	my $pid = $mon->query_safe('SELECT worker_pid FROM pgpool_stats_info');
	if ($how eq 'SIGTERM') { kill 'TERM', $pid; }
	else { $mon->query_safe("SELECT pg_terminate_backend($pid)"); }
	ok( poll_bg($mon,
			"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM pgpool_stats_info", 't'),
		"$how: the worker came back");
	my $taken_now = $mon->query_safe('SELECT samples_taken FROM pgpool_stats_info');
	ok(poll_bg($mon, "SELECT samples_taken > $taken_now FROM pgpool_stats_info", 't'),
		"$how: and samples again");
}
is( $mon->query_safe(q{
	SELECT c.connections || '|' || (a.samples >= } . $samples_before . q{)
	  FROM pgpool_stats_connections c
	  JOIN pgpool_stats_activity a USING (datname, usename, application_name)
	 WHERE application_name = 'states'}),
	"$conns_before|true", 'statistics survived the worker restarts');
ok(!$node->log_contains('server process .* was terminated by signal'),
	'no crash in the server log');
ok($node->log_contains('pgpool_stats collector stopping on SIGTERM from process \d+'),
	'a terminated worker says so at LOG');

# A clean shutdown ends the worker quietly: no FATAL for FATAL-based
# alerting to flag, and a clean exit (0) in the postmaster's accounts.
$mon->quit;
# the monitor's backend gone first (a busy machine lets it linger, and a
# fast stop would end it with a FATAL of its own)
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'monitor'})
  or die 'the monitor session did not end';
my $log_offset = -s $node->logfile;
$node->stop('fast');
my $shutdown_log = PostgreSQL::Test::Utils::slurp_file($node->logfile, $log_offset);
unlike($shutdown_log, qr/FATAL/, 'a clean shutdown logs no FATAL');
like($shutdown_log, qr/database system is shut down/, 'the shutdown completed');
unlike($shutdown_log, qr/collector.*exited with exit code/, 'the worker exited with code 0');
done_testing();
