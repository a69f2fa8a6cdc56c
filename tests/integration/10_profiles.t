# Certificate profiles: where the CA advertises them (directory
# meta.profiles, added by the fault proxy: Pebble 2.4 has none), `sign
# --profile` and the provider's default profile go into newOrder; a
# profile the CA does not offer is refused before any order, naming it.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, nonce_reject => 0);
my $profiles = {classic => 'The same profile as before: 90 days',
                shortlived => 'Six-day certificates, no OCSP'};
$env->faults([{match => '^/dir$', kind => 'body',
               merge => {meta => {profiles => $profiles}}}]);
$env->setup_account(via => 'proxy');

sub new_orders {
    return map { $_->{payload} } $env->requests_to(qr{^/order-plz});
}

{
    my @names = $env->names(1, 'prof-');
    $env->make_csr(cert => 'prof', names => \@names);
    my $r = $env->ctl('--cert', 'prof', 'sign', '--profile', 'shortlived');
    exit_is($r, 0, 'sign --profile shortlived (advertised)');
    my @o = new_orders();
    is(scalar @o, 1, 'one newOrder');
    is($o[0] && $o[0]{profile}, 'shortlived',
       'newOrder payload carries "profile": "shortlived"')
        or diag(explain(\@o));
    is_deeply([map { $_->{value} } @{$o[0]{identifiers} || []}], \@names,
              'newOrder payload: the identifiers');
    chain_ok($env, 'prof', \@names);
}

{
    $env->proxy_reset;
    $env->faults([{match => '^/dir$', kind => 'body',
                   merge => {meta => {profiles => $profiles}}}]);
    my @names = $env->names(1, 'noprof-');
    $env->make_csr(cert => 'noprof', names => \@names);
    my $r = $env->ctl('--cert', 'noprof', 'sign');
    exit_is($r, 0, 'sign without --profile');
    my @o = new_orders();
    ok(@o && !exists $o[0]{profile}, 'newOrder payload has no profile')
        or diag(explain(\@o));
}

{
    $env->proxy_reset;
    $env->faults([{match => '^/dir$', kind => 'body',
                   merge => {meta => {profiles => $profiles}}}]);
    my @names = $env->names(1, 'tls-');
    $env->make_csr(cert => 'tls', names => \@names);
    my $r = $env->ctl('--cert', 'tls', 'sign', '--profile', 'tlsserver');
    exit_is($r, 1, 'sign --profile tlsserver (not offered): exit 1');
    stderr_like($r, qr/EXP\d{5}: .*'tlsserver'/,
                'the error names the profile asked for');
    stderr_like($r, qr/classic.*shortlived|shortlived.*classic/,
                'and the profiles the CA offers');
    is(scalar new_orders(), 0, 'no order was placed');
    no_tokens($env);
    is($env->cert_status('tls')->{last_sign}{result}, 'failure',
       'status: last_sign failure');
}

{
    note "the provider's default profile";
    $env->proxy_reset;
    $env->faults([{match => '^/dir$', kind => 'body',
                   merge => {meta => {profiles => $profiles}}}]);
    my $r = $env->add_provider('pebble', directory => $env->proxy_url,
                               args => ['--profile', 'classic']);
    exit_is($r, 0, 'provider add --profile classic (same provider again)');
    is($r->{json}{provider}{profile}, 'classic', 'provider shows the profile');
    my @names = $env->names(1, 'def-');
    $env->make_csr(cert => 'def', names => \@names);
    $r = $env->ctl('--cert', 'def', 'sign');
    exit_is($r, 0, 'sign with the provider default profile');
    my @o = new_orders();
    is($o[0] && $o[0]{profile}, 'classic',
       'newOrder payload carries the default profile');
    $env->proxy_reset;
    $env->faults([{match => '^/dir$', kind => 'body',
                   merge => {meta => {profiles => $profiles}}}]);
    $r = $env->ctl('--cert', 'def', 'sign', '--profile', 'shortlived');
    exit_is($r, 0, 'sign --profile overrides the default');
    @o = new_orders();
    is($o[0] && $o[0]{profile}, 'shortlived',
       'newOrder payload carries the --profile one');
}

{
    note 'a CA that advertises no profiles';
    $env->proxy_reset;    # no rules: Pebble's own directory
    my @names = $env->names(1, 'none-');
    $env->make_csr(cert => 'none', names => \@names);
    my $r = $env->ctl('--cert', 'none', 'sign', '--profile', 'shortlived');
    exit_is($r, 1, 'sign --profile at a CA without profiles: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*'shortlived'/,
                'the error names the profile');
    is(scalar new_orders(), 0, 'no order was placed');
    no_tokens($env);
}

done_testing;
