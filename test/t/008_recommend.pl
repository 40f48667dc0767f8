# Each verdict reproduced by a real workload, and the server row near its
# connection limit.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

# The worker samples every 10 ms: a rate-limited pgbench of a few seconds
# gives the rules their 600 samples.  Sessions in fixed states get theirs
# from on-demand samples.
my $node = pgps_node('recommend', conf => "pgpool_stats.sample_interval = '10ms'\n"
	  . "max_connections = 60");
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
my $mon = bg_session($node, 'monitor');
my $sample600 = 'SELECT count(pgpool_stats_sample()) FROM generate_series(1, 600)';
my $verdict = sub {
	my ($app) = @_;
	return $mon->query_safe(
		"SELECT verdict FROM pgpool_stats_recommendations WHERE application_name = '$app'");
};

# insufficient_data: a fresh application, read at once.
my $fresh = bg_session($node, 'fresh');
like($mon->query_safe(
		"SELECT verdict || ': ' || reason FROM pgpool_stats_recommendations WHERE application_name = 'fresh'"),
	qr/^insufficient_data: only \d+ samples so far/, 'a fresh application: insufficient_data');
$fresh->quit;

# no_pooling: a connection per transaction.
{
	local $ENV{PGAPPNAME} = 'churner';
	$node->command_ok([ 'pgbench', '-n', '-C', '-S', '-c', '2', '-j', '2', '-t', '40', 'postgres' ],
		'connect-per-transaction pgbench');
}
# its rate is over the time it was connecting: once it stopped, it stays
poll_bg($mon, "SELECT open_connections FROM pgpool_stats_connections WHERE application_name = 'churner'", '0');
poll_bg($mon, "SELECT now() - first_seen > interval '1.5 s' FROM pgpool_stats_connections WHERE application_name = 'churner'", 't');
my $rate_sql = "SELECT connects_per_sec FROM pgpool_stats_connections WHERE application_name = 'churner'";
my $rate = $mon->query_safe($rate_sql);
$mon->query_safe($sample600);
is($mon->query_safe($rate_sql), $rate, "a stopped application's rate of connections stays what it was ($rate/s)");
like($mon->query_safe(
		"SELECT verdict || ': ' || reason FROM pgpool_stats_recommendations WHERE application_name = 'churner'"),
	qr/^no_pooling: opens [\d.]+ connections\/s, median session \d+ ms, \d+% of backend time is connection setup: use a connection pool/,
	'pgbench -C: no_pooling, with the rate, the median session and the setup share');

# ok: a steady pooled pgbench, 4 connections for a light load.
{
	local $ENV{PGAPPNAME} = 'steady';
	$node->command_ok([ 'pgbench', '-n', '-S', '-c', '4', '-j', '2', '-R', '100', '-T', '8', 'postgres' ],
		'rate-limited pooled pgbench');
}
$mon->query_safe($sample600);	# in case the worker fell behind on a slow machine
is( $mon->query_safe(q{
	SELECT verdict || '|' || (recommended_pool_size <= 4)
	  FROM pgpool_stats_recommendations WHERE application_name = 'steady'}),
	'ok|true', 'a fitting pool: ok, recommending no more than it has');

# oversized: 30 connections, at most 2 of them ever busy.
my @over_idle = map { bg_session($node, 'oversized') } 1 .. 28;
my @over_busy = map { bg_session($node, 'oversized', on_error_stop => 0) } 1 .. 2;
bg_start($_, 'SELECT pg_sleep(600);') for @over_busy;

# undersized: 4 connections, all continuously busy.
my @under = map { bg_session($node, 'undersized', on_error_stop => 0) } 1 .. 4;
bg_start($_, 'SELECT pg_sleep(600);') for @under;

# idle_in_transaction: a session that leaves its transaction open.
my $leak = bg_session($node, 'leaky');
$leak->query_safe('BEGIN; SELECT 1');

ok( poll_bg($mon, q{
	SELECT count(*) FILTER (WHERE application_name IN ('oversized', 'undersized') AND state = 'active')
	  FROM pg_stat_activity}, '6'),
	'sessions are in their states');
# left open longer than pgpool_stats.idle_in_transaction_threshold (1 s)
ok( poll_bg($mon, q{
	SELECT now() - state_change > interval '1.2 s'
	  FROM pg_stat_activity WHERE application_name = 'leaky'}, 't'),
	'the open transaction has been idle over a second');
$mon->query_safe($sample600);

is( $mon->query_safe(q{
	SELECT verdict || '|' || open_connections || '|' || busy_p99 || '|' || (recommended_pool_size <= 5)
	  FROM pgpool_stats_recommendations WHERE application_name = 'oversized'}),
	'oversized|30|2|true', '30 connections, 2 busy: oversized, a pool of at most 5');
like($mon->query_safe(
		"SELECT reason FROM pgpool_stats_recommendations WHERE application_name = 'oversized'"),
	qr/^keeps 30 connections open but at most 2 are busy in 99% of samples, so about \d+ sit idle: a pool of 3 would do/,
	'oversized: the reason says how many sit idle and what the pool could be');
is( $mon->query_safe(q{
	SELECT verdict || '|' || recommended_pool_size
	  FROM pgpool_stats_recommendations WHERE application_name = 'undersized'}),
	'undersized|8', '4 connections always busy: undersized, try twice as many');
like($mon->query_safe(
		"SELECT reason FROM pgpool_stats_recommendations WHERE application_name = 'undersized'"),
	qr/^all of its 4 connections were busy in (9\d|100)% of samples/, 'undersized: the reason says how often');
is($verdict->('leaky'), 'idle_in_transaction', 'an open transaction: idle_in_transaction');
like($mon->query_safe(
		"SELECT reason FROM pgpool_stats_recommendations WHERE application_name = 'leaky'"),
	qr/idle_in_transaction_session_timeout/, 'idle_in_transaction: the reason names the setting');

# A one-off session busy in the few samples that saw it says nothing of a
# pool: an instance is judged once 60 samples saw it connected.  The worker
# pauses meanwhile, so that exactly these samples see it.
$mon->query_safe(q{ALTER SYSTEM SET pgpool_stats.sample_interval = '1h'});
$mon->query_safe('SELECT pg_reload_conf()');
ok(poll_bg($mon, 'SELECT sample_interval_ms FROM pgpool_stats_info', '3600000'), 'the worker pauses');
my $oneoff = bg_session($node, 'oneoff', on_error_stop => 0);
bg_start($oneoff, 'SELECT pg_sleep(600);');
ok(poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity
	 WHERE application_name = 'oneoff' AND state = 'active'}, '1'), 'a one-off query runs');
$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 20)');
$mon->query_safe(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'oneoff'});
$oneoff->quit;
poll_bg($mon, "SELECT open_connections FROM pgpool_stats_connections WHERE application_name = 'oneoff'", '0');
$mon->query_safe('ALTER SYSTEM RESET pgpool_stats.sample_interval');
$mon->query_safe('SELECT pg_reload_conf()');
ok(poll_bg($mon, 'SELECT sample_interval_ms FROM pgpool_stats_info', '10'), 'the worker samples again');
$mon->query_safe($sample600);
isnt($verdict->('oneoff'), 'undersized', 'a session busy in the 20 samples that saw it: not undersized (' . $mon->query_safe("SELECT reason FROM pgpool_stats_recommendations WHERE application_name = 'oneoff'") . ')');

# The server: 60 max_connections, 3 reserved; fill it past 90% of 57.
is($mon->query_safe('SELECT verdict FROM pgpool_stats_server'), 'ok',
	'the server is ok with 36 client connections');
my @fill = map { bg_session($node, 'filler') } 1 .. 16;
$mon->query_safe('SELECT pgpool_stats_sample()');
is( $mon->query_safe(q{
	SELECT verdict || '|' || max_connections || '|' || reserved_connections || '|' || client_connections
	  FROM pgpool_stats_server}),
	'near_limit|60|3|52', '52 client connections of 57: near_limit');
like($mon->query_safe('SELECT reason FROM pgpool_stats_server'),
	qr/^client connections peaked at 52, 91% of the 57 available .*PgBouncer/,
	'near_limit: the reason gives the figures and suggests a server-side pooler');

$mon->query_safe(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	 WHERE application_name IN ('oversized', 'undersized') AND state = 'active'});
$_->quit for (@over_idle, @over_busy, @under, $leak, @fill);
$mon->quit;
$node->stop;
done_testing();
