# Helpers shared by the TAP tests of pgpool_stats: scratch clusters with the
# library preloaded, and polling (never sleeping) for the statistics to settle.
package PgpsTest;

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use Exporter 'import';
our @EXPORT = qw(pgps_node poll_bg bg_session bg_start run_psql churn_row
  start_load settle_app start_pgbouncer);

# A started cluster with pgpool_stats preloaded (unless no_preload => 1),
# listening on the Unix socket and on 127.0.0.1, and the extension created
# in the postgres database.  conf => text appended to postgresql.conf.
sub pgps_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'pgpool_stats'")
	  unless $opt{no_preload};
	$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
	$node->append_conf('postgresql.conf', $opt{conf}) if $opt{conf};
	if ($opt{hba})
	{
		# our lines first: pg_hba.conf takes the first match
		my $file = $node->data_dir . '/pg_hba.conf';
		my $old = PostgreSQL::Test::Utils::slurp_file($file);
		open my $fh, '>', $file or die "cannot write $file: $!";
		print $fh $opt{hba}, "\n", $old;
		close $fh;
	}
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pgpool_stats');
	return $node;
}

# A long-lived psql session under an application_name: queries through it
# open no new connection, so they leave every count they read unchanged.
sub bg_session
{
	my ($node, $appname, %params) = @_;
	local $ENV{PGAPPNAME} = $appname;
	return $node->background_psql('postgres', %params);
}

# Send a statement through a session without waiting for it to finish
# (a pg_sleep, a lock wait): returns once psql has read it.
sub bg_start
{
	my ($bg, $sql) = @_;
	$bg->query_until(qr/sending/, "\\echo sending\n$sql\n");
}

# Run a query through a session until it returns $expected; true if it did
# within the default timeout.
sub poll_bg
{
	my ($bg, $sql, $expected) = @_;
	my $max = 10 * $PostgreSQL::Test::Utils::timeout_default;
	my $got = '';

	for (1 .. $max)
	{
		$got = $bg->query_safe($sql);
		return 1 if $got eq $expected;
		usleep(100_000);
	}
	diag("polling timed out: $sql\nexpected: $expected\ngot: $got");
	return 0;
}

# One psql run with a connection string of its own; returns (exit code,
# stdout, stderr).  Never prompts for a password.
sub run_psql
{
	my ($node, $connstr, $sql) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my ($out, $err) = ('', '');
	my $rc = IPC::Run::run(
		[ 'psql', '-XAtqw', '-d', $connstr, '-c', $sql ],
		'>', \$out, '2>', \$err);
	chomp $out;
	return ($rc ? 0 : 1, $out, $err);
}

# The pgpool_stats_connections row of an application_name (and client
# address: undef for the Unix socket), as "col|col|..." of the named columns.
sub churn_row
{
	my ($bg, $appname, $cols, $addr) = @_;
	my $where = defined $addr
	  ? "client_addr = '$addr'"
	  : 'client_addr IS NULL';
	return $bg->query_safe(
		"SELECT $cols FROM pgpool_stats_connections "
		  . "WHERE application_name = '$appname' AND $where");
}

# Keep both cores busy with pgbench on the node (pgbench's tables must exist),
# for tests whose verdicts must hold on a loaded machine; returns once its
# sessions run.  The caller kill_kill()s the returned harness.
sub start_load
{
	my ($node, $mon) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGAPPNAME} = 'load';
	my $load = IPC::Run::start(
		[ 'pgbench', '-n', '-S', '-c', '2', '-j', '2', '-T', '300', 'postgres' ],
		'>', \$out, '2>', \$err);
	ok(poll_bg($mon, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'load'", '2'),
		'the load runs');
	return $load;
}

# Once an application has gone, give the verdicts their 600 samples of its
# window (the worker may lag under load)
sub settle_app
{
	my ($mon, $app) = @_;
	poll_bg($mon, "SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections
		 WHERE application_name = '$app'", '0');
	$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 600)');
}

# Debian's PgBouncer on a free loopback port in front of the node (reached
# on its Unix socket), trusting user postgres: $databases are the lines of
# its [databases] section, in which @HOST@ and @PORT@ stand for the node's;
# %settings go into [pgbouncer] (pool_mode transaction unless given).
# Returns its port and its process, which is killed however the test ends.
my @pgbouncers;
END { $_->kill_kill for grep { $_->pumpable } @pgbouncers; }

sub start_pgbouncer
{
	my ($node, $databases, %settings) = @_;
	my $pgbouncer = '/usr/sbin/pgbouncer';
	die "pgbouncer is not installed" unless -x $pgbouncer;
	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my ($host, $node_port) = ($node->host, $node->port);
	$databases =~ s/\@HOST\@/$host/g;
	$databases =~ s/\@PORT\@/$node_port/g;
	%settings = (pool_mode => 'transaction', max_client_conn => 200, %settings);
	PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"postgres" ""\n});
	PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini",
		"[databases]\n$databases\n[pgbouncer]\n"
		  . "listen_addr = 127.0.0.1\nlisten_port = $port\nunix_socket_dir =\n"
		  . "auth_type = trust\nauth_file = $dir/userlist.txt\n"
		  . "logfile = $dir/pgbouncer.log\npidfile = $dir/pgbouncer.pid\n"
		  . join('', map { "$_ = $settings{$_}\n" } sort keys %settings));
	my ($out, $err) = ('', '');
	my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', \$out, '2>', \$err);
	push @pgbouncers, $bouncer;
	my $up = 0;
	for (1 .. 100)
	{
		my ($rc) = run_psql($node, "host=127.0.0.1 port=$port dbname=postgres", 'SELECT 1');
		if ($rc == 0)
		{
			$up = 1;
			last;
		}
		usleep(100_000);
	}
	ok($up, 'PgBouncer answers') or diag($err);
	return ($port, $bouncer);
}

1;
