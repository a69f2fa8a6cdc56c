# revoke: the deployed certificate is refused without --force (whatever
# file it is read from); a pending certificate revoked with the account
# key, and another with its own key (--key), show as Revoked with the
# reason code in Pebble's management API; a second revocation ends with
# the CA's alreadyRevoked problem verbatim, exit 1; --force revokes the
# deployed one; a wrong --key and an unknown --reason are usage errors.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
my $d = $env->dir;
$env->make_csr(names => [$env->sni, $env->names(1, 'rev-')]);

sub serial_of { ExpAcme::Env::cert_serial_hex($_[0]) }
sub ca_status {
    my ($pem) = @_;
    return $env->cert_status_by_serial(serial_of($pem));
}

sign_ok($env, 'sign');
deploy_ok($env, 'deploy');
my $deployed = $env->slurp($env->live_cert);
is(ca_status($deployed)->{Status}, 'Valid', 'Pebble: the deployed certificate is valid');

{
    note 'the deployed certificate';
    my $r = $env->ctl('revoke', $env->live_cert);
    exit_is($r, 1, 'revoke the deployed certificate: exit 1');
    stderr_like($r, qr/refusing to revoke the certificate deployed for server .*--force/,
                'it is refused, naming --force');
    $env->write_file("$d/copy.pem", $deployed);
    $r = $env->ctl('--json', 'revoke', "$d/copy.pem", '--reason', 'superseded');
    exit_is($r, 1, 'the same certificate from another file: exit 1');
    json_error_like($r, qr/refusing to revoke/, '--json: the refusal is the error');
    is(ca_status($deployed)->{Status}, 'Valid', 'Pebble: still valid');
}

{
    note 'a pending certificate, signed by the account key';
    sign_ok($env, 'sign another (pending)');
    my $pem = $env->pending_pem;
    $env->write_file("$d/pending.pem", $pem);
    my $r = $env->ctl('--json', 'revoke', "$d/pending.pem", '--reason', 'keyCompromise');
    exit_is($r, 0, 'revoke the pending certificate: exit 0');
    is($r->{json}{serial} && lc $r->{json}{serial}, serial_of($pem), '--json: serial');
    is($r->{json}{reason_code}, 1, '--json: reason code 1');
    my $st = ca_status($pem);
    is($st->{Status}, 'Revoked', 'Pebble: Revoked') or diag(explain($st));
    is($st->{Reason}, 1, 'Pebble: reason keyCompromise (1)');
    is(ca_status($deployed)->{Status}, 'Valid', 'Pebble: the deployed one is still valid');

    $r = $env->ctl('revoke', "$d/pending.pem");
    exit_is($r, 1, 'revoke it again: exit 1');
    stderr_like($r, qr/EXP\d{5}: revoke: .*urn:ietf:params:acme:error:alreadyRevoked: Certificate has already been revoked\./,
                'the CA\'s alreadyRevoked problem, verbatim');
}

{
    note 'another certificate, signed by its own key (--key)';
    $env->make_csr(cert => 'other', names => [$env->names(2, 'other-')],
                   key_type => 'rsa2048');
    sign_ok($env, 'sign "other"', '--cert', 'other');
    my $pem = $env->pending_pem('other');
    $env->write_file("$d/other.pem", $pem);
    my $key = $env->state_dir . '/certs/other/key.pem';
    my $r = $env->ctl('revoke', "$d/other.pem", '--key', $env->state_dir . '/certs/server/key.pem');
    exit_is($r, 2, '--key that is not the certificate\'s: exit 2');
    stderr_like($r, qr/is not the key of this certificate/, 'and says so');
    $r = $env->ctl('revoke', "$d/other.pem", '--reason', 'bogus');
    exit_is($r, 2, '--reason bogus: exit 2');
    $r = $env->ctl('--json', 'revoke', "$d/other.pem", '--key', $key,
                   '--reason', 'superseded');
    exit_is($r, 0, 'revoke with the certificate\'s own key: exit 0');
    my $st = ca_status($pem);
    is($st->{Status}, 'Revoked', 'Pebble: Revoked') or diag(explain($st));
    is($st->{Reason}, 4, 'Pebble: reason superseded (4)');
    $r = $env->ctl('revoke', "$d/other.pem", '--key', $key);
    exit_is($r, 1, 'again with --key: exit 1');
    stderr_like($r, qr/urn:ietf:params:acme:error:alreadyRevoked: Certificate has already been revoked\./,
                'alreadyRevoked, verbatim');
}

{
    note '--force';
    my $r = $env->ctl('revoke', $env->live_cert, '--force', '--reason',
                      'cessationOfOperation');
    exit_is($r, 0, 'revoke the deployed certificate with --force: exit 0');
    my $st = ca_status($deployed);
    is($st->{Status}, 'Revoked', 'Pebble: Revoked');
    is($st->{Reason}, 5, 'Pebble: reason cessationOfOperation (5)');
}

done_testing;
