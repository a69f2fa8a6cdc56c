# The pre-flight self-check (SPEC §12): a name with no address, and
# helper and module pointed at two different stores, are refused before
# any order exists at the CA (no newOrder reaches the fault proxy), one
# line per name saying what was seen; good names pass and sign; the probe
# never stays in the store; `sign --check` only checks (and reports the
# public path as information); `--no-check` goes to the CA regardless.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $new_order = '^/order-plz';
my $env = ExpAcme::Env->new(proxy => 1, nonce_reject => 0, status_page => 1);
$env->setup_account(via => 'proxy');
$env->no_default_address;
my @good = $env->names(2, 'good-');
$env->add_a($_, '127.0.0.1') for @good;
my ($bad) = $env->names(1, 'noaddr-');

note 'a name without an address';
$env->make_csr(names => [@good, $bad]);
$env->proxy_reset;
my $r = $env->ctl('sign');
exit_is($r, 1, 'sign with a name that has no address: exit 1');
stderr_like($r, qr/^expacmectl: check \Q$bad\E \(http-01\): FAILED: no address: .*(?:NXDOMAIN|no such record)/m,
            'one line names the name and what the resolver said');
stderr_like($r, qr/^expacmectl: check \Q$good[0]\E \(http-01\): ok: /m,
            'a good name is reported ok');
stderr_like($r, qr/^expacmectl: EXP\d{5}: pre-flight check failed for 1 of 3 names, no order created: \Q$bad\E/m,
            'the error says no order was created and names the name');
is(scalar $env->requests_to(qr/$new_order/), 0,
   'no newOrder reached the CA');
no_tokens($env, 'no probe left in the store');
my $c = $env->cert_status('server');
is($c->{last_sign}{result}, 'failure', 'status: last_sign failure');
like($c->{last_sign}{detail} // '', qr/\Q$bad\E.*no address/,
     'status: the detail names the name');

note 'helper and module on different stores';
$env->make_csr(names => \@good);
$env->set_config(challenge_store => 'shm:' . $env->dir . '/run/elsewhere');
$env->proxy_reset;
$r = $env->ctl('sign');
exit_is($r, 1, 'different stores: exit 1');
for my $n (@good) {
    stderr_like($r, qr/^expacmectl: check \Q$n\E \(http-01\): FAILED: httpd on 127\.0\.0\.1:\d+ answered 301 .*ExpAcmeChallengeStore the same store as challenge_store/m,
                "$n: the line says what httpd answered and what to check");
}
is(scalar $env->requests_to(qr/$new_order/), 0,
   'no newOrder reached the CA');
no_tokens($env, 'the other store holds no probe');
$env->reset_config('challenge_store');
no_tokens($env, 'the module\'s store holds no probe');

note 'good names pass and sign';
$env->proxy_reset;
$r = sign_ok($env, 'the good names sign');
stderr_like($r, qr/^expacmectl: check \Q$good[1]\E \(http-01\): ok: httpd on 127\.0\.0\.1:\d+ answered the probe/m,
            'the check passed before the order');
is(scalar $env->requests_to(qr/$new_order/), 1, 'one newOrder');
chain_ok($env, 'server', \@good);
no_tokens($env);
$c = $env->cert_status('server');
is_deeply($c->{last_sign}{validated}, {map { $_ => 'http-01' } @good},
          'status: every name validated by http-01');

my $page = $env->http_get('/expacme-status', 'status.example.test');
like($page->{body} // '', qr/\Q$good[0]\E validated by http-01/,
     "the module's status page says which type validated each name");
my $text = $env->ctl('status');
like($text->{stdout}, qr/validated\s+\Q$good[0]\E by http-01/,
     'status (text) says which type validated each name');

note 'sign --check';
$env->make_csr(names => [@good, $bad]);
$env->proxy_reset;
$r = $env->ctl('sign', '--check');
exit_is($r, 1, '--check with a bad name: exit 1');
stderr_like($r, qr/check \Q$good[0]\E: public path \(information only\): /,
            '--check reports the public path as information');
is(scalar $env->requests_to(qr/$new_order/), 0, '--check creates no order');
$env->make_csr(names => \@good);
$r = $env->ctl('--json', 'sign', '--check');
exit_is($r, 0, '--check with good names: exit 0');
is(scalar(grep { $_->{ok} } @{$r->{json}{checks} || []}), 2,
   '--json: both checks ok');
is(scalar $env->requests_to(qr/$new_order/), 0, 'still no order');
no_tokens($env);

note '--no-check';
$env->make_csr(names => [$bad]);
$env->proxy_reset;
$r = $env->ctl('sign', '--no-check');
exit_is($r, 1, '--no-check with a bad name: the CA refuses');
is(scalar $env->requests_to(qr/$new_order/), 1,
   '--no-check: the order was created');
unlike($r->{stderr}, qr/^expacmectl: check /m, '--no-check: no check ran');
no_tokens($env);
$r = $env->ctl('sign', '--check', '--no-check');
exit_is($r, 2, '--check with --no-check: usage error');

done_testing;
