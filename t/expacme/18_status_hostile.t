# The status page on a published status that is not what the helper
# writes (or larger than a small one): a FIFO in place of status.flat or status.json (open(2) of a FIFO
# without a writer blocks: a worker must not hang in it), a directory, and
# times out of any date's range (shown as nothing, not as a wrapped year);
# a status.json of thousands of certificates is sent whole.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Fcntl qw(O_WRONLY O_NONBLOCK);
use File::Path qw(make_path);
use POSIX qw(mkfifo);
use Time::HiRes qw(time);
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 19, need_module 'expacme', need_module 'status';

my $json = store_path() . '/status.json';
my $flat = store_path() . '/status.flat';
make_path(store_path(), { mode => 0755 });

# A worker stuck in open(2) of a FIFO is released by a writer opening it.
sub unfifo {
    my ($path) = @_;
    if (sysopen my $w, $path, O_WRONLY | O_NONBLOCK) { close $w }
    unlink $path;
}

sub put {
    my ($path, $text) = @_;
    open my $fh, '>', "$path.tmp" or die "$path.tmp: $!";
    print {$fh} $text;
    close $fh;
    chmod 0644, "$path.tmp";
    rename "$path.tmp", $path or die "rename: $!";
}

unlink $json, $flat;
my $log_from = error_log_size();
put($json, '{"certificates":[]}');
mkfifo($flat, 0644) or die "mkfifo $flat: $!";
my $t0 = time;
my $r = req('expacme_status', 'GET', '/expacme-status');
is($r->{status}, 200, 'status.flat is a FIFO: the page still answers');
cmp_ok(time - $t0, '<', 5, 'at once, not after the worker hung in open(2)');
like($r->{body}, qr/cannot be read/, 'and says the status cannot be read');
$t0 = time;
$r = req('expacme_status', 'GET', '/server-status?auto');
is($r->{status}, 200, 'server-status?auto with the FIFO: answers');
cmp_ok(time - $t0, '<', 5, 'at once');
unfifo($flat);

unlink $json;
mkfifo($json, 0644) or die "mkfifo $json: $!";
$t0 = time;
$r = req('expacme_status', 'GET', '/expacme-status?json');
is($r->{status}, 200, 'status.json is a FIFO: ?json still answers');
cmp_ok(time - $t0, '<', 5, 'at once');
like($r->{body}, qr/"detail":"the published status cannot be read/,
     'saying the status cannot be read');
unfifo($json);

# Thousands of certificates make a large document: still sent verbatim,
# not taken for "not published yet".
my $big = '{"certificates":[' . join(',', map {
    qq({"name":"c$_","state":"deployed","names":["c$_.example.org"],) .
    qq("detail":") . ('x' x 1000) . '"}' } 1 .. 3000) . ']}';
put($json, $big);
$r = req('expacme_status', 'GET', '/expacme-status?json');
is(length $r->{body}, length $big, 'a 3 MB status.json: sent whole');
ok($r->{body} eq $big, 'and verbatim');
unlink $json;

mkdir $json or die "mkdir $json: $!";
$r = req('expacme_status', 'GET', '/expacme-status?json');
is($r->{status}, 200, 'status.json is a directory: ?json answers');
rmdir $json;

put($flat, "expacme-status 1\ncert server\nstate deployed\n"
    . "resubmit 99999999999999999\nresubmit 9223372036854775807\n"
    . "resubmit 1796144724\nend\n");
$r = req('expacme_status', 'GET', '/expacme-status');
is($r->{status}, 200, 'resubmission times out of range: 200');
like($r->{body}, qr/datetime="2026-/, 'the plausible time is shown');
unlike($r->{body}, qr/datetime="(?!2026-)/, 'no other date (no wrapped year)');
my @times = $r->{body} =~ /<time /g;
is(scalar @times, 1, 'one date on the page');
unlink $flat;

# Many thousand repeated lines (the file limit allows some 150000): the
# page is made in time linear in them, not in their square.
put($flat, "expacme-status 1\ncert server\n" . ("name a.example\n" x 60000)
    . "end\n");
$r = req('expacme_status', 'GET', '/expacme-status');
is($r->{status}, 200, '60000 names: the page answers (within the 10 s of req)');
my @names = $r->{body} =~ /a\.example/g;
is(scalar @names, 60000, 'with every name');
unlink $flat;

# What could not be read is logged, once per request, naming the file;
# those lines, expected here, are taken out again for 99_error_log.t.
my @logged = grep { /EXP0102[01]: cannot read/ } error_log_lines_since($log_from);
ok(scalar(grep { /\Q$flat\E/ } @logged), 'the unreadable status.flat is logged');
ok(scalar(grep { /status file \Q$json\E/ } @logged), 'and so is status.json');
my %expected = map { $_ => 1 } @logged;
if (open my $fh, '+<', error_log_path()) {
    my @keep = grep { !$expected{$_} } <$fh>;
    seek $fh, 0, 0;
    truncate $fh, 0;
    print {$fh} @keep;
    close $fh;
}
