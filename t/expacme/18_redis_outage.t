# store: redis
# Redis stopped in the middle: challenge requests get 404 within
# ExpAcmeRedisTimeout (250 ms in this suite), redirects keep their speed,
# the error log says so once per interval per httpd child (not once per
# request); once Redis is back, the next challenge is served without a
# restart of httpd.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use ExpAcme::Redis ();
use List::Util qw(max);
use Time::HiRes ();

plan tests => 17, need_module 'expacme';

use constant TIMEOUT => 0.25;    # ExpAcmeRedisTimeout of t/TEST.PL
use constant BACKOFF_MAX => 1.0; # a child's longest wait before a retry
# What a loaded two-core machine may add to a request, on top of it.
use constant SLACK => 0.5;

my $dir = redis_dir();

sub timed {
    my @args = @_;
    my $t0 = Time::HiRes::time();
    my $r = req(@args);
    return ($r, Time::HiRes::time() - $t0);
}

# Sends $n requests; returns (number with status $want, slowest seconds).
sub burst {
    my ($n, $want, @args) = @_;
    my ($good, @took) = (0);
    for (1 .. $n) {
        my ($r, $t) = timed(@args);
        $good++ if $r->{status} == $want;
        push @took, $t;
    }
    return ($good, max(@took));
}

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka), 'token served while Redis runs');
my ($good, $slowest) = burst(20, 301, 'expacme_redirect', 'GET', '/page');
is($good, 20, 'redirects before the outage');

my $from = error_log_size();
my $t_from = Time::HiRes::time();
ok(ExpAcme::Redis::stop($dir, save => 1), 'Redis stopped (its data saved)');

($good, $slowest) = burst(30, 404, 'expacme_redirect', 'GET', chal_path($tok));
is($good, 30, 'Redis down: 30 of 30 challenge requests 404');
cmp_ok($slowest, '<', TIMEOUT + SLACK, 'Redis down: each within the timeout')
    or diag "slowest: ${slowest}s";
($good) = burst(10, 404, 'expacme_chonly', 'GET', chal_path(new_token()));
is($good, 10, 'Redis down: challenge-only vhost 404 too');
($good) = burst(10, 404, 'expacme_redirect', 'GET', CHAL . 'bad%2Ftoken');
is($good, 10, 'Redis down: invalid token 404 (the window cannot be known)');

($good, $slowest) = burst(30, 301, 'expacme_redirect', 'GET', '/page');
is($good, 30, 'Redis down: redirects unaffected');
cmp_ok($slowest, '<', TIMEOUT, 'Redis down: no redirect waits for Redis')
    or diag "slowest: ${slowest}s";
my ($head) = timed('expacme_redirect', 'HEAD', chal_path($tok));
is($head->{status}, 301, 'Redis down: HEAD on the challenge path redirects');

my @lines = grep { /EXP01031/ } error_log_lines_since($from);
my %per_child;
for (@lines) {
    $per_child{$1}++ if /\[pid (\d+)/;
}
ok(@lines >= 1, 'the outage is in the error log') or diag 'no EXP01031 line';
# One per child per interval (REDIS_STORE_LOG_INTERVAL_MS, 10 s).
my $allowed = 1 + int((Time::HiRes::time() - $t_from) / 10);
my @noisy = grep { $per_child{$_} > $allowed } keys %per_child;
ok(!@noisy, sprintf('one message per child in the interval (%d lines, %d children, 80 failures)',
                    scalar @lines, scalar keys %per_child))
    or diag @lines;
like($lines[0] // '', qr/unavailable: .*challenge requests get 404/, 'the message says what happens');

# Back: the same data (saved at shutdown), no httpd restart.
ok(ExpAcme::Redis::start($dir), 'Redis started again');
my $t_up = Time::HiRes::time();
my $r = wait_for(sub {
    my $x = req('expacme_redirect', 'GET', chal_path($tok));
    $x->{status} == 200 && $x;
});
ok($r, 'Redis back: the token is served again without a restart');
# A child that failed while Redis was down tries again only after its
# backoff (BACKOFF_MAX_MS, 1 s, in redis_store.c), counted from its last
# failure, which a connect under way when Redis came back can put up to
# ExpAcmeRedisTimeout later: past that bound every child must serve it.
my $bound = $t_up + BACKOFF_MAX + TIMEOUT + SLACK;
my $left = $bound - Time::HiRes::time();
Time::HiRes::sleep($left) if $left > 0;
($good) = burst(20, 200, 'expacme_redirect', 'GET', chal_path($tok));
is($good, 20, 'Redis back: every child serves it past its backoff, without a restart');
ok(wait_for(sub { grep { /EXP01032: .*answers again/ } error_log_lines_since($from) }),
   'the recovery is in the error log');
expected_noise($from, 'EXP0103[12]', 'onward');

reset_store();
