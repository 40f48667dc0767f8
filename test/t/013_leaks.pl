# Connection leaks on a real client: a psycopg_pool application takes
# connections and never gives them back, idle or in a transaction, while
# pgbench keeps both cores busy.  The client logs what it leaked; the
# verdict must name the leak with the client's figures, and the held
# connections must not count as demand.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
my $client = "$FindBin::RealBin/../clients/psycopg_app.py";

my $node = pgps_node('leaks', conf => "pgpool_stats.sample_interval = '10ms'\n"
	  . "pgpool_stats.history_interval = '1s'\n"
	  . "pgpool_stats.leak_threshold = '1s'\n"
	  . "max_connections = 60",
	hba => 'host all all 127.0.0.1/32 trust');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
my $mon = bg_session($node, 'monitor');
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my $load = start_load($node, $mon);

# Start the application holding its connections open once done; return its
# truth and the handle that lets it go
sub run_held
{
	my @args = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start([ $python, $client, $dsn, '--hold', @args ],
		'<', \$in, '>', \$out, '2>', \$err);
	$h->pump until $out =~ /\n/ || !$h->pumpable;
	die "the client failed: $err" unless $out =~ /\n/;
	return (decode_json($out), $h);
}

# The application's verdict row, once it has its 600 samples
sub verdict_of
{
	my ($app) = @_;
	$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 600)');
	return split /\|/, $mon->query_safe(qq{
		SELECT verdict || '|' || reason || '|' || recommended_pool_size || '|' || busy_p99
		  FROM pgpool_stats_recommendations WHERE application_name = '$app'});
}

# How the server sees the client's leaked connections now
sub states_of
{
	my ($pids) = @_;
	return $mon->query_safe('SELECT string_agg(DISTINCT state, \',\') FROM pg_stat_activity WHERE pid IN ('
		  . join(',', @$pids) . ')');
}

# --- connections taken and never given back, idle -----------------------------
# Two workers on a pool of 2 that may grow to 20; from 1.5 s on, six
# connections are taken 1.2 s apart and kept, so the pool opens others;
# once the workers are done, four requests at once make it open more.
my @common = ('--pool', '2', '--max-pool', '20', '--workers', '2', '--seconds', '8.5',
	'--think-ms', '20', '--leak', '6', '--leak-every-ms', '1200', '--late', '4');
my ($idle, $h) = run_held('--app', 'leaky', @common);
is($idle->{leaked}, 6, 'the client leaked 6 connections');
cmp_ok($idle->{late_opened}, '>=', 1,
	"the late requests made the pool open $idle->{late_opened} more");
is(states_of($idle->{leaked_pids}), 'idle', 'which the server shows idle');
is(churn_row($mon, 'leaky', 'open_connections'), $idle->{connections_opened},
	"open: every one of the $idle->{connections_opened} connections the pool opened");
my ($verdict, $reason, $pool, $p99) = verdict_of('leaky');
is($verdict, 'leaking', "an idle leak: leaking ($reason)");
like($reason, qr/^6 of the $idle->{connections_opened} open connections sat idle while newer ones were opened \(idle for up to \d+ s\), and open connections grew from (\d+) to $idle->{connections_opened}:/,
	"the reason has the client's figures: 6 left behind of $idle->{connections_opened} open");
my ($before) = $reason =~ /grew from (\d+) to/;
ok(defined $before && $before <= 4,
	'before the leak, the pool had at most its 2 and the growth of the workers open ('
	  . ($before // 'none') . ')');
cmp_ok($pool, '<=', 5, "the recommended pool ($pool) serves the workers and the 4 late requests, not the leak");
$h->finish;

# --- the same leak, each connection left in a transaction -------------------
my ($iit, $h2) = run_held('--app', 'leaky-tx', @common, '--leak-in-tx');
is($iit->{leaked}, 6, 'the client leaked 6 connections in a transaction');
cmp_ok($iit->{late_opened}, '>=', 1,
	"the late requests made the pool open $iit->{late_opened} more");
is(states_of($iit->{leaked_pids}), 'idle in transaction', 'which the server shows idle in a transaction');
($verdict, $reason, $pool, $p99) = verdict_of('leaky-tx');
is($verdict, 'leaking', "a leak in a transaction: leaking, before idle_in_transaction ($reason)");
like($reason, qr/^6 of the $iit->{connections_opened} open connections sat idle .*, 6 of them in a transaction\)/,
	'the reason says they are in a transaction');
cmp_ok($p99, '<=', 4, "held transactions are not busy: busy p99 $p99 with 6 of them held");
cmp_ok($pool, '<=', 5, "the recommended pool ($pool) is not inflated by them");
$h2->finish;

# --- no leak: a pool grown late beside connections in use ------------------
# A pool of 8 for two workers, all its connections in turn (psycopg_pool
# hands out the one idle longest), then more late requests than it has:
# it grows, and nothing is left behind.
my ($calm, $h3) = run_held('--app', 'grower', '--pool', '8', '--max-pool', '20',
	'--workers', '2', '--seconds', '5', '--think-ms', '20', '--late', '10');
cmp_ok($calm->{connections_opened}, '>', 8, "the pool grew late to $calm->{connections_opened}");
($verdict, $reason) = verdict_of('grower');
isnt($verdict, 'leaking', "growth with every connection in use is no leak ($verdict: $reason)");
$h3->finish;

# --- growth, read from the history ------------------------------------------
# Sessions of one application, each of them idle: three, which go idle once
# a whole history bucket has seen the three open, then, over a second
# later, one more.  The three are left behind, but the application did not
# grow from what it had open before they went idle (3, in the bucket just
# before): no leak.  Three more opened later make the growth a leak.
my @idle3 = map { bg_session($node, 'steady') } 1 .. 3;
my ($opened) = $mon->query_safe(q{SELECT max(backend_start) FROM pg_stat_activity WHERE application_name = 'steady'});
ok(poll_bg($mon, "SELECT (SELECT count(*) FROM pgpool_stats_history WHERE application_name = 'steady'
	  AND bucket_start > '$opened' AND total_max = 3) >= 1", 't'), 'a whole bucket saw the three open');
$_->query_safe('SELECT 1') for @idle3;
my ($t0) = $mon->query_safe(q{SELECT max(state_change) FROM pg_stat_activity WHERE application_name = 'steady'});
poll_bg($mon, "SELECT clock_timestamp() > '$t0'::timestamptz + interval '2.2 s'", 't');
my @later = (bg_session($node, 'steady'));
($verdict, $reason) = verdict_of('steady');
isnt($verdict, 'leaking', "three idle, one opened later: left behind, but no growth ($verdict: $reason)");
push @later, map { bg_session($node, 'steady') } 1 .. 3;
($verdict, $reason) = verdict_of('steady');
is($verdict, 'leaking', 'three more opened: grown by 4');
like($reason, qr/^3 of the 7 open connections sat idle while newer ones were opened \(idle for up to \d+ s\), and open connections grew from 3 to 7:/,
	'the reason has the three left behind, and the growth from the bucket before they went idle');
$_->quit for @idle3, @later;

$load->kill_kill;
$mon->quit;
$node->stop;
done_testing();
