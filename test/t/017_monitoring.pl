# The fleet's view, end to end with the real tools from Debian's packages:
# postgres_exporter (0.11) with monitoring/postgres_exporter/queries.yaml
# scrapes a scratch cluster, Prometheus (2.42) scrapes the exporter every
# second and evaluates monitoring/alerts.yml, while an application that
# connects per request and a pooled one run, both cores kept busy, and one
# leaves a transaction open.  Then:
#  - the exporter's /metrics has every metric the queries file promises,
#    with its type and labels, and the connection counters equal the view
#    and each application's own count;
#  - Prometheus has data for every expression of the dashboard and every
#    series the alert rules read, rate() of the connection counter agrees
#    with connects_per_sec, the verdicts arrive as a state set, the
#    no-pooling alert is pending with the reason in its description;
#  - counters never went backwards, and a reset shows;
#  - promtool checks and unit-tests the rules, the dashboard passes
#    Grafana's schema (and a broken one does not), and the sql_exporter
#    collectors are those written from the queries file.
# Both servers listen on loopback only and are stopped by the test.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my %bin = (
	exporter => '/usr/bin/prometheus-postgres-exporter',
	prometheus => '/usr/bin/prometheus',
	promtool => '/usr/bin/promtool');
for (sort keys %bin)
{
	plan skip_all => "$bin{$_} is not installed (Debian's prometheus and "
	  . "prometheus-postgres-exporter; test/check.sh installs them on Debian 12)"
	  unless -x $bin{$_};
}

my $root = "$FindBin::RealBin/../..";
my $monitoring = "$root/monitoring";
my $python = '/usr/bin/python3';
my $check = "$FindBin::RealBin/../monitoring/check_monitoring.py";
my $http = HTTP::Tiny->new(timeout => 10);
my $dir = PostgreSQL::Test::Utils::tempdir;
my $timeout = $PostgreSQL::Test::Utils::timeout_default;

my $node = pgps_node('monitoring', conf => "pgpool_stats.sample_interval = '10ms'",
	hba => 'host all all 127.0.0.1/32 trust');
$node->safe_psql('postgres', 'CREATE ROLE exporter LOGIN; GRANT pg_monitor TO exporter');
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
my $mon = bg_session($node, 'monitor');

# Keys the view cannot name: the same application in two databases dropped
# since, and a login to a database that does not exist.  Their labels must
# still differ (the exporter fails a whole scrape on two equal ones).
my @dropped;
for my $db (qw(gone1 gone2))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	push @dropped, $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$db'");
	my ($rc) = run_psql($node, 'host=' . $node->host . ' port=' . $node->port
		  . " dbname=$db application_name=gone", 'SELECT 1');
	die "cannot connect to $db" if $rc;
	$node->safe_psql('postgres', "DROP DATABASE $db");
}
run_psql($node, 'host=' . $node->host . ' port=' . $node->port . ' dbname=nosuchdb', 'SELECT 1');

# An application that leaves its transaction open the whole test
my $idler = bg_session($node, 'idler');
$idler->query_safe('BEGIN; SELECT 1');
my $idle_since = time;

# JSON on standard output of a command, which must succeed
sub json_of
{
	my ($out, $err) = ('', '');
	IPC::Run::run([@_], '>', \$out, '2>', \$err)
	  or die "@_ failed: $err";
	return decode_json($out);
}

my @servers;
END { $_->kill_kill for grep { $_->pumpable } @servers; }

# Start a server in the background, its output in $dir/$name.log
sub start_server
{
	my ($name, @cmd) = @_;
	my $h = IPC::Run::start(\@cmd, '>', "$dir/$name.log", '2>&1');
	push @servers, $h;
	return $h;
}

sub get
{
	my ($url) = @_;
	my $r = $http->get($url);
	return $r->{success} ? $r->{content} : undef;
}

# Poll until $cond returns true; false after the default timeout
sub wait_for
{
	my ($cond) = @_;
	for (1 .. 10 * $timeout)
	{
		return 1 if $cond->();
		usleep(100_000);
	}
	return 0;
}

# postgres_exporter with the queries file on a free loopback port, logged
# in as $role; returns its port and its process
sub start_exporter
{
	my ($role) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	local $ENV{DATA_SOURCE_NAME} = 'host=' . $node->host . ' port=' . $node->port
	  . " user=$role dbname=postgres sslmode=disable application_name=postgres_exporter";
	my $h = start_server("exporter_$role", $bin{exporter}, "--web.listen-address=127.0.0.1:$port",
		"--extend.query-path=$monitoring/postgres_exporter/queries.yaml");
	return ($port, $h);
}

# --- the exporter, then Prometheus, on free loopback ports ---------------
my ($exporter_port, $exporter) = start_exporter('exporter');
my $metrics_url = "http://127.0.0.1:$exporter_port/metrics";
ok(wait_for(sub { (get($metrics_url) // '') =~ /^pgpool_stats_collector_entries/m }),
	'postgres_exporter serves the pgpool_stats metrics')
  or diag(slurp_file("$dir/exporter_exporter.log"));

my $prometheus_port = PostgreSQL::Test::Cluster::get_free_port();
append_to_file("$dir/prometheus.yml", <<"EOC");
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $monitoring/alerts.yml
scrape_configs:
  - job_name: postgres
    static_configs:
      - targets: ['127.0.0.1:$exporter_port']
EOC
command_ok([ $bin{promtool}, 'check', 'config', "$dir/prometheus.yml" ],
	'promtool accepts the scrape configuration with the alert rules');
my $prometheus = start_server('prometheus', $bin{prometheus},
	"--config.file=$dir/prometheus.yml", "--storage.tsdb.path=$dir/tsdb",
	"--web.listen-address=127.0.0.1:$prometheus_port");
my $api = "http://127.0.0.1:$prometheus_port/api/v1";
ok(wait_for(sub { defined get("http://127.0.0.1:$prometheus_port/-/ready") }),
	'Prometheus is ready')
  or diag(slurp_file("$dir/prometheus.log"));

# Only loopback: no listening socket of theirs on any other address
my @wild;
for my $file ('/proc/net/tcp', '/proc/net/tcp6')
{
	next unless -r $file;
	for (split /\n/, slurp_file($file))
	{
		my ($local, $state) = (split ' ')[ 1, 3 ];
		next unless defined $state && $state eq '0A';
		my ($ip, $port) = split /:/, $local;
		push @wild, "$ip:" . hex($port)
		  if grep { hex($port) == $_ } ($exporter_port, $prometheus_port)
		  and $ip ne '0100007F' and $ip ne '00000000000000000000000001000000';
	}
}
is_deeply(\@wild, [], 'the exporter and Prometheus listen on loopback only');

# An instant query's result (a list of {metric, value}), now or at Unix
# time $at; dies on an error
sub query
{
	my ($expr, $at) = @_;
	my $r = $http->post_form("$api/query", { query => $expr, defined $at ? (time => $at) : () });
	die "Prometheus: $expr: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content})->{data}{result};
}

# The one value an instant query gives (undef if none)
sub value
{
	my $r = query(@_);
	return @$r ? $r->[0]{value}[1] : undef;
}

# --- the applications: one connecting per request, one pooled ------------
# with both cores kept busy by pgbench the while
$node->command_ok([ 'pgbench', '-i', '-q', 'postgres' ], 'pgbench tables');
my $load = start_load($node, $mon);
my $seconds = 30;
my $churn_rate = 40;
my ($churn_out, $pooled_out, $err) = ('', '', '');
my $churn = IPC::Run::start(
	[ $python, "$FindBin::RealBin/../clients/paced_connect.py",
		'host=127.0.0.1 port=' . $node->port . ' dbname=postgres user=postgres',
		'--app', 'churn', '--rate', $churn_rate, '--seconds', $seconds ],
	'>', \$churn_out, '2>', \$err);
my $pooled = IPC::Run::start(
	[ $python, "$FindBin::RealBin/../clients/psycopg_app.py",
		'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres',
		'--app', 'pooled', '--pool', '4', '--workers', '2',
		'--seconds', $seconds, '--think-ms', '20', '--query', 'SELECT 1' ],
	'>', \$pooled_out, '2>', \$err);
push @servers, $churn, $pooled;

# Once Prometheus holds 15 s of the churn: rate() over 10 s against the
# extension's own figure, both evaluated by Prometheus at the time of the
# latest scrape, while the churn runs.  The window holds samples from end
# to end: one that ends after the latest scrape (late under load), or
# begins before the series did, makes rate() extrapolate over the gap.
my $churn_sel = 'application_name="churn"';
ok(wait_for(sub {
	(value("count_over_time(pgpool_stats_connections_opened_total{$churn_sel}[30s])") // 0) >= 15 }),
	'Prometheus scrapes the churn every second');
my $at = value("timestamp(pgpool_stats_connections_opened_total{$churn_sel})");
my $running = $churn->pumpable;
my $r = query("rate(pgpool_stats_connections_opened_total{$churn_sel}[10s])"
	  . " / pgpool_stats_connections_opened_per_second{$churn_sel}", $at);
is(scalar @$r, 1, 'one series of the churn');
my ($rate, $per_sec) = (value("rate(pgpool_stats_connections_opened_total{$churn_sel}[10s])", $at),
	value("pgpool_stats_connections_opened_per_second{$churn_sel}", $at));
ok($running, 'measured while the churn ran');
cmp_ok(abs($r->[0]{value}[1] - 1), '<=', 0.10,
	sprintf('rate() of the counter, %.2f/s, is within 10%% of connects_per_sec, %.2f/s (ratio %.3f)',
		$rate, $per_sec, $r->[0]{value}[1]))
  or diag('the counter: ', join(' ', map { "$_->[0]=$_->[1]" }
		@{ query("pgpool_stats_connections_opened_total{$churn_sel}[20s]", $at)->[0]{values} || [] }));

$churn->finish or die "the churn failed: $err";
$pooled->finish or die "the pooled application failed: $err";
$load->kill_kill;
my $churn_truth = decode_json($churn_out);
my $pooled_truth = decode_json($pooled_out);
cmp_ok(abs($churn_truth->{rate} / $churn_rate - 1), '<=', 0.05,
	sprintf('the churn kept its pace: %.2f connections/s', $churn_truth->{rate}));

# Verdicts for both (600 samples after they left), then one fresh sample
settle_app($mon, $_) for qw(churn pooled);
$mon->query_safe('SELECT pgpool_stats_sample()');

# --- the exporter's /metrics -------------------------------------------
# What pgpool_stats judges the exporter reads once a minute: once it has
# the churn's verdict
my $metrics;
ok(wait_for(sub {
	$metrics = get($metrics_url) // '';
	$metrics =~ /^pgpool_stats_application_status\{application_name="churn",[^}]*verdict="no_pooling"\} 1$/m }),
	"the exporter has the churn's verdict within its minute");
my (%type, %samples);
for (split /\n/, $metrics)
{
	if (/^# TYPE (\S+) (\S+)/) { $type{$1} = $2; next; }
	next if /^#/ || !/^(pgpool_stats_\w+)(?:\{(.*)\})? (\S+)$/;
	my ($name, $labels, $v) = ($1, $2 // '', $3);
	my %l;
	$l{$1} = $2 while $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
	push @{ $samples{$name} }, { labels => \%l, value => $v };
}
note("the churn's series:\n", join("\n", grep { /application_name="churn"/ && !/^#/ } split /\n/, $metrics));
my $promised = json_of($python, $check, 'metrics');
my @missing;
for my $m (@$promised)
{
	my $s = $samples{ $m->{name} };
	push @missing, "$m->{name} (none)" and next unless $s && @$s;
	push @missing, "$m->{name} (type " . ($type{ $m->{name} } // 'none') . ", not $m->{type})"
	  unless ($type{ $m->{name} } // '') eq $m->{type};
	my @without = grep { my $l = $_->{labels}; grep { !exists $l->{$_} } @{ $m->{labels} } } @$s;
	push @missing, "$m->{name} (a series without its labels)" if @without;
}
is_deeply(\@missing, [], scalar(@$promised) . ' metrics promised by the queries file, each with its type and labels');

# A series of an application at an address ('': the Unix socket)
sub sample_of
{
	my ($name, %want) = @_;
	my @s = grep { my $l = $_->{labels}; !grep { ($l->{$_} // '') ne $want{$_} } keys %want }
	  @{ $samples{$name} || [] };
	return @s == 1 ? $s[0]{value} : undef;
}
my %churn_key = (datname => 'postgres', usename => 'postgres',
	application_name => 'churn', client_addr => '127.0.0.1');
my %pooled_key = (datname => 'postgres', usename => 'postgres',
	application_name => 'pooled', client_addr => '');
my ($churn_view) = $mon->query_safe(q{
	SELECT connections FROM pgpool_stats_connections WHERE application_name = 'churn'});
is(sample_of('pgpool_stats_connections_opened_total', %churn_key), $churn_view,
	"the churn's connection counter is the view's, $churn_view");
is($churn_view, $churn_truth->{connections}, 'which is what the application opened');
is(sample_of('pgpool_stats_connections_opened_total', %pooled_key),
	$pooled_truth->{connections_opened},
	"the pooled application's counter is what its pool opened, $pooled_truth->{connections_opened}");
is(sample_of('pgpool_stats_connections_closed_total', %churn_key), $churn_truth->{connections},
	'every connection of the churn closed');
is(sample_of('pgpool_stats_connections_open', %churn_key), 0, 'none open');
my ($txn) = $mon->query_safe(q{
	SELECT transactions FROM pgpool_stats_connections WHERE application_name = 'pooled'});
is(sample_of('pgpool_stats_connections_transactions_total', %pooled_key), $txn,
	"the pooled application's transactions, $txn, as the view counts them");

my $oldest = sample_of('pgpool_stats_idle_in_transaction_oldest_seconds', application_name => 'idler');
ok(defined $oldest && $oldest >= 1 && $oldest <= time - $idle_since + 1,
	sprintf('the open transaction has sat idle %.1f s, by pg_stat_activity', $oldest // -1));
is(scalar(grep { $_->{labels}{application_name} ne 'idler' }
	  @{ $samples{pgpool_stats_idle_in_transaction_oldest_seconds} }), 0, 'and no other');
my @gone = sort map { $_->{labels}{datname} }
  grep { $_->{labels}{application_name} eq 'gone' } @{ $samples{pgpool_stats_connections_opened_total} };
is_deeply(\@gone, [ sort map { "[dropped $_]" } @dropped ],
	'the keys of two databases dropped since, each labelled with its oid');
is(sample_of('pgpool_stats_connections_login_failures_total', datname => '[unknown]',
		usename => 'postgres', application_name => '', client_addr => ''), 1,
	'the login to a database that does not exist, under [unknown]');

# An exporter whose role may not see the others' figures (no
# pg_read_all_stats): a whole scrape all the same, of its own keys
my ($plain_port, $plain) = start_exporter('plain');
my $plain_metrics;
ok(wait_for(sub {
	($plain_metrics = get("http://127.0.0.1:$plain_port/metrics") // '')
	  =~ /^pgpool_stats_connections_opened_total/m }),
	'an exporter as a role without pg_read_all_stats scrapes')
  or diag(slurp_file("$dir/exporter_plain.log"));
my %roles = map { $_ => 1 } $plain_metrics =~ /^pgpool_stats_connections_opened_total\{[^}]*usename="([^"]*)"/mg;
is_deeply([ sort keys %roles ], ['plain'], 'of its own role\'s keys only');
$plain->kill_kill;

my ($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'churn'});
is($verdict, 'no_pooling', "the churn's verdict is no_pooling ($reason)");
my %app = (application_name => 'churn', datname => 'postgres', usename => 'postgres');
is(join(',', map { "$_->{labels}{verdict}=$_->{value}" }
	  sort { $a->{labels}{verdict} cmp $b->{labels}{verdict} }
	  grep { $_->{labels}{application_name} eq 'churn' } @{ $samples{pgpool_stats_application_status} }),
	'idle_in_transaction=0,insufficient_data=0,leaking=0,no_pooling=1,ok=0,oversized=0,undersized=0',
	'the state set: 1 for no_pooling, 0 for every other verdict');
# The others as the exporter last read them (a minute may separate that
# from the view): one verdict each
my @pooled = map { $_->{labels}{verdict} } grep { $_->{value} == 1 }
  grep { $_->{labels}{application_name} eq 'pooled' } @{ $samples{pgpool_stats_application_status} };
is(scalar @pooled, 1, "the pooled application has one verdict, $pooled[0]");
isnt($pooled[0], 'no_pooling', 'which is not no_pooling');
my @server = map { $_->{labels}{verdict} } grep { $_->{value} == 1 } @{ $samples{pgpool_stats_server_status} };
is(scalar @server, 1, "the server has one verdict, $server[0]");

# --- Prometheus: every dashboard and alert expression has data ------------
ok(wait_for(sub {
	(value("pgpool_stats_application_status{$churn_sel,verdict=\"no_pooling\"}") // 0) == 1 }),
	'Prometheus has the churn\'s verdict');

# The exporter reads the reasons once a minute: once it has the churn's
my $exported;
ok(wait_for(sub {
	$exported = query("pgpool_stats_application_reason_info{$churn_sel,verdict=\"no_pooling\"}");
	@$exported }), "the churn's reason reaches Prometheus within the exporter's minute");
$exported = $exported->[0]{metric}{reason} // '';
# (the figures after the colon, the pool it would need, move with every sample)
is((split /: /, $exported)[0], (split /: /, $reason)[0], "it is the view's reason");

# Every panel shows the churn (the application_name variable set to it),
# with numbers; every variable offers what it should
my $dashboard = json_of($python, $check, 'dashboard', '--rate-interval', '10s',
	'--set', 'application_name=churn');
my $end = time;
my @empty;
for my $t (@{ $dashboard->{targets} })
{
	my $resp = $http->post_form("$api/query_range",
		{ query => $t->{expr}, start => $end - 30, end => $end, step => 1 });
	my $data = $resp->{success} ? decode_json($resp->{content})->{data}{result} : [];
	my @numbers = grep { $_->[1] ne 'NaN' } map { @{ $_->{values} } } @$data;
	my @apps = grep { defined } map { $_->{metric}{application_name} } @$data;
	push @empty, "$t->{where}: $t->{expr} (" . substr($resp->{content}, 0, 600) . ')'
	  unless @numbers && (!@apps || grep { $_ eq 'churn' } @apps);
}
my %offered;
for my $v (@{ $dashboard->{variables} })
{
	my ($sel, $label) = $v->{query} =~ /^label_values\((.*),\s*(\w+)\)$/
	  or push(@empty, "variable $v->{name}: not a label_values() query") and next;
	my $resp = $http->get("$api/label/$label/values?match[]=" . uri_escape($sel));
	$offered{ $v->{name} } = $resp->{success} ? decode_json($resp->{content})->{data} : [];
	push @empty, "variable $v->{name}: $v->{query}" unless @{ $offered{ $v->{name} } };
}
is_deeply(\@empty, [],
	scalar(@{ $dashboard->{targets} }) . ' panel queries show the churn with numbers, and '
	  . scalar(@{ $dashboard->{variables} }) . ' variables of the dashboard have values');
my @apps = @{ $offered{application_name} || [] };
ok((grep { $_ eq 'churn' } @apps) && (grep { $_ eq 'pooled' } @apps),
	'the application_name variable offers both applications');
is_deeply($offered{instance}, ["127.0.0.1:$exporter_port"], 'the instance variable the exporter');

my $alerts = json_of($python, $check, 'alerts');
@empty = ();
for my $a (@$alerts)
{
	query($a->{expr});    # dies if Prometheus rejects it
	push @empty, map { "$a->{alert}: $_" } grep { !@{ query($_) } } @{ $a->{selectors} };
}
is_deeply(\@empty, [], scalar(@$alerts) . ' alert rules: every series they read has data');

# The alerts Prometheus has raised now, pending or firing
sub alerts_now
{
	return decode_json($http->get("$api/alerts")->{content})->{data}{alerts};
}

# Wait until alert $name is raised for application $app with $description;
# returns the alert as last seen (undef if it never was)
sub wait_alert
{
	my ($name, $app, $description) = @_;
	my $alert;
	wait_for(sub {
		($alert) = grep { $_->{labels}{alertname} eq $name
			  && ($_->{labels}{application_name} // '') eq $app } @{ alerts_now() };
		defined $alert && $alert->{annotations}{description} eq $description });
	return $alert;
}

# The no-pooling alert waits out its "for:", its description quoting the
# reason as exported
my $description = "churn (postgres on postgres): $exported";
my $pending = wait_alert('PgpoolStatsNoPooling', 'churn', $description);
ok(defined $pending && $pending->{annotations}{description} eq $description,
	'PgpoolStatsNoPooling is raised for the churn, its description quoting the reason')
  or diag('alert: ' . encode_json($pending // {}));
is($pending->{state}, 'pending', 'pending until its for: has passed');
my $idler_reason = query('pgpool_stats_application_reason_info{application_name="idler",verdict="idle_in_transaction"}');
ok(@$idler_reason, "the idler's reason is exported");
$description = 'idler (postgres on postgres): ' . ($idler_reason->[0]{metric}{reason} // '');
$pending = wait_alert('PgpoolStatsIdleInTransaction', 'idler', $description);
ok(defined $pending && $pending->{state} eq 'pending'
	  && $pending->{annotations}{description} eq $description,
	'PgpoolStatsIdleInTransaction is raised for the idler, quoting its reason')
  or diag('alert: ' . encode_json($pending // {}));
my @other = grep { ($_->{labels}{application_name} // 'pooled') eq 'pooled' } @{ alerts_now() };
is_deeply([ map { $_->{labels}{alertname} } @other ], [],
	'none for the pooled application or the server');

# --- counters and the reset ---------------------------------------------
my @counters = map { $_->{name} } grep { $_->{type} eq 'counter' } @$promised;
is_deeply([ grep { value("sum(resets($_\[5m]))") } @counters ], [],
	scalar(@counters) . ' counters: none went backwards');
my $before = value('pgpool_stats_collector_reset_timestamp_seconds');
$mon->query_safe('SELECT pgpool_stats_reset()');
ok(wait_for(sub { (value('pgpool_stats_collector_reset_timestamp_seconds') // 0) > $before }),
	'a reset shows as a new reset_timestamp_seconds');
ok(wait_for(sub { !@{ query("pgpool_stats_connections_opened_total{$churn_sel}") } }),
	"and the churn's series end with it");

# --- the rules, the dashboard and the sql_exporter collectors -----------
command_ok([ $bin{promtool}, 'check', 'rules', "$monitoring/alerts.yml" ], 'promtool check rules');
{
	my ($out, $err2) = ('', '');
	my $ok = IPC::Run::run([ $bin{promtool}, 'test', 'rules', 'alerts_test.yml' ],
		'>', \$out, '2>', \$err2, init => sub { chdir $monitoring or die $! });
	ok($ok, 'promtool test rules: each alert fires on its series and stays quiet on a healthy one')
	  or diag("$out$err2");
}
command_ok([ $python, $check, 'dashboard' ], "the dashboard passes Grafana's schema and the checks");
my $broken = decode_json(slurp_file("$monitoring/grafana-dashboard.json"));
$broken->{panels}[0]{gridPos}{w} = 30;
delete $broken->{panels}[1]{targets}[0]{refId};
$broken->{templating}{list} = [ grep { $_->{name} ne 'instance' } @{ $broken->{templating}{list} } ];
append_to_file("$dir/broken.json", encode_json($broken));
my ($out, $err3) = ('', '');
IPC::Run::run([ $python, $check, 'dashboard', "$dir/broken.json" ], '>', \$out, '2>', \$err3);
like($err3, qr{panels/0/gridPos/w: 30 is greater than the maximum of 24}, 'a panel too wide is refused');
like($err3, qr{'refId' is a required property}, 'a query without its refId too');
$broken->{panels}[0]{gridPos}{w} = 12;
$broken->{panels}[1]{targets}[0]{refId} = 'A';
unlink "$dir/broken.json";
append_to_file("$dir/broken.json", encode_json($broken));
IPC::Run::run([ $python, $check, 'dashboard', "$dir/broken.json" ], '>', \$out, '2>', \$err3);
like($err3, qr/no instance variable/, 'and a dashboard without its instance variable');
command_ok([ $python, "$monitoring/sql_exporter/make_collectors.py", '--check' ],
	'the sql_exporter collectors are those written from the queries file');

# --- stop ---------------------------------------------------------------
$_->kill_kill for ($prometheus, $exporter);
ok(!defined get($metrics_url) && !defined get("http://127.0.0.1:$prometheus_port/-/ready"),
	'the exporter and Prometheus are stopped');

sub uri_escape
{
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord($1))/ge;
	return $s;
}

done_testing();
