# Answers that must not be trusted: an oversized body, malformed JSON, a
# certificate download carrying a private key, a certificate for another
# key.  Each fails cleanly (exit 1, one clear line), withdraws the tokens
# and leaves nothing pending.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, timeouts => 1);
$env->setup_account(via => 'proxy');
my $MiB = 1024 * 1024;

my @names = $env->names(2, 'bad-');
$env->make_csr(names => \@names);

sub refused {
    my ($label, $rules, $re, %o) = @_;
    $env->proxy_reset;
    $env->faults($rules);
    my $r = $env->ctl('sign');
    $env->faults([]);
    exit_is($r, 1, "$label: exit 1");
    is($r->{signal}, 0, "$label: no crash");
    my @errors = grep { /EXP\d{5}/ } split /\n/, $r->{stderr};
    is(scalar @errors, 1, "$label: one error line");
    like($errors[0] // '', $re, "$label: the error says why");
    ok(length($r->{stderr}) < 4096, "$label: the error is short ("
       . length($r->{stderr}) . ' bytes of stderr)');
    ok(!$r->{timed_out} && $r->{elapsed} < 15,
       sprintf("$label: fails promptly (%.1fs)", $r->{elapsed}));
    no_tokens($env, "$label: no token left");
    exit_is($env->ctl('pending', 'show'), 1, "$label: nothing pending");
    my $c = $env->cert_status;
    is($c->{last_sign}{result}, 'failure', "$label: status last_sign failure");
    return $r;
}

refused('5 MiB newOrder answer',
        [{match => '^/order-plz', kind => 'body', pad => 5 * $MiB}],
        qr/larger than \d+ bytes/);
refused('5 MiB directory',
        [{match => '^/dir$', kind => 'body', pad => 5 * $MiB}],
        qr/larger than \d+ bytes/);
refused('5 MiB certificate download',
        [{match => '^/certZ/', kind => 'body', pad => 5 * $MiB}],
        qr/larger than \d+ bytes/);
refused('malformed JSON newOrder answer',
        [{match => '^/order-plz', kind => 'body',
          replace => '{"status": "pending", "authorizations": ["https://'}],
        qr/malformed JSON/);
refused('malformed JSON directory',
        [{match => '^/dir$', kind => 'body', replace => "<html>oops</html>"}],
        qr/directory.*malformed JSON/);
refused('JSON array for an authorization',
        [{match => '^/authZ/', kind => 'body', replace => '[1,2,3]'}],
        qr/not an object/);

# The certificate download with a private key appended.
my $stray_key = `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null`;
like($stray_key, qr/-----BEGIN PRIVATE KEY-----/, 'a stray key to append');
refused('certificate download with a PRIVATE KEY block',
        [{match => '^/certZ/', kind => 'body', append => $stray_key}],
        qr/private key/i);
(my $rsa_style = $stray_key) =~ s/PRIVATE KEY/EC PRIVATE KEY/g;
refused('certificate download with an EC PRIVATE KEY block',
        [{match => '^/certZ/', kind => 'body', append => $rsa_style}],
        qr/private key/i);

# A certificate for the right names but another key (self-signed with
# openssl), instead of Pebble's.
{
    my $d = $env->dir;
    my $san = join ',', map { "DNS:$_" } @names;
    ExpAcme::Env::run_quiet('openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', "$d/other.key", '-out', "$d/other.pem", '-days', '2',
        '-subj', "/CN=$names[0]", '-addext', "subjectAltName=$san");
    my $other = $env->slurp("$d/other.pem");
    refused('certificate for another key',
            [{match => '^/certZ/', kind => 'body', replace => $other}],
            qr/not for this key|public keys differ/);
}
refused('certificate download that is no PEM',
        [{match => '^/certZ/', kind => 'body', replace => "hello\n"}],
        qr/certificate/i);

# After all that, the same CSR signs.
{
    my $r = $env->ctl('sign');
    exit_is($r, 0, 'the CSR signs once the CA behaves');
    chain_ok($env, 'server', \@names);
    no_tokens($env);
}

done_testing;
