# Every request has a timeout: a CA that accepts and never answers, or
# answers one byte a second, fails the sign with a timeout within
# ca_timeout (3 s here) plus a margin; a CA whose authorizations never
# leave "pending" fails it at order_timeout.  The tokens are withdrawn.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $CA_TIMEOUT = 3;
my $MARGIN = 4;
my $ORDER_TIMEOUT = 5;

my $env = ExpAcme::Env->new(proxy => 1, nonce_reject => 0,
                            timeouts => {ca_timeout => $CA_TIMEOUT,
                                         ca_connect_timeout => 2,
                                         order_timeout => $ORDER_TIMEOUT});
$env->setup_account(via => 'proxy');
my $new_order = '^/order-plz';

sub timed_out_ok {
    my ($r, $label) = @_;
    exit_is($r, 1, "$label: exit 1");
    stderr_like($r, qr/^expacmectl: EXP\d{5}: .*(timed out|Timeout)/m,
                "$label: the error says it timed out");
    ok(!$r->{timed_out} && $r->{elapsed} < $CA_TIMEOUT + $MARGIN,
       sprintf("$label: within ca_timeout + %ds (%.1fs)", $MARGIN,
               $r->{elapsed}));
    cmp_ok($r->{elapsed}, '>=', $CA_TIMEOUT - 0.5,
           "$label: after waiting about ca_timeout");
}

my @names = $env->names(2, 'to-');
$env->make_csr(names => \@names);

{
    $env->faults([{match => $new_order, kind => 'hang'}]);
    my $r = $env->ctl('sign');
    timed_out_ok($r, 'newOrder hangs');
    stderr_like($r, qr/order-plz/, 'newOrder hangs: the error names the URL');
    is(scalar $env->requests_to($new_order), 1,
       'newOrder hangs: asked once (no blind retry of a POST)');
    no_tokens($env);
    is($env->cert_status->{last_sign}{result}, 'failure',
       'newOrder hangs: status last_sign failure');
}

{
    $env->proxy_reset;
    $env->faults([{match => '^/dir$', kind => 'hang'}]);
    my $r = $env->ctl('sign');
    timed_out_ok($r, 'directory hangs');
}

{
    $env->proxy_reset;
    $env->faults([{match => $new_order, kind => 'trickle', interval => 1}]);
    my $r = $env->ctl('sign');
    timed_out_ok($r, 'newOrder trickles 1 byte/s');
    no_tokens($env);
}

{
    $env->proxy_reset;
    $env->faults([{match => '^/chalZ/', kind => 'hang'}]);
    my $r = $env->ctl('sign');
    timed_out_ok($r, 'challenge answer hangs after publishing');
    like($r->{stderr}, qr/published 2 challenges/,
         'challenge answer hangs: the challenges had been published');
    no_tokens($env, 'challenge answer hangs: tokens withdrawn');
}

{
    $env->proxy_reset;
    $env->faults([{match => '^/authZ/', kind => 'body',
                   merge => {status => 'pending'}}]);
    my $r = $env->ctl('sign');
    exit_is($r, 1, 'authorizations stuck pending: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*timed out/,
                'authorizations stuck pending: the error says timed out');
    ok(!$r->{timed_out} && $r->{elapsed} < $ORDER_TIMEOUT + $CA_TIMEOUT + $MARGIN,
       sprintf('authorizations stuck pending: ends at order_timeout '
               . '(%.1fs)', $r->{elapsed}));
    cmp_ok($r->{elapsed}, '>=', $ORDER_TIMEOUT - 2.5,
           'authorizations stuck pending: polled until near the deadline');
    my $polls = () = $env->requests_to(qr{^/authZ/});
    cmp_ok($polls, '<', 200, "polls with backoff ($polls authorization "
           . 'requests)');
    no_tokens($env, 'authorizations stuck pending: tokens withdrawn');
}

{
    $env->proxy_reset;
    my $r = $env->ctl('sign');
    exit_is($r, 0, 'the same CSR signs once the CA behaves');
    chain_ok($env, 'server', \@names);
    no_tokens($env);
}

done_testing;
