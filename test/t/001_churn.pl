# Exact connection churn: pgbench makes a known number of connections, and
# pgpool_stats must count exactly that many, in agreement with
# pg_stat_database.sessions.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('churn');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ],
	'pgbench tables created');

# Every read goes through this one session, so reading changes nothing.
my $mon = bg_session($node, 'monitor');
$mon->query_safe('SET stats_fetch_consistency = none');
# the monitor's own session reaches pg_stat_database at its next idle
$mon->query_safe('SELECT pg_stat_force_next_flush()');

my $both = q{
	SELECT (SELECT sum(connections) FROM pgpool_stats_connections
			 WHERE datname = 'postgres')
		   || '|' ||
		   (SELECT sessions FROM pg_stat_database WHERE datname = 'postgres')};
my ($ours0, $theirs0) = split /\|/, $mon->query_safe($both);

# pgbench -C opens one connection per transaction, plus one at start to read
# the scale: 1 + clients x transactions.
my ($clients, $per_client) = (4, 25);
my $expected = 1 + $clients * $per_client;
{
	local $ENV{PGAPPNAME} = 'churny';
	$node->command_ok(
		[ 'pgbench', '-n', '-C', '-S', '-c', $clients, '-j', '2',
		  '-t', $per_client, 'postgres' ],
		'connect-per-transaction pgbench ran');
}
# Under load: 20 concurrent clients opening and closing connections.
my ($crowd_clients, $crowd_per_client) = (20, 10);
my $crowd = 1 + $crowd_clients * $crowd_per_client;
{
	local $ENV{PGAPPNAME} = 'crowd';
	$node->command_ok(
		[ 'pgbench', '-n', '-C', '-S', '-c', $crowd_clients, '-j', '2',
		  '-t', $crowd_per_client, 'postgres' ],
		'20 concurrent connect-per-transaction clients ran');
}
# Pooled: one connection per client, plus the one at start.
{
	local $ENV{PGAPPNAME} = 'pooled';
	$node->command_ok(
		[ 'pgbench', '-n', '-S', '-c', '3', '-j', '1', '-t', '200', 'postgres' ],
		'pooled pgbench ran');
}

# Backends exit a moment after their clients: wait until all are gone.
ok( poll_bg($mon,
		"SELECT sum(open_connections) FROM pgpool_stats_connections "
		  . "WHERE application_name IN ('churny', 'crowd', 'pooled')", '0'),
	'all pgbench sessions ended');

is( churn_row($mon, 'churny',
		'connections, disconnections, open_connections, auth_failures, login_failures'),
	"$expected|$expected|0|0|0",
	"churny: exactly $expected connections and disconnections");
is( churn_row($mon, 'crowd',
		'connections, disconnections, open_connections, auth_failures, login_failures'),
	"$crowd|$crowd|0|0|0",
	"crowd: exactly $crowd connections and disconnections under 20 concurrent clients");
is(churn_row($mon, 'pooled', 'connections, disconnections'),
	'4|4', 'pooled: exactly 4 connections');

is( churn_row($mon, 'churny',
		'short_sessions = connections, session_p50_ms < 1000, '
		  . 'session_p50_ms <= session_p95_ms, session_p95_ms <= session_max_ms, '
		  . 'session_avg_ms > 0, setup_avg_ms > 0, connects_per_sec > 0'),
	't|t|t|t|t|t|t',
	'churny: lifetimes and setup time are sane');

# pg_stat_database counts a session when its backend flushes, at exit at the
# latest: poll until the growth of both agrees (it must, exactly).
my $delta = qq{
	SELECT (SELECT sum(connections) FROM pgpool_stats_connections
			 WHERE datname = 'postgres') - $ours0
		   = (SELECT sessions FROM pg_stat_database
			 WHERE datname = 'postgres') - $theirs0};
ok(poll_bg($mon, $delta, 't'),
	'growth of connections in postgres equals pg_stat_database.sessions growth');
my ($ours1) = split /\|/, $mon->query_safe($both);
is($ours1 - $ours0, $expected + $crowd + 4, 'and it is what pgbench made');

$mon->quit;
$node->stop;
done_testing();
