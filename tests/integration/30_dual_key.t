# RSA + ECDSA for one name (SPEC §2): `csr generate --key-type
# ec256,rsa2048` makes two keys (both 0600) and two CSRs; sign runs one
# order per key; deploy stages both into one generation, links
# cert_file2/key_file2, and the vhost (two SSLCertificateFile lines)
# serves the ECDSA leaf to a client offering only ECDSA signature
# algorithms and the RSA leaf to one offering only RSA; one graceful.
# Two keys of one kind, and --reuse-key with two, are usage errors.
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
my $name = 'dual.' . $env->tag . '.example.test';
my $state = $env->state_dir . '/certs/dual';

# The vhost starts with a self-signed pair of each kind.
my %self = (ec => ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
            rsa => ['rsa', '-pkeyopt', 'rsa_keygen_bits:2048']);
for my $k (sort keys %self) {
    my ($alg, @opt) = @{$self{$k}};
    ExpAcme::Env::run_quiet('openssl', 'req', '-x509', '-newkey', $alg, @opt, '-nodes',
        '-keyout', "$d/live/dual-$k.key", '-out', "$d/live/dual-$k.pem", '-days', '2',
        '-subj', "/CN=$name", '-addext', "subjectAltName=DNS:$name");
    chmod 0600, "$d/live/dual-$k.key";
}
my $port = $env->https_port;
$env->write_file($env->include_dir . '/dual.conf', <<"VH");
<VirtualHost 127.0.0.1:$port>
    ServerName $name
    SSLEngine on
    SSLCertificateFile $d/live/dual-ec.pem
    SSLCertificateKeyFile $d/live/dual-ec.key
    SSLCertificateFile $d/live/dual-rsa.pem
    SSLCertificateKeyFile $d/live/dual-rsa.key
</VirtualHost>
VH
my $apache = "$ExpAcme::Env::APACHE -f $d/httpd.conf";
is(system("$apache -k graceful"), 0, 'httpd reloaded with the dual vhost');
$env->write_file("$d/graceful.sh", "#!/bin/sh\necho graceful >> $d/reloads.log\nexec $apache -k graceful\n", 0755);
$env->set_config(graceful_command => "$d/graceful.sh",
                 cert => {dual => {cert_file => "$d/live/dual-ec.pem", key_file => "$d/live/dual-ec.key",
                                   cert_file2 => "$d/live/dual-rsa.pem",
                                   key_file2 => "$d/live/dual-rsa.key", sni => $name}});

# The leaf a client offering only SIGALGS gets (PEM), polled.
sub served_kind {
    my ($sigalgs) = @_;
    my $out = `timeout 5 openssl s_client -connect 127.0.0.1:$port -servername $name -sigalgs '$sigalgs' </dev/null 2>/dev/null`;
    my ($leaf) = ExpAcme::Env::split_pem($out);
    return $leaf;
}
my %offer = (ec => 'ECDSA+SHA256:ECDSA+SHA384', rsa => 'rsa_pss_rsae_sha256:RSA+SHA256');
sub key_kind {
    my ($pem) = @_;
    my $t = ExpAcme::Env::_x509_text($pem // '', '-text');
    return $t =~ /id-ecPublicKey/ ? 'ec' : $t =~ /rsaEncryption/ ? 'rsa' : 'none';
}
for my $k (qw(ec rsa)) {
    is(key_kind(served_kind($offer{$k})), $k, "before: a client offering only $k gets the $k leaf");
}

{
    note 'usage errors';
    my $r = $env->ctl('--cert', 'dual', 'csr', 'generate', '--cn', $name, '--key-type', 'ec256,ec384');
    exit_is($r, 2, 'two ECDSA keys: exit 2');
    stderr_like($r, qr/one ECDSA and one RSA/, 'two ECDSA keys: the error says why');
    $r = $env->ctl('--cert', 'dual', 'csr', 'generate', '--cn', $name, '--key-type', 'ec256,rsa2048',
                   '--reuse-key');
    exit_is($r, 2, '--reuse-key with two key types: exit 2');
    $r = $env->ctl('--cert', 'dual', 'csr', 'generate', '--cn', $name, '--key-type', 'ec256,rsa999');
    exit_is($r, 2, 'an unknown second key type: exit 2');
    ok(!-e "$state/csr.pem", 'usage errors: no CSR was stored');
}

my $r = $env->ctl('--json', '--cert', 'dual', 'csr', 'generate', '--cn', $name,
                  '--key-type', 'ec256,rsa2048');
exit_is($r, 0, 'csr generate --key-type ec256,rsa2048');
for my $f (qw(key.pem key2.pem)) {
    is((stat "$state/$f")[2] & 07777, 0600, "$f is 0600");
}
ok(-s "$state/csr2.pem", 'a second CSR');
is(ExpAcme::Env::key_pubkey("$state/key2.pem") =~ /BEGIN PUBLIC KEY/ ? 1 : 0, 1, 'key2.pem is a key');

# A second CSR for other names than the first: refused before any order.
{
    my $kept = $env->slurp("$state/csr2.pem");
    ExpAcme::Env::run_quiet('openssl', 'req', '-new', '-key', "$state/key2.pem",
        '-subj', '/CN=other.example.test', '-addext',
        'subjectAltName=DNS:other.example.test', '-out', "$state/csr2.pem");
    my $r = $env->ctl('--cert', 'dual', 'sign');
    exit_is($r, 1, 'csr2.pem for other names: sign fails');
    stderr_like($r, qr/EXP02414.*csr2\.pem names other names than csr\.pem/,
                'csr2.pem for other names: the error says which file');
    ok(!-e "$state/pending.pem" && !-e "$state/pending2.pem",
       'csr2.pem for other names: nothing pending');
    $env->write_file("$state/csr2.pem", $kept);
}

$r = $env->ctl('--cert', 'dual', 'sign');
exit_is($r, 0, 'sign: one order per key');
ok(-s "$state/pending.pem" && -s "$state/pending2.pem", 'both certificates pending');
my $p1 = $env->slurp("$state/pending.pem");
my $p2 = $env->slurp("$state/pending2.pem");
is(key_kind($p1), 'ec', 'the first is ECDSA');
is(key_kind($p2), 'rsa', 'the second is RSA');
is(ExpAcme::Env::cert_pubkey($p2), ExpAcme::Env::key_pubkey("$state/key2.pem"),
   'the second is for key2.pem');
is_deeply([ExpAcme::Env::cert_dns_names($p2)], [$name], 'the second names the name');
no_tokens($env);

unlink "$d/reloads.log";
$r = $env->ctl('--cert', 'dual', 'deploy');
exit_is($r, 0, 'deploy both') or diag(ExpAcme::Env::explain($r));
my @reloads = split /\n/, $env->slurp("$d/reloads.log");
is(scalar @reloads, 1, 'one graceful for both');
is(ExpAcme::Env::pem_fingerprint(served_kind($offer{ec})), ExpAcme::Env::pem_fingerprint($p1),
   'a client offering only ECDSA gets the new ECDSA leaf');
is(ExpAcme::Env::pem_fingerprint(served_kind($offer{rsa})), ExpAcme::Env::pem_fingerprint($p2),
   'a client offering only RSA gets the new RSA leaf');
ok(-l "$d/live/dual-rsa.pem" && -l "$d/live/dual-rsa.key", 'cert_file2 and key_file2 are links');
is($env->slurp("$d/live/dual-rsa.pem"), $p2, 'cert_file2 holds the RSA chain');
is((stat "$d/live/dual-rsa.key")[2] & 07777, 0600, 'key_file2 is 0600');
ok(!-e "$state/pending2.pem", 'nothing pending after the deploy');

my $c = $env->cert_status('dual');
is($c->{state}, 'deployed', 'status: deployed');
is($c->{key_type}, 'ec256', 'status: key_type ec256');
is($c->{key_type2}, 'rsa2048', 'status: key_type2 rsa2048');
is($c->{deployed2}{key_type} // '', 'rsa2048', 'status: the second deployed certificate is RSA');

{
    note 'a deploy whose second pair is not served rolls both back';
    exit_is($env->ctl('--cert', 'dual', 'sign'), 0, 'sign again');
    # The vhost loses its RSA pair: the RSA probe gets the ECDSA leaf.
    $env->write_file($env->include_dir . '/dual.conf', <<"VH");
<VirtualHost 127.0.0.1:$port>
    ServerName $name
    SSLEngine on
    SSLCertificateFile $d/live/dual-ec.pem
    SSLCertificateKeyFile $d/live/dual-ec.key
</VirtualHost>
VH
    $env->set_config(deploy_timeout => 2);
    my $r = $env->ctl('--cert', 'dual', 'deploy');
    exit_is($r, 1, 'deploy: exit 1');
    stderr_like($r, qr/deploy failed at step check-served: .*offering only RSA/,
                'the RSA check failed');
    is($env->slurp("$d/live/dual-ec.pem"), $p1, 'the previous ECDSA chain is live again');
    is($env->slurp("$d/live/dual-rsa.pem"), $p2, 'the previous RSA chain is live again');
}

done_testing;
