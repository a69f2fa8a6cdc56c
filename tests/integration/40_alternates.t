# Issue 10: alternate chains cannot be turned against a sign.  A CA's 400
# rel="alternate" links cost at most 8 requests; an alternate that returns
# 404 or hangs is given up (within ca_timeout and the order's deadline)
# and the default chain, which was fine, is kept: sign succeeds.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, timeouts => 1, nonce_reject => 0);
# A preferred issuer no chain ends at: every alternate would be fetched.
$env->setup_account(via => 'proxy', args => ['--preferred-chain', 'No Such CA']);
my $base = 'https://127.0.0.1:' . $env->proxy_port;

sub links {
    my ($kind, $n) = @_;
    return join(', ', map { "<$base/$kind/$_>;rel=\"alternate\"" } 1 .. $n);
}

sub sign_with {
    my ($label, $link, @rules) = @_;
    my @names = $env->names(1, "alt$label-");
    $env->make_csr(names => \@names);
    $env->proxy_reset;
    $env->faults([{match => '^/certZ/[^/]+$', kind => 'body',
                   headers => {Link => $link}}, @rules]);
    my $r = $env->ctl('--json', 'sign');
    $env->faults([]);
    exit_is($r, 0, "$label: sign succeeds");
    my ($ok, $out) = $env->verify_chain($env->pending_pem);
    ok($ok, "$label: the default chain is pending and verifies") or diag($out);
    no_tokens($env);
    return $r;
}

{
    note '400 alternates that 404';
    my $r = sign_with('many', links('alt', 400),
                      {match => '^/alt/', kind => 'status', status => 404,
                       content_type => 'application/problem+json',
                       body => {type => 'urn:ietf:params:acme:error:malformed',
                                detail => 'no such chain'}});
    is($r->{json}{alternates}, 400, 'many: all 400 counted as offered');
    my @fetched = $env->requests_to(qr{^/alt/});
    ok(@fetched >= 1 && @fetched <= 8,
       sprintf('many: at most 8 fetched (%d)', scalar @fetched));
}

{
    note 'an alternate that hangs';
    my $r = sign_with('hang', links('hang', 3),
                      {match => '^/hang/', kind => 'hang'});
    my @fetched = $env->requests_to(qr{^/hang/});
    ok(@fetched >= 1, sprintf('hang: fetched (%d)', scalar @fetched));
    # ca_timeout is 3 s, order_timeout 20 s: each hang is cut at 3 s and
    # the order never outlives its deadline by more than a request.
    ok($r->{elapsed} < 20 + 4,
       sprintf('hang: within the order deadline (%.1fs)', $r->{elapsed}));
}

done_testing;
