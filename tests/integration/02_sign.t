# sign for 1, 10 and 100 names with ECDSA and RSA keys: the certificate
# verifies against Pebble's root, names exactly the CSR's names, is for
# the stored key; the challenge store is empty afterwards.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new;
$env->setup_account;

my @cases = (
    [1, 'ec256'], [1, 'rsa2048'], [10, 'ec384'], [10, 'rsa3072'],
    [100, 'ec256'], [100, 'rsa2048'],
);
for my $case (@cases) {
    my ($n, $type) = @$case;
    my $cert = "c$n-$type";
    my @names = $env->names($n, "$type-$n-");
    $env->make_csr(cert => $cert, names => \@names, key_type => $type);
    my $r = $env->ctl('--cert', $cert, 'sign');
    exit_is($r, 0, "$cert: sign for $n name(s) with a $type key")
        or next;
    my @p = progress_lines($r);
    ok((grep { /^order created: $n authorizations?$/ } @p),
       "$cert: progress: order created");
    ok((grep { /^published $n challenges?$/ } @p),
       "$cert: progress: published $n challenge(s)");
    ok((grep { /^authorizations $n\/$n valid$/ } @p),
       "$cert: progress: authorizations $n/$n valid");
    ok((grep { /^finalizing$/ } @p), "$cert: progress: finalizing");
    ok((grep { /^downloaded the certificate/ } @p),
       "$cert: progress: downloaded");
    like($r->{stdout}, qr/pending certificate for \Q$cert\E staged/,
         "$cert: stdout says the certificate is pending");
    my $pem = chain_ok($env, $cert, \@names);
    is(ExpAcme::Env::cert_key_type($pem // ''), $type,
       "$cert: the certificate's key is $type");
    no_tokens($env, "$cert: no token left in the store");
    my $c = $env->cert_status($cert);
    is($c && $c->{state}, 'pending', "$cert: status state pending");
    is($c && $c->{last_sign}{result}, 'success',
       "$cert: status last_sign.result success");
}

# --json: the result document of sign.
{
    my @names = $env->names(2, 'json-');
    $env->make_csr(cert => 'jsonsign', names => \@names);
    my $r = $env->ctl('--json', '--cert', 'jsonsign', 'sign');
    exit_is($r, 0, 'sign --json');
    my $j = $r->{json} || {};
    ok($j->{ok}, 'sign --json: ok true');
    is($j->{state}, 'pending', 'sign --json: state pending');
    is($j->{provider}, 'pebble', 'sign --json: provider');
    is($j->{cert}, 'jsonsign', 'sign --json: cert');
    unlike($r->{stderr}, qr/order created/,
           'sign --json: no progress chatter on stderr');
}

# No CSR (and so no such certificate): exit 2 naming what to do.
{
    my $r = $env->ctl('--cert', 'nocsr', 'sign');
    exit_is($r, 2, 'sign without a CSR: exit 2 (no such certificate)');
    stderr_like($r, qr/EXP\d{5}: no CSR for nocsr.*csr generate/,
                'the error says to generate a CSR');
}

done_testing;
