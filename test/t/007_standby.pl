# A streaming standby runs the sampler too and reports its own sessions.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pgpool_stats'");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgpool_stats');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
my $mon = bg_session($standby, 'monitor');
ok(poll_bg($mon, 'SELECT worker_pid IS NOT NULL AND samples_taken > 0 FROM pgpool_stats_info', 't'),
	'the worker runs and samples on the standby');

my @idle = map { bg_session($standby, 'replica_app') } 1 .. 2;
my $active = bg_session($standby, 'replica_app', on_error_stop => 0);
bg_start($active, 'SELECT pg_sleep(600);');
ok( poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity
	 WHERE application_name = 'replica_app' AND state = 'active'}, '1'),
	'standby sessions are in their states');

is($mon->query_safe('SELECT pgpool_stats_sample()'), '4', 'a sample on the standby sees its 4 sessions');
is( $mon->query_safe(q{
	SELECT a.total || '|' || a.active || '|' || a.idle || '|' || c.connections
	  FROM pgpool_stats_activity a
	  JOIN pgpool_stats_connections c USING (datname, usename, application_name)
	 WHERE application_name = 'replica_app'}),
	'3|1|2|3', 'the standby reports its own sessions and connections');
is( $primary->safe_psql('postgres',
		"SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'replica_app'"),
	'0', 'the primary does not see them');
is( $primary->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby')
		   || '|' ||
		   (SELECT count(*) FROM pgpool_stats_connections
			 WHERE application_name IN ('standby', 'walreceiver'))}),
	'1|0', 'the replication connection is not counted on the primary');

$mon->query_safe(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	 WHERE application_name = 'replica_app' AND state = 'active'});
$_->quit for (@idle, $active);
$mon->quit;
$standby->stop;
$primary->stop;
done_testing();
