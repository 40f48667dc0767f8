# Application names are stored safely (truncated, cleaned like
# pg_stat_activity), and a full table never fails a login: idle keys are
# evicted, and when none is idle the session is counted as dropped.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node(
	'names',
	conf => 'pgpool_stats.max_entries = 10',
	hba => "local all pwuser scram-sha-256");
$node->safe_psql('postgres', "CREATE ROLE pwuser LOGIN PASSWORD 'right'");

# --- names ---------------------------------------------------------------
my $same_as_activity = q{
	SELECT s.application_name
	  FROM pgpool_stats_connections s, pg_stat_activity a
	 WHERE a.pid = pg_backend_pid()
	   AND s.application_name = a.application_name
	   AND s.open_connections = 1};

my $long = 'n' . ('0123456789' x 10);
my $s = bg_session($node, $long);
is($s->query_safe($same_as_activity), substr($long, 0, 63),
	'a 101-byte name is stored as its first 63 bytes, as pg_stat_activity shows it');
$s->quit;

# Names that are not printable ASCII: the server keeps them printable
# before any extension sees them, 15 by making each such byte ?, 16 and
# later by escaping it as \xNN (16 changed pg_clean_ascii); the key is what
# pg_stat_activity shows, cut where it cuts, even inside an escape.
my $escapes = $node->safe_psql('postgres', 'SHOW server_version_num') >= 160000;
my %clean = $escapes
  ? (multibyte => qr/^caf\\xc3\\xa9 \\xc3\\xbcber$/,
	long => substr('\xc3\xa9' x 40, 0, 63),
	control => 'tab\x09here\x01\x7fend',
	not_utf8 => 'bad\xff\xfeutf8',
	how => 'escaped as \xNN')
  : (multibyte => qr/^caf\?+ \?+ber$/,
	long => '?' x 62,
	control => 'tab?here??end',
	not_utf8 => 'bad??utf8',
	how => 'made ?');

$s = bg_session($node, "caf\xc3\xa9 \xc3\xbcber");
my $stored = $s->query_safe($same_as_activity);
like($stored, $clean{multibyte}, "a multibyte name is stored in printable ASCII ($clean{how})");
$s->quit;

$s = bg_session($node, "\xc3\xa9" x 40);
$stored = $s->query_safe($same_as_activity);
is($stored, $clean{long},
	'80 bytes of two-byte characters: cleaned and cut at 63 bytes as pg_stat_activity shows them');
$s->quit;

# Control characters and bytes that are not UTF-8: cleaned the same way.
$s = bg_session($node, "tab\there\x01\x7fend");
is($s->query_safe($same_as_activity), $clean{control}, "control characters are $clean{how}");
$s->quit;
$s = bg_session($node, "bad\xff\xfeutf8");
is($s->query_safe($same_as_activity), $clean{not_utf8}, "bytes that are not UTF-8 are $clean{how}");
$s->quit;

# --- eviction ------------------------------------------------------------
my $mon = bg_session($node, 'monitor');
ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name <> 'monitor'", '0'),
	'earlier sessions ended');
$mon->query_safe('SELECT pgpool_stats_reset()');
is($mon->query_safe('SELECT entries, evicted, dropped FROM pgpool_stats_info'),
	'1|0|0', 'after a reset only the open monitor session keeps its key');

# 15 applications, one after another: 16 keys in a table of 10.
my $failed = 0;
for my $i (1 .. 15)
{
	my ($rc) = run_psql($node, "dbname=postgres application_name=app_$i", 'SELECT 1');
	$failed++ if $rc != 0;
}
is($failed, 0, 'no login failed while the table was full');
ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name LIKE 'app_%'", '0'),
	'the application sessions ended');
is($mon->query_safe('SELECT entries, max_entries, evicted, dropped FROM pgpool_stats_info'),
	'10|10|6|0', 'the table stays at max_entries; 6 idle keys evicted');
is(churn_row($mon, 'app_15', 'connections, disconnections'), '1|1',
	'the newest key is kept');
is(churn_row($mon, 'monitor', 'open_connections'), '1',
	'a key with an open connection is never evicted');

# Fill the table with keys that all have an open connection.
my @open = map { bg_session($node, "open_$_") } 1 .. 9;
is($mon->query_safe('SELECT entries, evicted FROM pgpool_stats_info'),
	'10|15', 'nine more open keys evicted nine idle ones');
my ($rc) = run_psql($node, 'dbname=postgres application_name=overflow', 'SELECT 1');
is($rc, 0, 'a login succeeds when every key has an open connection');
is($mon->query_safe(
		"SELECT (SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'overflow'), "
		  . "dropped FROM pgpool_stats_info"),
	'0|1', 'that session is counted as dropped, not stored');
$_->quit for @open;

# A client that puts a request id in application_name: 1000 distinct names,
# four at a time, exhaust nothing but the table, and every login succeeds.
ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name <> 'monitor'", '0'),
	'the open sessions ended');
$mon->query_safe('SELECT pgpool_stats_reset()');
my $script = 'seq 1000 | xargs -P 4 -I{} psql -XAtqw -c "SELECT 1" '
  . '"dbname=postgres application_name=request-{}" >/dev/null; echo $?';
my $out = '';
{
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	IPC::Run::run([ 'bash', '-c', $script ], '>', \$out);
}
chomp $out;
is($out, '0', '1000 connections with distinct names: none failed');
ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name LIKE 'request-%'", '0'),
	'they ended');
is($mon->query_safe('SELECT entries, evicted, dropped FROM pgpool_stats_info'),
	'10|991|0', '1001 keys in a table of 10: 991 evicted, nothing dropped');
is($mon->query_safe(q{
	SELECT sum(connections) = count(*) AND count(*) = 9
	  FROM pgpool_stats_connections WHERE application_name LIKE 'request-%'}),
	't', 'the 9 newest request keys hold one connection each');

# Failed authentications never evict: with the table full, a wrong password
# under a new name is counted as dropped and every key stays.
for my $i (1 .. 3)
{
	my ($rc) = run_psql($node,
		"dbname=postgres user=pwuser password=wrong application_name=intruder$i",
		'SELECT 1');
	isnt($rc, 0, "wrong password $i refused");
}
is($mon->query_safe('SELECT entries, evicted, dropped FROM pgpool_stats_info'),
	'10|991|3', 'three failed authentications in a full table: dropped, nothing evicted');

$mon->quit;
$node->stop;

# With a larger table one scan frees a twentieth of it, the least recently
# seen keys first: a client with a new name per connection pays for a scan
# once in that many connections.
my $big = pgps_node('batch', conf => 'pgpool_stats.max_entries = 100');
$mon = bg_session($big, 'monitor');
$mon->query_safe('SELECT pgpool_stats_reset()');
$failed = 0;
for my $i (1 .. 99)
{
	my ($rc) = run_psql($big, "dbname=postgres application_name=batch_$i", 'SELECT 1');
	$failed++ if $rc != 0;
}
is($failed, 0, '99 applications logged in');
ok( poll_bg($mon, 'SELECT entries, evicted FROM pgpool_stats_info', '100|0'),
	'with the monitor they fill the table of 100');
ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name LIKE 'batch_%'", '0'),
	'their sessions ended');
run_psql($big, 'dbname=postgres application_name=batch_100', 'SELECT 1');
is($mon->query_safe('SELECT entries, evicted, dropped FROM pgpool_stats_info'),
	'96|5|0', 'the 101st key evicted five keys at once');
is( $mon->query_safe(q{
	SELECT string_agg(application_name, ',' ORDER BY application_name)
	  FROM (VALUES ('batch_1'), ('batch_5'), ('batch_6'), ('batch_100'), ('monitor')) v(application_name)
	 WHERE EXISTS (SELECT FROM pgpool_stats_connections c
					WHERE c.application_name = v.application_name)}),
	'batch_100,batch_6,monitor',
	'the five least recently seen went; the next, the newest and the open one stayed');
$mon->quit;
$big->stop;
done_testing();
