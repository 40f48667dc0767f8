# What a pool of N would do, predicted and then run: one workload (requests
# arriving on a fixed schedule, 50 a second, whatever the pool does, each
# holding its connection an exponential time of mean 40 ms inside a
# transaction: test/clients/open_loop_pool.py, through psycopg_pool) runs
# first through a pool of 12 that never runs out, while
# pgpool_stats_what_if() is asked what pools of 3, 4 and 5 would make it
# wait; then the same workload (the same seed: the same holds) runs through
# each of those pools, and psycopg_pool's own figures (requests_queued,
# requests_wait_ms) say what it did.  Once on a quiet machine, once with
# both cores kept busy by pgbench.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $python = '/usr/bin/python3';
my $client = "$FindBin::RealBin/../clients/open_loop_pool.py";
my $seconds = 30;
my $rate = 50;
my $requests = $seconds * $rate;
my @sizes = (3, 4, 5);
my $target_ms = 10;

my $node = pgps_node('what_if', conf => "pgpool_stats.sample_interval = '10ms'\n"
	  . "max_connections = 60");
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ],
	'pgbench tables for the load');
my $mon = bg_session($node, 'monitor');
$mon->query_safe('SET stats_fetch_consistency = none');
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

# Start the workload through a pool of $pool under $app
sub start_client
{
	my ($app, $pool) = @_;
	my ($out, $err) = ('', '');
	my $run = IPC::Run::start(
		[ $python, $client, $dsn, '--app', $app, '--pool', $pool,
		  '--rate', $rate, '--hold-ms', '40', '--seconds', $seconds, '--seed', '1' ],
		'>', \$out, '2>', \$err);
	return { run => $run, out => \$out, err => \$err };
}

# Wait for it and return its truth
sub finish_client
{
	my ($c) = @_;
	$c->{run}->finish or die "the client failed: ${$c->{err}}";
	my $truth = decode_json(${ $c->{out} });
	die "the client's requests failed: @{$truth->{errors}}" if @{ $truth->{errors} };
	return $truth;
}

# Within 25% or 2 ms of the measured mean wait
sub close_enough
{
	my ($predicted, $measured) = @_;
	my $error = abs($predicted - $measured);
	return $error <= 2 || $error <= 0.25 * $measured;
}

sub run_case
{
	my ($case) = @_;
	my $app = "measured_$case";

	# the large pool, read while it runs (the window then holds the
	# workload and nothing else)
	$mon->query_safe('SELECT pgpool_stats_reset()');
	my $big = start_client($app, 12);
	ok(poll_bg($mon, "SELECT coalesce(sum(transactions), 0) >= " . int($requests * 0.9)
		  . " FROM pgpool_stats_connections WHERE application_name = '$app'", 't'),
		"$case: the workload runs through a pool of 12");
	my %predicted;
	for my $row (split /\n/, $mon->query_safe(qq{
		SELECT pool_size, wait_share, wait_avg_ms, wait_p99_ms, smallest_pool_size,
			   transactions_per_sec, hold_avg_ms, arrival_burstiness, hold_variability
		  FROM pgpool_stats_what_if('$app', 3, 6, wait_target_ms => $target_ms)}))
	{
		my @f = split /\|/, $row;
		$predicted{ $f[0] } = { share => $f[1], avg => $f[2], p99 => $f[3],
			smallest => $f[4], rate => $f[5], hold => $f[6], burstiness => $f[7],
			variability => $f[8] };
	}
	# the recommendation, read with the prediction: the smallest pool within
	# the target, and 12 is oversized
	my ($verdict, $pool, $reason, $smallest_now) = split /\|/, $mon->query_safe(qq{
		SELECT verdict, recommended_pool_size, reason,
			   (SELECT max(smallest_pool_size)
				  FROM pgpool_stats_what_if('$app', wait_target_ms => $target_ms))
		  FROM pgpool_stats_recommendations WHERE application_name = '$app'});
	is($pool, $smallest_now, "$case: the recommended pool is the smallest within the target ($pool)");
	is($verdict, 'oversized', "$case: 12 connections for it: oversized ($reason)");
	like($reason, qr/^keeps 12 connections open .*; at \d+\.\d transactions\/s of \d+\.\d ms each, a pool of $pool would make [\d.]+% of them wait, p99 [\d.]+ ms; a pool of \d+, .*: a pool of $pool would do, for a p99 wait within $target_ms ms$/,
		"$case: the reason quotes the waits predicted");
	my $measuring = finish_client($big);
	is($measuring->{requests_num}, $requests, "$case: $requests requests");
	is($measuring->{requests_queued}, 0, "$case: none waited for one of the 12 connections");
	is($mon->query_safe("SELECT transactions FROM pgpool_stats_connections
		 WHERE application_name = '$app'"), $requests,
		"$case: a transaction each, counted exactly");
	my $p = $predicted{3};
	cmp_ok(abs($p->{rate} - $rate), '<', 0.05 * $rate,
		"$case: the rate of transactions ($p->{rate}/s) is the client's");
	cmp_ok(abs($p->{hold} - $measuring->{hold_avg_ms}), '<', 0.05 * $measuring->{hold_avg_ms},
		"$case: the time a transaction held its connection ($p->{hold} ms) is the client's ("
		  . sprintf('%.2f', $measuring->{hold_avg_ms}) . ' ms)');
	cmp_ok(abs($p->{variability} - $measuring->{hold_scv}), '<', 0.15,
		"$case: so is the spread of those times ($p->{variability}, the client's "
		  . sprintf('%.2f', $measuring->{hold_scv}) . ')');
	cmp_ok($p->{burstiness}, '<', 0.5,
		"$case: arrivals on a schedule are smoother than random ones ($p->{burstiness})");

	# the same workload through each smaller pool, all at once
	my %clients = map { $_ => start_client("pool${_}_$case", $_) } @sizes;

	# the verdict on each, read while they run, from their own figures
	my $names = join(',', map { "'pool${_}_$case'" } @sizes);
	ok(poll_bg($mon, "SELECT count(*) FILTER (WHERE transactions >= " . int($requests * 0.9)
		  . ") FROM pgpool_stats_connections WHERE application_name IN ($names)", scalar @sizes),
		"$case: the smaller pools have run most of their workload");
	my %verdict = map { (split /\|/)[0] => [ (split /\|/)[1, 2, 3] ] } split /\n/,
	  $mon->query_safe("SELECT application_name, verdict, recommended_pool_size, reason
		  FROM pgpool_stats_recommendations WHERE application_name IN ($names)");
	my %measured = map { $_ => finish_client($clients{$_}) } @sizes;
	my $smallest;
	for my $size (@sizes)
	{
		my ($m, $pr) = ($measured{$size}, $predicted{$size});
		note(sprintf('%s pool %d: predicted %.3f wait, %.2f ms mean, p99 %.1f ms; '
			  . 'measured %.3f, %.2f ms, p99 %.1f ms', $case, $size, $pr->{share}, $pr->{avg},
			  $pr->{p99}, $m->{wait_share}, $m->{wait_avg_ms}, $m->{wait_p99_ms}));
		is($m->{requests_num}, $requests, "$case: pool of $size: every request served");
		ok(close_enough($pr->{avg}, $m->{wait_avg_ms}),
			"$case: pool of $size: mean wait predicted "
			  . sprintf('%.2f ms, measured %.2f ms', $pr->{avg}, $m->{wait_avg_ms}));
		ok(abs($pr->{share} - $m->{wait_share}) <= 0.02
			  || abs($pr->{share} - $m->{wait_share}) <= 0.25 * $m->{wait_share},
			"$case: pool of $size: share that waits predicted "
			  . sprintf('%.3f, measured %.3f', $pr->{share}, $m->{wait_share}));
		$smallest //= $size if $m->{wait_p99_ms} <= $target_ms;
		# the recommendation from its own figures: a pool whose measured
		# p99 wait is within the target is ok as it is; one past it is
		# told to grow (its verdict stays ok: full in less than half of the
		# samples, it is not told from workers in step that never wait, the
		# README's Limits)
		my ($v, $vpool, $vreason) = @{ $verdict{"pool${size}_$case"} };
		my $what = "$case: pool of $size, measured p99 wait "
		  . sprintf('%.1f ms', $m->{wait_p99_ms}) . ": $v, pool $vpool ($vreason)";
		if ($m->{wait_p99_ms} <= $target_ms)
		{
			is("$v|$vpool", "ok|$size", $what);
		}
		else
		{
			cmp_ok($vpool, '>', $size, $what);
		}
	}
	ok(defined $smallest && $smallest > $sizes[0],
		"$case: of the pools run, the smallest within a p99 wait of $target_ms ms had one smaller that was not");
	is($p->{smallest}, $smallest, "$case: the smallest adequate pool is named: $smallest");
	return (\%predicted, \%measured);
}

run_case('quiet');

my $load = start_load($node, $mon);
run_case('loaded');
$load->kill_kill;

$mon->quit;
$node->stop;
done_testing();
