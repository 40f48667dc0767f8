# The busiest span of the history: each bucket keeps each key's
# transactions, their time and its busy sums, and pgpool_stats_what_if()
# reads the load of the consecutive buckets, at most span long, with the
# most transactions, not the whole window diluted by quiet time; so do the
# recommendations, with pgpool_stats.busiest_span.  An application runs
# 400 transactions of 5 ms on two connections, 150 a second at random
# (pgbench -R), sits idle for seconds, then runs 40 more: the busiest 2 s
# hold most of the 400, at their rate; the window holds all 440, at a far
# lower one.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('span', conf => "pgpool_stats.history_interval = '1s'\n"
	  . "pgpool_stats.history_size = 60\npgpool_stats.sample_interval = '10ms'");
my $mon = bg_session($node, 'monitor');
my $script = PostgreSQL::Test::Utils::tempdir() . '/sleep.sql';
PostgreSQL::Test::Utils::append_to_file($script, "SELECT pg_sleep(0.005);\n");

# pgbench as 'spans': two connections, $n transactions, 150 a second
sub run_spans
{
	my ($n) = @_;
	local $ENV{PGAPPNAME} = 'spans';
	$node->command_ok([ 'pgbench', '-n', '-c', '2', '-R', '150', '-t', $n / 2, '-f', $script,
			'postgres' ],
		"$n transactions");
}

my $start = $mon->query_safe('SELECT now()');
run_spans(400);
my $busy_end = $mon->query_safe('SELECT now()');
# three buckets closed after it: seconds of nothing
ok( poll_bg($mon, "SELECT count(*) >= 3 FROM pgpool_stats_history WHERE bucket_start > '$busy_end'"
		  . " AND application_name = 'monitor'", 't'),
	'seconds of nothing after it');
run_spans(40);
my $transactions = q{SELECT transactions FROM pgpool_stats_connections WHERE application_name = 'spans'};
is($mon->query_safe($transactions), '440', 'the key counted its 440 transactions');
# its last bucket closed too
my $last_end = $mon->query_safe('SELECT now()');
ok( poll_bg($mon, "SELECT count(*) > 0 FROM pgpool_stats_history WHERE bucket_start > '$last_end'"
		  . " AND application_name = 'monitor'", 't'),
	'the history closed its last bucket');

my ($span_tx, $span_s, $span_rate, $span_start, $span_end) = split /\|/, $mon->query_safe(q{
	SELECT transactions, span_s, transactions_per_sec, span_start, span_end
	  FROM pgpool_stats_what_if('spans', 1, span => '2 s')});
my ($win_tx, $win_s, $win_rate) = split /\|/, $mon->query_safe(q{
	SELECT transactions, span_s, transactions_per_sec
	  FROM pgpool_stats_what_if('spans', 1, span => '0')});
is($win_tx, '440', 'the window holds all 440');
cmp_ok($span_s, '<=', 2, "the busiest span is at most 2 s ($span_s s)");
cmp_ok($span_tx, '>=', 150, "and holds most of the burst of 400 ($span_tx)");
cmp_ok($span_tx, '<=', 400, 'and none of the 40 after it');
is( $mon->query_safe(qq{SELECT '$span_start' >= date_trunc('second', '$start'::timestamptz)
		 AND '$span_end' <= date_trunc('second', '$busy_end'::timestamptz) + interval '1 s'}),
	't', 'it lies within the burst');
cmp_ok($span_rate, '>', 2 * $win_rate,
	"its rate ($span_rate/s) is the burst's, not the window's ($win_rate/s)");
# its busy count, summed per bucket, agrees with its transactions' time
# (Little's law: busy = rate x hold)
my ($busy, $hold) = split /\|/, $mon->query_safe(q{
	SELECT busy_avg, hold_avg_ms FROM pgpool_stats_what_if('spans', 1, span => '2 s')});
cmp_ok(abs($busy - $span_rate * $hold / 1000), '<', 0.25 * $busy,
	"its busy connections ($busy) are its rate times its transactions' time ($hold ms)");

# the whole history fits in pgpool_stats.busiest_span (an hour): the
# window is read, and the recommendation's load is the window's
is( $mon->query_safe(q{SELECT transactions FROM pgpool_stats_what_if('spans', 1)}), '440',
	'a history within the span: the window');
# (the rate the recommendation quotes, against what_if()'s in one statement)
sub rates_now
{
	my ($w, $reason) = split /\|/, $mon->query_safe(q{
		SELECT w.transactions_per_sec, r.reason
		  FROM pgpool_stats_what_if('spans', 1) w, pgpool_stats_recommendations r
		 WHERE r.application_name = 'spans'});
	my ($quoted) = $reason =~ /at ([\d.]+) transactions\/s of/;
	return ($w, $quoted // -1, $reason);
}
my ($w_rate, $quoted, $reason) = rates_now();
cmp_ok(abs($quoted - $w_rate), '<=', 0.01 * $w_rate + 0.05,
	"the recommendation reads the window too: $quoted/s quoted, what_if() $w_rate/s ($reason)");
# with a busiest span of 2 s, both read the burst
$mon->query_safe(q{ALTER SYSTEM SET pgpool_stats.busiest_span = '2s'});
$mon->query_safe('SELECT pg_reload_conf()');
ok(poll_bg($mon, q{SHOW pgpool_stats.busiest_span}, '2s'), 'busiest_span set to 2 s');
($w_rate, $quoted, $reason) = rates_now();
cmp_ok($w_rate, '>', 2 * $win_rate, "what_if() reads the busiest 2 s by default ($w_rate/s)");
cmp_ok(abs($quoted - $w_rate), '<=', 0.01 * $w_rate + 0.05,
	"so does the recommendation: $quoted/s quoted ($reason)");
# a span cannot be negative
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT * FROM pgpool_stats_what_if('spans', 1, span => '-1 s')});
like($err, qr/span must not be negative/, 'a negative span is refused');

$mon->quit;
$node->stop;
done_testing();
