# store: redis
# Redis frozen (SIGSTOP: connections are accepted, nothing is answered):
# concurrent challenge requests each get 404 within ExpAcmeRedisTimeout,
# concurrent plain requests and mod_status answer as if nothing were
# wrong, and once the burst is over no worker is left busy.  Thawed, the
# token is served again without a restart.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use ExpAcme::Redis ();
use File::Temp ();
use List::Util qw(max sum);
use Time::HiRes ();

plan tests => 13, need_module 'expacme', need_module 'status';

use constant TIMEOUT => 0.25;    # ExpAcmeRedisTimeout of t/TEST.PL
use constant SLACK   => 0.75;    # a loaded two-core machine, 8 clients

my $dir = redis_dir();
my $tmp = File::Temp->newdir;

# client(NAME, COUNT, ARGS...): a process sending COUNT requests one
# after the other; writes "status seconds" lines to $tmp/NAME.
sub client {
    my ($name, $count, @args) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    alarm 60;
    open my $out, '>', "$tmp/$name" or die "$tmp/$name: $!";
    for (1 .. $count) {
        my $t0 = Time::HiRes::time();
        my $r = req(@args);
        printf {$out} "%d %.4f\n", $r->{status}, Time::HiRes::time() - $t0;
    }
    close $out;
    exit 0;
}

sub results {
    my $name = shift;
    open my $in, '<', "$tmp/$name" or return ();
    my @r = map { [split] } <$in>;
    close $in;
    return @r;
}

sub busy_workers {
    my $r = req('expacme_status', 'GET', '/server-status?auto');
    return $r->{body} =~ /^BusyWorkers: (\d+)/m ? $1 : undef;
}

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka), 'token served while Redis runs');

my $from = error_log_size();
my $t_from = Time::HiRes::time();
ok(ExpAcme::Redis::freeze($dir), 'Redis frozen (SIGSTOP)');

my @pids;
push @pids, client("chal$_", 10, 'expacme_redirect', 'GET', chal_path($tok)) for 1 .. 5;
push @pids, client("plain$_", 40, 'expacme_redirect', 'GET', '/page') for 1 .. 2;
push @pids, client('status', 10, 'expacme_status', 'GET', '/server-status');
waitpid $_, 0 for @pids;

my @chal = map { results("chal$_") } 1 .. 5;
my @plain = map { results("plain$_") } 1 .. 2;
my @status = results('status');
is(scalar(grep { $_->[0] == 404 } @chal), 50, 'frozen: 50 of 50 concurrent challenge requests 404');
my $slowest = max(map { $_->[1] } @chal) // 99;
cmp_ok($slowest, '<', TIMEOUT + SLACK, 'frozen: each within the timeout')
    or diag "slowest challenge request: ${slowest}s";
my $mean = @chal ? sum(map { $_->[1] } @chal) / @chal : 99;
cmp_ok($mean, '<', TIMEOUT, 'frozen: most fail fast (the child backs off)')
    or diag "mean: ${mean}s";
is(scalar(grep { $_->[0] == 301 } @plain), 80, 'frozen: 80 of 80 concurrent plain requests redirected');
my $plain_slowest = max(map { $_->[1] } @plain) // 99;
cmp_ok($plain_slowest, '<', TIMEOUT, 'frozen: no plain request waited for Redis')
    or diag "slowest plain request: ${plain_slowest}s";
is(scalar(grep { $_->[0] == 200 } @status), 10, 'frozen: mod_status answered all along');

# Only the status request itself may be busy now (polled: a worker that
# just answered may still be finishing its connection).
my $busy = wait_for(sub { my $b = busy_workers(); defined $b && $b <= 1 ? 1 : 0 });
ok($busy, 'frozen: no worker stuck after the burst') or diag 'BusyWorkers: ' . (busy_workers() // '?');
my ($r2) = req('expacme_redirect', 'GET', chal_path($tok));
is($r2->{status}, 404, 'still frozen: still 404');

ok(ExpAcme::Redis::thaw($dir), 'Redis thawed (SIGCONT)');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tok))->{status} == 200 }),
   'thawed: the token is served again without a restart');
my @lines = grep { /EXP01031/ } error_log_lines_since($from);
my %per_child;
for (@lines) {
    $per_child{$1}++ if /\[pid (\d+)/;
}
# One per child per interval (REDIS_STORE_LOG_INTERVAL_MS, 10 s).
my $allowed = 1 + int((Time::HiRes::time() - $t_from) / 10);
ok(!grep({ $per_child{$_} > $allowed } keys %per_child),
   sprintf('frozen: one message per child per 10 s (%d lines, %d children)',
           scalar @lines, scalar keys %per_child)) or diag @lines;
expected_noise($from, 'EXP0103[12]', 'onward');

reset_store();
