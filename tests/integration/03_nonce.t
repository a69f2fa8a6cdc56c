# badNonce: with Pebble rejecting half of all nonces a 100-name order
# still succeeds (the client retries with the fresh nonce of each error);
# with every nonce rejected the client gives up, in bounded time, naming
# badNonce.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

{
    note 'PEBBLE_WFE_NONCEREJECT=50';
    my $env = ExpAcme::Env->new(nonce_reject => 50);
    exit_is($env->add_provider('pebble'), 0, 'provider add');
    my $r = $env->register('pebble');
    exit_is($r, 0, 'nonce 50%: account register succeeds');
    my @names = $env->names(100, 'nonce-');
    $env->make_csr(names => \@names);
    $r = $env->ctl('sign');
    exit_is($r, 0, 'nonce 50%: sign for 100 names succeeds');
    my $retries = () = $r->{stderr} =~ /rejected the nonce/g;
    cmp_ok($retries, '>', 10, "nonce 50%: the CA did reject nonces "
           . "($retries retries seen)");
    chain_ok($env, 'server', \@names, 'nonce 50%');
    no_tokens($env, 'nonce 50%: no token left');
}

{
    note 'PEBBLE_WFE_NONCEREJECT=100';
    my $env = ExpAcme::Env->new(nonce_reject => 100);
    exit_is($env->add_provider('pebble'), 0, 'provider add');
    my @register = ('account', 'register', '--provider', 'pebble',
                    '--email', 'ops@example.test', '--agree-tos');
    my $r = $env->ctl(@register);
    exit_is($r, 1, 'nonce 100%: account register fails with exit 1');
    ok(!$r->{timed_out} && $r->{elapsed} < 30,
       sprintf('nonce 100%%: gives up in bounded time (%.1fs)',
               $r->{elapsed} // -1));
    stderr_like($r, qr/EXP\d{5}: .*urn:ietf:params:acme:error:badNonce/,
                'nonce 100%: the error names badNonce');
    my $tries = () = $r->{stderr} =~ /rejected the nonce/g;
    cmp_ok($tries, '>=', 1, "nonce 100%: retried before giving up ($tries)");
    ok(!-e $env->state_dir . '/accounts/pebble/account.json',
       'nonce 100%: no account recorded');
    $r = $env->ctl('--json', @register);
    exit_is($r, 1, 'nonce 100%: --json: exit 1');
    json_error_like($r, qr/badNonce/, 'nonce 100%: --json error names badNonce');
}

done_testing;
