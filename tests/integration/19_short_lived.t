# Short-lived certificates, real ones: Debian's Pebble 2.4 takes
# certificateValidityPeriod in its config, so it signs 6-hour
# certificates here.  The renewal is due at half the lifetime (under 10
# days); the two random resubmission times fall between then and expiry
# with room for a third; a renew run every 5 minutes against a failing
# CA gets at least three tries before expiry; a pending certificate waits
# for a deploy slot before the live one expires, and is deployed at once
# (renew's why says so) when the live one would expire first.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

$ENV{TZ} = 'UTC';
my $LIFE = 6 * 3600;
my $E = 'urn:ietf:params:acme:error';

my $env = ExpAcme::Env->new(https => 1, proxy => 1, cert_validity => $LIFE);
$env->setup_account(via => 'proxy');
my $state = $env->state_dir . '/certs/server';
$env->make_csr(names => [$env->sni, $env->names(1, 'short-')]);

sub renew_at {
    my ($t) = @_;
    my $r = $env->ctl({env => {EXPACME_TEST_NOW => $t}}, '--json', 'renew');
    return (renew_entry($r), $r);
}
sub status_at { $env->cert_status('server', {env => {EXPACME_TEST_NOW => $_[0]}}) }
sub schedule_json { $env->json->decode($env->slurp("$state/schedule.json") || '{}') }
sub hhmm { my @g = gmtime($_[0]); sprintf '%02d:%02d', $g[2], $g[1] }
sub schedule_time {
    exit_is($env->ctl('schedule', '--auto', 'on', '--time', $_[0]), 0,
            "schedule --auto on --time $_[0]");
}

sign_ok($env, 'sign a 6-hour certificate');
deploy_ok($env, 'deploy it');
my $c = $env->cert_status;
my ($nb, $na) = @{$c->{deployed}}{qw(not_before_epoch not_after_epoch)};
my $life = $na - $nb;
ok(abs($life - $LIFE) <= 2, "Pebble signed a 6-hour certificate ($life s)");
is($c->{deployed}{renewal_due_epoch}, $nb + int($life / 2),
   'status: renewal due at half the lifetime (under 10 days)');

{
    note 'the live certificate expires before the next deploy slot';
    my $now = time;
    sign_ok($env, 'sign the next one');
    my $p2 = $env->pending_pem;
    schedule_time(hhmm($now + 2 * 3600 + 60));
    my ($e, $r) = renew_at($now + 60);
    is($e->{action}, 'none', 'slot in 2 h, the live one lives 6 h: the pending one waits')
        or diag(ExpAcme::Env::explain($r));
    like($e->{why} // '', qr/waits for the next deploy slot/, 'why: waits for the slot');
    cmp_ok($e->{next_slot_epoch}, '<', $na, 'the slot comes before expiry');
    schedule_time(hhmm($now + 12 * 3600));
    ($e, $r) = renew_at($now + 60);
    is($e->{action}, 'deploy', 'slot in 12 h: deployed at once')
        or diag(ExpAcme::Env::explain($r));
    like($e->{why} // '', qr/deployed at once: the current certificate expires before the next deploy slot/,
         'why: the current certificate expires before the next slot');
    is($e->{result}, 'success', 'the deploy succeeded');
    cmp_ok($e->{next_slot_epoch}, '>', $na, 'the slot was after expiry');
    served_is($env, $p2, 'the new certificate is served');
}

$c = $env->cert_status;
($nb, $na) = @{$c->{deployed}}{qw(not_before_epoch not_after_epoch)};
my $due = $c->{deployed}{renewal_due_epoch};
{
    note 'resubmission times of a short life';
    my ($e) = renew_at($due - 60);
    is($e->{action}, 'none', 'before half-life: nothing');
    like($e->{why} // '', qr/not due yet/, 'why: not due yet');
    my @rs = @{status_at($due - 60)->{resubmit_epoch} || []};
    is(scalar @rs, 2, 'status: two resubmission times');
    my $period = int(($na - $due) / 4);
    ok(@rs == 2 && $rs[0] >= $due && $rs[0] < $due + $period
       && $rs[1] >= $due + $period && $rs[1] < $due + 2 * $period,
       "one in each of the next two periods of a quarter of the time left ($period s)")
        or diag(explain({due => $due, not_after => $na, resubmit => \@rs}));
    ok(@rs == 2 && $rs[1] < $na, 'both fall before expiry');
    cmp_ok($due + 3 * $period, '<=', $na, 'and a third period fits before expiry');
}

{
    note 'a renew every 5 minutes from half-life to expiry, the CA failing';
    $env->faults([{match => '^/order-plz', kind => 'status', status => 500,
                   body => {type => "$E:serverInternal", detail => 'down'}}]);
    my (@tries, @late, $plans);
    my $last = '';
    for (my $t = $due; $t < $na; $t += 300) {
        my ($e, $r) = renew_at($t);
        push @tries, $t if ($e->{action} // '') eq 'sign';
        my @rs = @{schedule_json()->{resubmit} || []};
        next if "@rs" eq $last;
        $last = "@rs";
        # A new plan: with 20 minutes or more left, both times before
        # expiry.
        $plans++;
        push @late, [$t, @rs] if $na - $t >= 1200 && grep { $_ >= $na } @rs;
    }
    note "$plans plans of resubmission times";
    note 'tries at ' . join(', ', map { sprintf '+%ds', $_ - $due } @tries);
    cmp_ok(scalar @tries, '>=', 3, 'at least three tries before expiry');
    is(scalar @late, 0, 'no planned resubmission time after expiry')
        or diag(explain(\@late));
    is($env->cert_status->{state}, 'deployed', 'the certificate stays deployed');
    $env->faults([]);
}

done_testing;
