# Automated renewal, a whole cycle in seconds: EXPACME_TEST_NOW moves
# the clock of renew's decisions (TZ=UTC), Pebble signs and httpd serves
# for real.  schedule --auto on --time 03:00; renew signs the initial
# certificate; before the slot nothing; at the slot deploy (the served
# certificate changes); before 2/3 nothing; after 2/3 but before the
# stored random resubmission time nothing (status shows the times); at
# it, sign; deploy at the next slot; a run that comes after both stored
# times (a timer that missed them) signs too.  Failures back off ~60 s, ~600 s,
# ~6000 s, then daily (+-25 %), kept in schedule.json; a longer
# rateLimited Retry-After is kept; the deployed certificate stays served
# throughout.  A pending certificate waiting for its slot causes no new
# order; a clock far past expiry causes exactly one order per run.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

$ENV{TZ} = 'UTC';
my $E = 'urn:ietf:params:acme:error';

my $env = ExpAcme::Env->new(https => 1, proxy => 1,
                            nonce_reject => 0);    # one POST per order
$env->setup_account(via => 'proxy');
my $state = $env->state_dir . '/certs/server';
$env->make_csr(names => [$env->sni, $env->names(1, 'cyc-')]);

sub renew_at {
    my ($t, $label, %want) = @_;
    my $r = $env->ctl({env => {EXPACME_TEST_NOW => $t}}, '--json', 'renew');
    my $e = renew_entry($r);
    if (defined $want{action}) {
        is($e->{action}, $want{action}, "$label: action $want{action}")
            or diag(ExpAcme::Env::explain($r));
    }
    if (defined $want{why}) {
        like($e->{why} // '', $want{why}, "$label: why says so");
    }
    if (defined $want{result}) {
        is($e->{result}, $want{result}, "$label: result $want{result}")
            or diag(ExpAcme::Env::explain($r));
        exit_is($r, $want{result} eq 'success' ? 0 : 1, "$label: exit code");
    }
    return ($e, $r);
}

# A renew at $t that should sign: renewal due, a stored resubmission
# time passed, no backoff pending.  With strict => 1 it must sign right
# then.  Otherwise, should it wait for a new random resubmission time
# instead (the bug reported with this test: once both stored times have
# passed, renew replaces them by new future ones before deciding, so a
# due renewal, or a retry at next_attempt, waits up to another 12 h),
# the cycle goes on at that time without another failed assertion: the
# strict call catches the bug deterministically.
sub retry_at {
    my ($t, $label, %want) = @_;
    my ($e, $r) = renew_at($t, $label, $want{strict} ? (action => 'sign') : ());
    if (($e->{action} // '') eq 'none') {
        my ($next) = sort { $a <=> $b } @{schedule_json()->{resubmit} || []};
        my $msg = "$label: with both stored resubmission times passed, "
            . 'renew planned new ones and waits '
            . (($next // $t) - $t) . ' s more';
        $want{strict} ? diag($msg) : note($msg);
        $t = $next // $t;
        ($e, $r) = renew_at($t, "$label (at the new random time)");
    }
    is($e->{action}, 'sign', "$label: renew signs") unless $want{strict};
    if (defined $want{result}) {
        is($e->{result}, $want{result}, "$label: result $want{result}")
            or diag(ExpAcme::Env::explain($r));
        exit_is($r, $want{result} eq 'success' ? 0 : 1, "$label: exit code");
    }
    return ($e, $r, $t);
}

sub status_at { $env->cert_status('server', {env => {EXPACME_TEST_NOW => $_[0]}}) }
sub schedule_json { $env->json->decode($env->slurp("$state/schedule.json") || '{}') }
sub orders { scalar grep { $_->{method} eq 'POST' } $env->requests_to(qr{^/order-plz}) }
# The first 03:00 UTC at or after $t.
sub slot_after {
    my ($t) = @_;
    my $s = int($t / 86400) * 86400 + 3 * 3600;
    return $s >= $t ? $s : $s + 86400;
}
# `sign` run by renew records the real time it signed; a renew at a fake
# time signs "now" in the fake timeline: this puts the pending
# certificate's signing time there too, for the next slot.
sub signed_at {
    my ($t) = @_;
    my $meta = $env->json->decode($env->slurp("$state/pending.json"));
    $meta->{signed} = $t + 0;
    $env->write_file("$state/pending.json", $env->json->encode($meta));
}

{
    my $r = $env->ctl('--json', 'schedule', '--auto', 'on', '--time', '03:00');
    exit_is($r, 0, 'schedule --auto on --time 03:00');
    is($r->{json}{time}, '03:00', 'schedule: deploy time 03:00');
    ok($r->{json}{automated}, 'schedule: automated');
    is_deeply($r->{json}{days}, [qw(mon tue wed thu fri sat sun)], 'schedule: every day by default');
    my $c = $env->cert_status;
    ok($c->{automated}, 'status: automated on');
    is($c->{next_deploy_slot_epoch}, slot_after(time), 'status: next deploy slot at 03:00 UTC');
    exit_is($env->ctl('schedule', '--auto', 'on', '--time', '25:00'), 2,
            'schedule --time 25:00: usage error');
    exit_is($env->ctl('schedule', '--auto', 'on', '--days', 'mon,xyz'), 2,
            'schedule --days mon,xyz: usage error');
}

my $selfsigned = $env->slurp($env->live_cert);
my $now = time;
my ($e) = renew_at($now, 'initial renew', action => 'sign',
                   why => qr/initial certificate/, result => 'success');
is(orders(), 1, 'initial renew: one order');
is($env->cert_status->{state}, 'pending', 'initial renew: pending');
my $p1 = $env->pending_pem;
my $signed = $env->json->decode($env->slurp("$state/pending.json"))->{signed};
my $slot = slot_after($signed);

($e) = renew_at($slot - 60, 'a minute before the slot', action => 'none',
                why => qr/waits for the next deploy slot/);
is($e->{next_slot_epoch}, $slot, 'before the slot: next_slot is 03:00 UTC after signing');
served_is($env, $selfsigned, 'before the slot: the old certificate is served');
renew_at($slot, 'at the slot', action => 'deploy', why => qr/deploy slot reached/,
         result => 'success');
served_is($env, $p1, 'at the slot: the new certificate is served');
is(orders(), 1, 'no other order so far');

my $c = status_at($slot);
is($c->{state}, 'deployed', 'status: deployed');
my ($nb, $na) = @{$c->{deployed}}{qw(not_before_epoch not_after_epoch)};
my $life = $na - $nb;
cmp_ok($life, '>=', 10 * 86400, sprintf('Pebble\'s certificate lives %.0f days', $life / 86400));
my $due = $nb + int($life / 3) * 2;
is($c->{deployed}{renewal_due_epoch}, $due, 'status: renewal due at two-thirds');

($e) = renew_at($due - 3600, 'an hour before 2/3', action => 'none',
                why => qr/not due yet/);
is($e->{renewal_due_epoch}, $due, 'renew: renewal_due is 2/3');
$c = status_at($due - 3600);
my @rs = @{$c->{resubmit_epoch} || []};
is(scalar @rs, 2, 'status: two random resubmission times') or diag(explain($c));
ok(@rs == 2 && $rs[0] >= $due && $rs[0] < $due + 43200
   && $rs[1] >= $due + 43200 && $rs[1] < $due + 86400,
   'status: one in each of the next two half-days from 2/3')
    or diag(explain({due => $due, resubmit => \@rs}));
is_deeply(schedule_json()->{resubmit}, \@rs, 'the times are stored in schedule.json');

SKIP: {
    skip 'the first random time fell exactly on 2/3', 3 if $rs[0] == $due;
    renew_at($due, 'at 2/3, before the random time', action => 'none',
             why => qr/waiting for the next random resubmission time/);
    is_deeply(status_at($due)->{resubmit_epoch}, \@rs, 'the resubmission times stay');
}
renew_at($rs[0], 'at the first resubmission time', action => 'sign',
         why => qr/resubmitting the CSR/, result => 'success');
is(orders(), 2, 'one more order');
my ($order) = reverse grep { $_->{method} eq 'POST' } $env->requests_to(qr{^/order-plz});
ok(!exists $order->{payload}{replaces}, 'no ARI at this CA: no "replaces"');
served_is($env, $p1, 'renewal signed: the deployed certificate is still served');
my $p2 = $env->pending_pem;
$c = status_at($rs[0]);
is($c->{state}, 'pending', 'status: pending');
ok(!$c->{resubmit}, 'status: the spent resubmission times are gone');

signed_at($rs[0]);
my $slot2 = slot_after($rs[0]);
renew_at($slot2 - 1, 'renewal pending, a second before its slot', action => 'none',
         why => qr/waits for the next deploy slot/);
renew_at($slot2, 'renewal pending, at its slot', action => 'deploy',
         result => 'success');
served_is($env, $p2, 'the renewed certificate is served');
is(orders(), 2, 'no other order');

note 'failures back off';
$c = status_at($slot2);
($nb, $na) = @{$c->{deployed}}{qw(not_before_epoch not_after_epoch)};
$due = $c->{deployed}{renewal_due_epoch};
renew_at($due - 10, 'just before 2/3', action => 'none');
@rs = @{status_at($due - 10)->{resubmit_epoch} || []};
# The first try at the later of the two times (a timer that missed the
# first one, say): both have passed, and the renewal is due and not
# backing off, so this run must sign; so must each retry at next_attempt.
my $t = $rs[1] // $due;
$env->faults([{match => '^/order-plz', kind => 'status', status => 500,
               body => {type => "$E:serverInternal",
                        detail => 'down for the test'}}]);
my @bands = ([45, 75], [450, 750], [4500, 7500], [64800, 108000],
             [64800, 108000]);
my $n = 0;
for my $band (@bands) {
    $n++;
    my $before = orders();
    my ($f, $r);
    ($f, $r, $t) = retry_at($t, $n == 1 ? 'a run after both resubmission '
                            . 'times (failure 1)' : "failure $n",
                            result => 'failure', strict => $n == 1);
    like($f->{error} // '', qr/serverInternal: down for the test/,
         "failure $n: the CA's problem is the error");
    is(orders(), $before + 1, "failure $n: one order tried");
    my $s = schedule_json();
    is($s->{failures}, $n, "failure $n: schedule.json failures $n");
    my $wait = ($s->{next_attempt} // 0) - $t;
    ok($wait >= $band->[0] && $wait <= $band->[1],
       "failure $n: next attempt in $band->[0]..$band->[1] s ($wait)");
    my $st = status_at($t);
    is($st->{failures}, $n, "failure $n: status failures");
    is($st->{next_attempt_epoch}, $s->{next_attempt}, "failure $n: status next_attempt");
    is($st->{state}, 'deployed', "failure $n: still deployed");
    if ($n <= 2) {
        renew_at($t + $band->[0] - 1, "failure $n, before the next attempt",
                 action => 'none', why => qr/waiting after a failed attempt/);
        is(orders(), $before + 1, "failure $n: no order before the next attempt");
    }
    $t = $s->{next_attempt};
}
served_is($env, $p2, 'after five failures the deployed certificate is still served');

{
    note 'rateLimited: a Retry-After longer than the backoff is kept';
    $env->faults([{match => '^/order-plz', kind => 'status', status => 429,
                   headers => {'Retry-After' => 300000},
                   body => {type => "$E:rateLimited", detail => 'slow down'}}]);
    my $f;
    ($f, undef, $t) = retry_at($t, 'rateLimited', result => 'failure');
    my $s = schedule_json();
    is($s->{failures}, 6, 'rateLimited: failures 6');
    my $wait = ($s->{next_attempt} // 0) - $t;
    ok($wait >= 299990 && $wait <= 300000,
       "rateLimited: next attempt after the CA's Retry-After ($wait s)");
    renew_at($t + 200000, 'rateLimited, later than a day, before Retry-After',
             action => 'none', why => qr/waiting after a failed attempt/);
    $t = $s->{next_attempt};
    $env->faults([{match => '^/order-plz', kind => 'status', status => 429,
                   headers => {'Retry-After' => 100},
                   body => {type => "$E:rateLimited", detail => 'slow down'}}]);
    (undef, undef, $t) = retry_at($t, 'rateLimited, short Retry-After',
                                  result => 'failure');
    $s = schedule_json();
    $wait = ($s->{next_attempt} // 0) - $t;
    ok($wait >= 64800, "a shorter Retry-After does not shorten the backoff ($wait s)");
    $t = $s->{next_attempt};
}
served_is($env, $p2, 'the certificate that could not be renewed is still served');

$env->faults([]);
(undef, undef, $t) = retry_at($t, 'the CA is back', result => 'success');
my $s = schedule_json();
ok(!defined $s->{failures} && !defined $s->{next_attempt},
   'success: failures and next_attempt are cleared');
my $p3 = $env->pending_pem;

{
    note 'a pending certificate waiting for its slot: no new order';
    my $w = slot_after($t) + 3600;    # 04:00: the next slot is 23 h away
    signed_at($w);
    my $before = orders();
    renew_at($w, 'pending waits, renewal of the deployed one due', action => 'none',
             why => qr/waits for the next deploy slot/);
    renew_at($w + 600, 'pending waits, ten minutes later', action => 'none');
    is(orders(), $before, 'no order while the pending certificate waits');
}

{
    note 'the clock far past expiry';
    my $far = $na + 30 * 86400;
    my $before = orders();
    renew_at($far, 'far past expiry, pending', action => 'deploy', result => 'success');
    is(orders(), $before, 'pending: deployed, no order');
    served_is($env, $p3, 'the pending certificate is served');
    my $c3 = status_at($far);
    my $far2 = $c3->{deployed}{not_after_epoch} + 10 * 86400;
    renew_at($far2, 'far past the new certificate\'s expiry', action => 'sign',
             why => qr/resubmitting/, result => 'success');
    is(orders(), $before + 1, 'exactly one order in that run');
    renew_at($far2, 'the same time again', action => 'deploy', result => 'success');
    is(orders(), $before + 1, 'then a deploy, not a second order');

    note 'a deploy that fails in renew backs off too; the live certificate stays';
    my $live = $env->slurp($env->live_cert);
    sign_ok($env, 'sign by hand');
    my $pend = $env->pending_pem;
    $env->set_config(graceful_command => '/bin/false');
    my $t = $far2 + 3600;
    renew_at($t, 'deploy with a failing graceful', action => 'deploy', result => 'failure');
    my $s = schedule_json();
    is($s->{failures}, 1, 'failed deploy: failures 1');
    my $wait = ($s->{next_attempt} // 0) - $t;
    ok($wait >= 45 && $wait <= 75, "failed deploy: next attempt in about a minute ($wait s)");
    served_is($env, $live, 'failed deploy: the live certificate is still served');
    is(status_at($t)->{state}, 'pending', 'failed deploy: still pending');
    renew_at($t + 30, 'before the next attempt', action => 'none',
             why => qr/waiting after a failed attempt/);
    $env->reset_config('graceful_command');
    renew_at($s->{next_attempt}, 'the next attempt', action => 'deploy', result => 'success');
    served_is($env, $pend, 'then the new certificate is served');
}

{
    note 'renew --now';
    sign_ok($env, 'sign by hand');
    my $pend = $env->pending_pem;
    my $r = $env->ctl('--json', 'renew', '--now');
    my $e = renew_entry($r);
    is($e->{action}, 'deploy', 'renew --now with a pending certificate: deploy at once')
        or diag(ExpAcme::Env::explain($r));
    is($e->{why}, 'renew --now', 'why: renew --now');
    served_is($env, $pend, 'served');
    $r = $env->ctl('--json', 'renew', '--now');
    is(renew_entry($r)->{action}, 'none', 'renew --now, a fresh certificate: nothing to do');
}

{
    note 'deploy days and local time';
    my $now = time;
    my $day = int($now / 86400) * 86400;
    my $wday = (gmtime($day + 2 * 86400))[6];
    my $name = (qw(sun mon tue wed thu fri sat))[$wday];
    exit_is($env->ctl('schedule', '--auto', 'on', '--days', $name, '--time', '03:00'), 0,
            "schedule --days $name --time 03:00");
    is(status_at($now)->{next_deploy_slot_epoch}, $day + 2 * 86400 + 3 * 3600,
       "next slot: 03:00 UTC on the next $name");
    exit_is($env->ctl('schedule', '--auto', 'on', '--time', '03:00'), 0,
            'schedule --time 03:00, every day');
    my $st = $env->cert_status('server', {env => {EXPACME_TEST_NOW => $now,
                                                  TZ => 'Asia/Tokyo'}});
    my $slot = $st->{next_deploy_slot_epoch} // 0;
    ok(($slot - 18 * 3600) % 86400 == 0 && $slot >= $now && $slot < $now + 86400,
       'TZ=Asia/Tokyo: the slot is 03:00 JST (18:00 UTC)')
        or diag("slot $slot, now $now");
}

done_testing;
