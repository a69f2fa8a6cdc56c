package ExpAcme::Test;

# Assertions on expacmectl results (hashes from ExpAcme::Env->ctl) that
# show what the command printed when they fail.

use strict;
use warnings;

use Exporter 'import';
use Test::More;

use ExpAcme::Env;

our @EXPORT = qw(exit_is stderr_like json_error_like sign_ok no_tokens
                 chain_ok progress_lines served_is pair_ok renew_entry
                 deploy_ok);

sub exit_is {
    my ($r, $code, $name) = @_;
    my $ok = is($r->{exit}, $code, $name);
    diag(ExpAcme::Env::explain($r)) unless $ok;
    return $ok;
}

sub stderr_like {
    my ($r, $re, $name) = @_;
    my $ok = like($r->{stderr}, $re, $name);
    diag(ExpAcme::Env::explain($r)) unless $ok;
    return $ok;
}

# With --json, the error is in the JSON too ("ok": false, "error").
sub json_error_like {
    my ($r, $re, $name) = @_;
    my $j = $r->{json};
    my $ok = ok(ref $j eq 'HASH' && !$j->{ok} && defined $j->{error}
                && $j->{error} =~ $re, $name);
    diag(ExpAcme::Env::explain($r)) unless $ok;
    return $ok;
}

# The "expacmectl: ..." progress lines of a run, without the prefix.
sub progress_lines {
    my ($r) = @_;
    return map { s/^expacmectl: //r } grep { /^expacmectl: / }
        split /\n/, $r->{stderr} // '';
}

# sign, expecting success; returns the result.
sub sign_ok {
    my ($env, $name, @args) = @_;
    my $r = $env->ctl(@args, 'sign');
    exit_is($r, 0, $name // 'sign succeeds');
    return $r;
}

sub no_tokens {
    my ($env, $name) = @_;
    my $t = $env->store_tokens;
    my $ok = is(scalar @$t, 0, $name // 'no token left in the challenge store');
    diag(explain($t)) unless $ok;
    return $ok;
}

# The pending chain of CERT: verifies against Pebble's root, carries
# exactly NAMES, is for the key in key.pem; returns the PEM.
sub chain_ok {
    my ($env, $cert, $names, $label) = @_;
    $label //= $cert;
    my $pem = $env->pending_pem($cert);
    ok(defined $pem, "$label: pending show --pem gives the chain")
        or return undef;
    my ($ok, $out) = $env->verify_chain($pem);
    ok($ok, "$label: openssl verify against Pebble's root") or diag($out);
    my @certs = ExpAcme::Env::split_pem($pem);
    ok(@certs >= 2, "$label: leaf and intermediate in the chain");
    is(($certs[1] // '') =~ s/\s+//gr,
       $env->pebble_intermediate_pem =~ s/\s+//gr,
       "$label: the chain carries Pebble's intermediate");
    is_deeply([ExpAcme::Env::cert_dns_names($pem)], [sort map { lc } @$names],
              "$label: the certificate names exactly the CSR's names");
    my $key = $env->state_dir . "/certs/$cert/key.pem";
    is(ExpAcme::Env::cert_pubkey($pem), ExpAcme::Env::key_pubkey($key),
       "$label: the certificate is for the stored key");
    return $pem;
}

# The HTTPS listener presents the leaf of $pem (polled: up to $timeout
# seconds, default 10); returns whether it did.
sub served_is {
    my ($env, $pem, $name, $timeout) = @_;
    my $want = ExpAcme::Env::pem_fingerprint($pem) // 'none';
    my $got;
    ExpAcme::Env::wait_for(sub {
        $got = ExpAcme::Env::pem_fingerprint($env->served_pem) // 'none';
        return $got eq $want;
    }, $timeout // 10, 0.05);
    return is($got, $want, $name);
}

# The live pair (cert_file, key_file, through any symlinks) matches.
sub pair_ok {
    my ($env, $name) = @_;
    my ($ok, $why) = $env->live_pair_ok;
    ok($ok, $name) or diag($why);
    return $ok;
}

# The entry of CERT (default server) in the JSON of `renew --json`.
sub renew_entry {
    my ($r, $cert) = @_;
    my ($e) = grep { ($_->{cert} // '') eq ($cert // 'server') }
        @{($r->{json} || {})->{certificates} || []};
    return $e || {};
}

# deploy, expecting success; returns the result.
sub deploy_ok {
    my ($env, $name, @args) = @_;
    my $r = $env->ctl(@args, 'deploy');
    exit_is($r, 0, $name // 'deploy succeeds');
    return $r;
}

1;
