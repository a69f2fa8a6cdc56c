# The state lock: while a sign holds it (the CA, through the fault
# proxy, sits on the new order), deploy, renew and schedule wait about
# 5 s and exit 1 "busy" naming the holder; status --json and token list
# answer at once; a command that starts waiting gets the lock as soon
# as the holder is gone.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;
use Time::HiRes qw(time);

my $env = ExpAcme::Env->new(https => 1, proxy => 1);
$env->setup_account(via => 'proxy');
$env->make_csr(names => [$env->sni, $env->names(1, 'lock-')]);

sub hold_lock {
    $env->proxy_reset;
    $env->faults([{match => '^/order-plz', kind => 'hang'}]);
    my $run = $env->ctl_bg('sign');
    ok(ExpAcme::Env::wait_for(sub { $env->requests_to(qr{^/order-plz}) }, 20),
       'a sign is waiting for the CA (and holds the lock)');
    return $run;
}

my $sign = hold_lock();
# All three at once: each waits its 5 s.
my @waiting = map { [$_, $env->ctl_bg(@$_)] }
    ['deploy'], ['renew'], ['schedule', '--auto', 'on'];
for my $w (@waiting) {
    my ($cmd, $run) = @$w;
    my $r = $run->wait(30);
    my $what = join ' ', @$cmd;
    exit_is($r, 1, "$what during the sign: exit 1");
    stderr_like($r, qr/EXP\d{5}: busy: another expacmectl \(pid ${\ $sign->pid}\)/,
                "$what: busy, naming the sign's pid");
    ok($r->{elapsed} >= 4.5 && $r->{elapsed} < 7,
       sprintf("$what: gave up after about 5 s (%.1fs)", $r->{elapsed}));
}
for my $cmd (['status'], ['token', 'list'], ['pending', 'show']) {
    my $r = $env->ctl('--json', @$cmd);
    my $what = join ' ', @$cmd;
    ok($r->{elapsed} < 2, sprintf("$what during the sign: answers at once (%.1fs)",
                                 $r->{elapsed}));
    ok($r->{json}, "$what: --json answer") or diag(ExpAcme::Env::explain($r));
    if ($cmd->[0] eq 'status') {
        my ($c) = grep { $_->{name} eq 'server' } @{$r->{json}{certificates} || []};
        is($c && $c->{state}, 'signing', 'status: state signing');
    }
}
ok($sign->running, 'the sign is still waiting');

{
    note 'the lock passes on when its holder ends';
    my $deploy = $env->ctl_bg('deploy');
    # Without the lock it would be done (nothing pending) in a blink.
    my $t0 = time;
    ExpAcme::Env::wait_for(sub { !$deploy->running || time - $t0 >= 1 }, 5);
    ok($deploy->running, 'a deploy started meanwhile is waiting for the lock');
    $sign->kill('TERM');
    my $s = $sign->wait(15);
    is($s->{exit}, 1, 'the sign, interrupted, exits 1');
    my $r = $deploy->wait(30);
    unlike($r->{stderr}, qr/busy/, 'the waiting deploy got the lock');
    stderr_like($r, qr/no pending certificate/, 'and went on (nothing pending)');
    ok($r->{elapsed} >= 1 && $r->{elapsed} < 5.5,
       sprintf('once the sign had gone, within the 5 s (%.1fs)', $r->{elapsed}));
}

$env->faults([]);
sign_ok($env, 'a sign after all that');
deploy_ok($env, 'and a deploy');

done_testing;
