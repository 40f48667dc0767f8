# What survives what: a clean restart keeps every figure exactly, and so
# does a file written by pgpool_stats 1.2, 1.1 or 1.0; an immediate stop or a crash
# starts empty; a bad statistics file is ignored
# with a LOG line; a smaller table keeps what fits; a killed worker brings
# crash recovery, not a crash loop.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('restart',
	conf => "pgpool_stats.history_interval = '1s'\nrestart_after_crash = on");
my $file = $node->data_dir . '/pg_stat/pgpool_stats.stat';

my $row = q{
	SELECT c.connections || '|' || c.disconnections || '|' || c.short_sessions || '|' ||
		   c.session_max_ms || '|' || c.setup_avg_ms || '|' || c.first_seen || '|' ||
		   c.stats_reset || '|' || a.total_max || '|' || a.samples
	  FROM pgpool_stats_connections c
	  JOIN pgpool_stats_activity a USING (datname, usename, application_name)
	 WHERE application_name = 'survivor'};
my $history = q{
	SELECT count(*) || '|' || coalesce(sum(connections), 0)
	  FROM pgpool_stats_history WHERE application_name = 'survivor'};
# what the sessions did and how they ended (1.3)
my $usage = q{
	SELECT transactions || '|' || statements || '|' || sessions_normal || '|' ||
		   sessions_abandoned || '|' || sessions_fatal || '|' || sessions_killed
	  FROM pgpool_stats_connections WHERE application_name = 'survivor'};

# CRC-32C, as the file's trailer holds it
sub crc32c
{
	my ($data) = @_;
	my $crc = 0xffffffff;
	for my $byte (unpack 'C*', $data)
	{
		$crc ^= $byte;
		$crc = ($crc >> 1) ^ (($crc & 1) ? 0x82f63b78 : 0) for 1 .. 8;
	}
	return $crc ^ 0xffffffff;
}

# Change a statistics file in place and give it a valid checksum again
sub rewrite_with_crc
{
	my ($file, $change) = @_;
	open my $fh, '+<', $file or die $!;
	binmode $fh;
	local $/;
	my $data = <$fh>;
	$change->(\$data);
	substr($data, -4) = pack 'L<', crc32c(substr($data, 0, -4));
	seek $fh, 0, 0;
	print $fh $data;
	close $fh;
}

sub survivors
{
	my ($n) = @_;
	run_psql($node, 'dbname=postgres application_name=survivor', 'SELECT 1') for 1 .. $n;
	my $mon = bg_session($node, 'monitor');
	poll_bg($mon, q{SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections
		 WHERE application_name = 'survivor'}, '0');
	return $mon;
}

# An application seen only through a pooler: the monitor runs a sample
# under the name 'lent-to', as a pooler's connection would
my $behind = q{SELECT behind_pooler FROM pgpool_stats_recommendations WHERE application_name = 'lent-to'};

# --- clean restart: exactly the same figures, history included -----------
my $mon = survivors(5);
$mon->query_safe(q{SET application_name = 'lent-to'; SELECT pgpool_stats_sample(); RESET application_name});
is($mon->query_safe($behind), 't', 'an application behind a pooler');
ok(poll_bg($mon, "SELECT split_part(($history), '|', 2)", '5'),
	'the history holds the 5 connections');
$mon->query_safe('SELECT pgpool_stats_sample()');
my $before = $mon->query_safe($row);
my $history_before = $mon->query_safe($history);
is($mon->query_safe($usage), '5|5|5|0|0|0',
	'5 sessions of one statement: 5 transactions, 5 statements, all ended normally');
# the time the transactions held their connections (1.4)
my $hold = q{SELECT hold_avg_ms FROM pgpool_stats_what_if('survivor', 1)};
my $hold_before = $mon->query_safe($hold);
cmp_ok($hold_before, '>', 0, 'their time is counted');
$mon->quit;
$node->restart;
ok(!-e $file && -e "$file.loaded",
	'once loaded the statistics file is kept under a name never read at a start');
ok($node->log_contains('pgpool_stats: loaded \d+ of \d+ keys and \d+ of \d+ history buckets'),
	'the load is logged');
$mon = bg_session($node, 'monitor');
my $after = $mon->query_safe($row);
my ($samples_before) = (split /\|/, $before)[-1];
my ($samples_after) = (split /\|/, $after)[-1];
s/\|[^|]*$// for ($before, $after);
is($after, $before, 'after a clean restart every churn and activity figure is the same');
cmp_ok($samples_after, '>=', $samples_before, 'and the sample count carries on');
is($mon->query_safe($history), $history_before, 'the history is the same');
is($mon->query_safe($usage), '5|5|5|0|0|0', 'and the transactions, statements and ends');
is($mon->query_safe($hold), $hold_before, 'and their time');
is(churn_row($mon, 'survivor', 'open_connections'), '0', 'no session survives a restart');
is($mon->query_safe($behind), 't', 'still behind a pooler: the file carries its pooled samples');
$mon->quit;

# --- a start that fails after reading the file: the statistics are kept ----
# recovery.signal without a restore_command: the startup process refuses,
# after the postmaster read the file; it must write it back.
$node->stop;
ok(-e $file, 'a clean stop wrote the file');
my $signal = $node->data_dir . '/recovery.signal';
open my $fh, '>', $signal or die "$signal: $!";
close $fh;
ok(!$node->start(fail_ok => 1), 'a start with a broken recovery set-up fails');
ok(-e $file, 'the statistics file was written back');
unlink $signal or die "$signal: $!";
$node->start;
$mon = bg_session($node, 'monitor');
$after = $mon->query_safe($row);
s/\|[^|]*$// for ($after);
is($after, $before, 'after the failed start every figure is still the same');
$mon->quit;

# --- a full disk at shutdown: the statistics read at start are kept -------
# The new file cannot be written (a directory stands where its temporary
# name goes, as good as a full disk here): the next start has the
# statistics of this one's start, not none.  Five more connections made
# meanwhile are lost with the write.
survivors(5)->quit;
my $tmp = "$file.tmp";
mkdir $tmp or die "$tmp: $!";
$node->stop;
ok($node->log_contains('pgpool_stats: could not write statistics file'),
	'the failed write is logged');
ok(-e $file && !-e "$file.loaded", 'the file read at start is back under its name');
rmdir $tmp or die "$tmp: $!";
$node->start;
$mon = bg_session($node, 'monitor');
$after = $mon->query_safe($row);
s/\|[^|]*$// for ($after);
is($after, $before, 'after a failed write the next start has the statistics read at the last start');
$mon->quit;

# --- files of pgpool_stats 1.3 (format 5), 1.2 (format 4), 1.1 (format 3) --
# The same statistics rewritten as 1.3 wrote them: 1.4 added the
# transactions' time (three 8-byte figures) at the end of each entry's
# usage, and the loads below, and nothing else; then as 1.2 wrote them: 1.3 added the usage (seven 8-byte
# figures) at the end of each entry, and nothing else; then as 1.1 wrote
# them: 1.2 added two 8-byte figures at the end of each entry's activity
# (lent_samples, pooled_samples), and nothing else.
my $timed_size = 24;
my $usage_size = 56;
my $added = 16;
# and 1.4 added each key's load in the bucket being filled (six 8-byte
# figures) after the usage, and each history row's (six more) at its end
my $load_size = 48;
my $row_load_size = 48;

sub read_file
{
	my ($file) = @_;
	open my $fh, '<', $file or die $!;
	binmode $fh;
	local $/;
	my $data = <$fh>;
	close $fh;
	return $data;
}

sub write_file
{
	my ($file, $data) = @_;
	substr($data, -4) = pack 'L<', crc32c(substr($data, 0, -4));
	open my $fh, '>', $file or die $!;
	binmode $fh;
	print $fh $data;
	close $fh;
}

# Cut $cut bytes off the end of each entry, and call the file format $format
sub cut_entries
{
	my ($file, $format, $usage, $cut) = @_;
	my $data = read_file($file);
	my $f = file_layout(\$data);
	my ($key, $churn, $activity, $part) = unpack 'L<4', substr($data, 64, 16);
	# an entry: the key, padded to 8 bytes, last_seen, churn, activity,
	# part, usage
	my $act_at = (($key + 7) & ~7) + 8 + $churn;
	die "an entry is its parts"
	  unless $act_at + $activity + $part + $usage == $f->{entry_size};
	my $entries = '';
	for my $i (0 .. $f->{nentries} - 1)
	{
		my $e = substr($data, $f->{header_size} + $i * $f->{entry_size}, $f->{entry_size});
		substr($e, -$cut) = '';
		$entries .= $e;
	}
	my $header = substr($data, 0, $f->{header_size});
	substr($header, 4, 4) = pack 'L<', $format;
	substr($header, 16, 4) = pack 'L<', $f->{entry_size} - $cut;
	write_file($file, $header . $entries . substr($data, $f->{history}));
}

# Cut $cut bytes off the end of each history row
sub cut_rows
{
	my ($file, $cut) = @_;
	my $data = read_file($file);
	my $f = file_layout(\$data);
	my $rows = '';
	for my $i (0 .. $f->{nrows} - 1)
	{
		$rows .= substr($data, $f->{rows} + $i * $f->{row_size}, $f->{row_size} - $cut);
	}
	my $head = substr($data, 0, $f->{rows});
	substr($head, 24, 4) = pack 'L<', $f->{row_size} - $cut;
	write_file($file, $head . $rows . "\0" x 4);
}

sub rewrite_as_format5
{
	my ($file) = @_;
	cut_rows($file, $row_load_size);
	cut_entries($file, 5, $usage_size + $timed_size + $load_size, $timed_size + $load_size);
}

sub rewrite_as_format4
{
	my ($file) = @_;
	rewrite_as_format5($file);
	cut_entries($file, 4, $usage_size, $usage_size);
}

sub rewrite_as_format3
{
	my ($file) = @_;
	rewrite_as_format4($file);
	my $data = read_file($file);
	my $f = file_layout(\$data);
	my ($key, $churn, $activity, $part) = unpack 'L<4', substr($data, 64, 16);
	# an entry: the key, padded to 8 bytes, last_seen, churn, activity, part
	my $act_at = (($key + 7) & ~7) + 8 + $churn;
	die "an entry is its parts" unless $act_at + $activity + $part == $f->{entry_size};
	my $entries = '';
	for my $i (0 .. $f->{nentries} - 1)
	{
		my $e = substr($data, $f->{header_size} + $i * $f->{entry_size}, $f->{entry_size});
		substr($e, $act_at + $activity - $added, $added) = '';
		$entries .= $e;
	}
	my $header = substr($data, 0, $f->{header_size});
	substr($header, 4, 4) = pack 'L<', 3;
	substr($header, 16, 4) = pack 'L<', $f->{entry_size} - $added;
	substr($header, 72, 4) = pack 'L<', $activity - $added;
	write_file($file, $header . $entries . substr($data, $f->{history}));
}

# Stop, rewrite the file as an older version wrote it, start: it is loaded
# whole, and every figure and the history are the same
sub reload_as
{
	my ($rewrite, $version) = @_;
	$node->stop;
	$rewrite->($file);
	my $offset = -s $node->logfile;
	$node->start;
	like(slurp_file($node->logfile, $offset),
		qr/pgpool_stats: loaded (\d+) of \1 keys and (\d+) of \2 history buckets/,
		"a file of pgpool_stats $version is loaded whole");
	$mon = bg_session($node, 'monitor');
	$after = $mon->query_safe($row);
	s/\|[^|]*$// for ($after);
	is($after, $before, 'after it every churn and activity figure is the same');
	is($mon->query_safe($history), $history_before, 'and the history');
	$mon->quit;
}

reload_as(\&rewrite_as_format5, '1.3');
$mon = bg_session($node, 'monitor');
is($mon->query_safe($usage), '5|5|5|0|0|0', '1.3 counted the same transactions, statements and ends');
$mon->quit;

reload_as(\&rewrite_as_format4, '1.2');
$mon = bg_session($node, 'monitor');
is($mon->query_safe($usage), '0|0|0|0|0|0', '1.2 counted no transactions: the converted file has none');
is(churn_row($mon, 'survivor', 'transactions_per_connection IS NULL, reuse_share IS NULL'), 't|t',
	'and no ratio of transactions to the connections 1.2 counted');
is($mon->query_safe($behind), 't', 'and keeps its pooled samples');
$mon->quit;

reload_as(\&rewrite_as_format3, '1.1');
$mon = bg_session($node, 'monitor');
is($mon->query_safe($behind), 'f', '1.1 counted no pooled samples: the converted file has none');
$mon->quit;

# --- a file of pgpool_stats 1.0 (format 2): a library update keeps it all --
# The same statistics rewritten as 1.0 wrote them: its header held the
# global figures and the bucket being filled, its history had no part of
# its own; its entries are laid out as 1.1's.
sub rewrite_as_format2
{
	my ($file) = @_;
	rewrite_as_format3($file);
	open my $fh, '+<', $file or die $!;
	binmode $fh;
	local $/;
	my $data = <$fh>;
	my $f = file_layout(\$data);
	my ($magic, undef, $major) = unpack 'L<3', $data;
	my ($hist_buckets, $count_buckets) = unpack 'L<2', substr($data, 32, 8);
	my ($key, $churn, $activity, $part) = unpack 'L<4', substr($data, 64, 16);
	# the global statistics follow, in the order of pgpsGlobalStats
	my ($reset, $evicted, $dropped, $samples, $last, $total_us, $max_us, $peak) =
	  unpack 'q<5 d<2 l<', substr($data, 80, 60);
	my ($cur_start, $cur_end, $cur_samples, $rows_lost) =
	  unpack 'q<4', substr($data, $f->{history}, 32);
	my $v2 = pack 'L<10 q<3 q<5 l< x4 q< d<2 q<3',
	  $magic, 2, $major, $key, $churn, $activity + $part, $f->{bucket_size},
	  $f->{row_size}, $hist_buckets, $count_buckets,
	  $f->{nentries}, $f->{nbuckets}, $f->{nrows},
	  $reset, $evicted, $dropped, $samples, $rows_lost, $peak,
	  $last, $total_us, $max_us, $cur_start, $cur_end, $cur_samples;
	die "a 1.0 header is 160 bytes" unless length($v2) == 160;
	$v2 .= substr($data, $f->{header_size}, $f->{nentries} * $f->{entry_size});
	$v2 .= substr($data, $f->{buckets});
	substr($v2, -4) = pack 'L<', crc32c(substr($v2, 0, -4));
	seek $fh, 0, 0;
	truncate $fh, 0;
	print $fh $v2;
	close $fh;
}

reload_as(\&rewrite_as_format2, '1.0');

# --- immediate stop: nothing written, an empty start ----------------------
# The file read at start is still there while the server runs; a crash
# that kills the postmaster too would leave it behind: put a copy back
# after the immediate stop, as such a crash would leave it.
ok(-e "$file.loaded", 'the file read at start is there while the server runs');
my $stale = PostgreSQL::Test::Utils::slurp_file("$file.loaded");
$node->stop('immediate');
ok(!-e $file && !-e "$file.loaded", 'no statistics file after an immediate stop');
ok($node->log_contains('pgpool_stats: statistics not saved: the server did not shut down cleanly'),
	'the reason is logged');
open my $sfh, '>', $file or die "$file: $!";
binmode $sfh;
print $sfh $stale;
close $sfh;
$node->start;
ok($node->log_contains('statistics file "pg_stat/pgpool_stats.stat" ignored: the server did not shut down cleanly since it was written'),
	'a file left by a crash is not read: the control file does not say "shut down"');
ok(!-e $file, 'and it is gone');
$mon = bg_session($node, 'monitor');
is($mon->query_safe("SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'survivor'"),
	'0', 'after an immediate stop the statistics start empty');
$mon->quit;

# Where the parts of a statistics file start, from the sizes and counts its
# header gives: the header's first fields keep their offsets in every
# format (magic, format, PostgreSQL major, then the sizes of the header, an
# entry, a bucket, a row and the history's own part, two histogram sizes,
# then the numbers of entries, buckets and rows).
sub file_layout
{
	my ($data) = @_;
	my %f;
	@f{qw(header_size entry_size bucket_size row_size history_size)} =
	  unpack 'L<5', substr($$data, 12, 20);
	@f{qw(nentries nbuckets nrows)} = unpack 'q<3', substr($$data, 40, 24);
	$f{history} = $f{header_size} + $f{nentries} * $f{entry_size};
	$f{buckets} = $f{history} + $f{history_size};
	$f{rows} = $f{buckets} + $f{nbuckets} * $f{bucket_size};
	die "the file's parts do not add up to its size"
	  unless $f{rows} + $f{nrows} * $f{row_size} + 4 == length($$data);
	return \%f;
}

# --- bad files: truncated, garbage, a flipped byte -------------------------
my @bad = (
	[ 'truncated', sub { truncate($_[0], (-s $_[0]) / 2) or die $! }, qr/truncated/ ],
	[ 'garbage', sub {
		open my $fh, '>', $_[0] or die $!;
		print $fh 'x' x 4096;
		close $fh;
	  }, qr/not a pgpool_stats statistics file/ ],
	[ 'flipped byte', sub {
		open my $fh, '+<', $_[0] or die $!;
		binmode $fh;
		seek $fh, (-s $_[0]) - 40, 0;
		my $c;
		read $fh, $c, 1;
		seek $fh, (-s $_[0]) - 40, 0;
		print $fh chr(ord($c) ^ 0xff);
		close $fh;
	  }, qr/corrupt \(checksum mismatch\)/ ],
	[ 'a history bucket out of range under a valid checksum', sub {
		rewrite_with_crc($_[0], sub {
			my ($data) = @_;
			my $f = file_layout($data);
			die "no history bucket to damage" if $f->{nbuckets} < 1;
			my $last = $f->{buckets} + ($f->{nbuckets} - 1) * $f->{bucket_size};
			# its first_row (a bucket is start, end, samples, first_row,
			# eight bytes each) far past the rows
			substr($$data, $last + 24, 8) = pack 'q<', 1 << 62;
		});
	  }, qr/corrupt \(history rows out of order\)/ ],
	[ 'a bucket being filled that never ends, under a valid checksum', sub {
		rewrite_with_crc($_[0], sub {
			my ($data) = @_;
			# the history part opens with the bucket being filled: its
			# start and end
			substr($$data, file_layout($data)->{history}, 16) = pack 'q<q<', 1, 1 << 62;
		});
	  }, qr/corrupt \(times out of range\)/ ]);
for my $case (@bad)
{
	my ($name, $damage, $why) = @$case;
	$mon = survivors(2);
	ok(poll_bg($mon, "SELECT split_part(($history), '|', 2)", '2'),
		"$name: a closed history bucket holds the connections");
	$mon->quit;
	$node->stop;
	ok(-e $file, "$name: a clean stop wrote the file");
	$damage->($file);
	my $offset = -s $node->logfile;
	$node->start;
	like(slurp_file($node->logfile, $offset),
		qr/pgpool_stats: statistics file "[^"]+" ignored: .*starting empty/,
		"$name: ignored with a LOG line");
	like(slurp_file($node->logfile, $offset), $why, "$name: saying why");
	$mon = bg_session($node, 'monitor');
	is($mon->query_safe(
			"SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'survivor'"),
		'0', "$name: the server works and the statistics start empty");
	ok(!-e $file, "$name: the bad file is gone");
	$mon->quit;
}

# --- a smaller table: the most recently seen keys that fit -----------------
run_psql($node, "dbname=postgres application_name=key_$_", 'SELECT 1') for 1 .. 15;
$mon = bg_session($node, 'monitor');
poll_bg($mon, q{SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections
	 WHERE application_name LIKE 'key_%'}, '0');
my $keys = $mon->query_safe('SELECT entries FROM pgpool_stats_info');
$mon->quit;
$node->append_conf('postgresql.conf', 'pgpool_stats.max_entries = 10');
my $offset = -s $node->logfile;
$node->restart;
like(slurp_file($node->logfile, $offset), qr/pgpool_stats: loaded 10 of $keys keys/,
	'a smaller max_entries: 10 keys loaded, and the log says of how many');
$mon = bg_session($node, 'monitor');
is($mon->query_safe("SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'key_15'"),
	'1', 'the most recently seen key is among them');
$mon->quit;

# --- the worker killed: crash recovery, then everything works --------------
$mon = bg_session($node, 'monitor');
my $pid = $mon->query_safe('SELECT worker_pid FROM pgpool_stats_info');
$mon->quit;
$offset = -s $node->logfile;
kill 'KILL', $pid;
$node->poll_query_until('postgres', 'SELECT worker_pid IS NOT NULL AND samples_taken > 5 FROM pgpool_stats_info')
  or die 'no recovery';
my $log = slurp_file($node->logfile, $offset);
like($log, qr/pgpool_stats collector.*was terminated by signal 9/, 'the kill caused crash recovery');
like($log, qr/all server processes terminated; reinitializing/, 'the server reinitialized');
$mon = bg_session($node, 'monitor');
is($mon->query_safe('SELECT pgpool_stats_sample() >= 1'), 't', 'the extension works after it');
my $crashes = () = slurp_file($node->logfile, $offset) =~ /terminated by signal/g;
is($crashes, 1, 'one crash, no crash loop');
$mon->quit;

$node->stop;
done_testing();
