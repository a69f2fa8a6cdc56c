# deploy's check against a listener that speaks TLS 1.3 only: the check
# first reads the served leaf from a TLS 1.2 first flight in the clear
# and, when the listener does not answer so, falls back to a full
# handshake (helper/base/tls_probe.c).  One HTTPS port, three vhosts by
# SNI: the environment's own (TLS 1.2 allowed: the fast path), one with
# `SSLProtocol -all +TLSv1.3` and an ECDSA pair, and one TLS 1.3-only
# with an ECDSA and an RSA pair (SPEC §2; each kind checked with only its
# signature algorithms).  Each is signed and deployed; `openssl s_client
# -tls1_3` then gets the new leaf (for the dual one, the ECDSA leaf when
# offering only ECDSA, the RSA leaf when offering only RSA), status says
# deployed; and httpd logged nothing at warn or above that its reloads
# had not already logged before the deploys.
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
my $port = $env->https_port;
my $errlog = "$d/logs/error.log";
my %name = (server => $env->sni, t13 => 'tls13.' . $env->tag . '.example.test',
            d13 => 'dual13.' . $env->tag . '.example.test');
my %alg = (ec => ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
           rsa => ['rsa', '-pkeyopt', 'rsa_keygen_bits:2048']);
my %offer = (ec => 'ECDSA+SHA256:ECDSA+SHA384', rsa => 'rsa_pss_rsae_sha256:RSA+SHA256');

# Self-signed pairs to start with, and the TLS 1.3-only vhosts.
my %pairs = (t13 => ['ec'], d13 => ['ec', 'rsa']);
my $conf = '';
for my $c (qw(t13 d13)) {
    $conf .= "<VirtualHost 127.0.0.1:$port>\n    ServerName $name{$c}\n"
        . "    SSLEngine on\n    SSLProtocol -all +TLSv1.3\n";
    for my $k (@{$pairs{$c}}) {
        my ($a, @opt) = @{$alg{$k}};
        ExpAcme::Env::run_quiet('openssl', 'req', '-x509', '-newkey', $a, @opt, '-nodes',
            '-keyout', "$d/live/$c-$k.key", '-out', "$d/live/$c-$k.pem", '-days', '2',
            '-subj', "/CN=$name{$c}", '-addext', "subjectAltName=DNS:$name{$c}");
        chmod 0600, "$d/live/$c-$k.key";
        $conf .= "    SSLCertificateFile $d/live/$c-$k.pem\n"
            . "    SSLCertificateKeyFile $d/live/$c-$k.key\n";
    }
    $conf .= "</VirtualHost>\n";
}
$env->write_file($env->include_dir . '/tls13.conf', $conf);
$env->set_config(cert => {
    t13 => {cert_file => "$d/live/t13-ec.pem", key_file => "$d/live/t13-ec.key", sni => $name{t13}},
    d13 => {cert_file => "$d/live/d13-ec.pem", key_file => "$d/live/d13-ec.key",
            cert_file2 => "$d/live/d13-rsa.pem", key_file2 => "$d/live/d13-rsa.key",
            sni => $name{d13}}});

# s_client to NAME with OPTS: (leaf PEM or undef, what it printed).
sub s_client {
    my ($sni, @opts) = @_;
    my $out = `timeout 5 openssl s_client -connect 127.0.0.1:$port -servername $sni @opts </dev/null 2>&1`;
    my ($leaf) = ExpAcme::Env::split_pem($out);
    return ($leaf, $out);
}
# The leaf of PEM is what a TLS 1.3 client offering OPTS gets (polled).
sub served13_is {
    my ($sni, $pem, $label, @opts) = @_;
    my $want = ExpAcme::Env::pem_fingerprint($pem) // 'none';
    my $got;
    ExpAcme::Env::wait_for(sub {
        $got = ExpAcme::Env::pem_fingerprint((s_client($sni, '-tls1_3', @opts))[0]) // 'none';
        $got eq $want;
    }, 10, 0.05);
    return is($got, $want, $label);
}

my $mark = -s $errlog;
is(system("$ExpAcme::Env::APACHE -f $d/httpd.conf -k graceful"), 0,
   'httpd reloaded with the TLS 1.3-only vhosts');
served13_is($name{t13}, $env->slurp("$d/live/t13-ec.pem"),
            'before: the TLS 1.3-only vhost serves its self-signed leaf');
# What a reload itself logs (certificate-name warnings and the like).
my $reload_log = substr($env->slurp($errlog), $mark);
for my $c (qw(t13 d13)) {
    my ($leaf, $out) = s_client($name{$c}, '-tls1_2');
    ok(!defined $leaf && $out =~ /alert protocol version|unsupported protocol/,
       "before: $c refuses TLS 1.2")
        or diag(join "\n", grep { /alert|error|^New,|Protocol/ } split /\n/, $out);
}
ok(defined((s_client($name{server}, '-tls1_2'))[0]),
   'before: the ordinary vhost speaks TLS 1.2');

$env->make_csr(names => [$name{server}]);
$env->make_csr(cert => 't13', names => [$name{t13}]);
exit_is($env->ctl('--cert', 'd13', 'csr', 'generate', '--cn', $name{d13},
                  '--key-type', 'ec256,rsa2048'), 0, 'd13: csr generate ec256,rsa2048');
my %pem;
for my $c (qw(server t13 d13)) {
    sign_ok($env, "$c: sign", '--cert', $c);
    $pem{$c} = $env->pending_pem($c);
    ok(defined $pem{$c}, "$c: pending");
}
$pem{d13rsa} = $env->slurp($env->state_dir . '/certs/d13/pending2.pem');
is(ExpAcme::Env::cert_key_type($pem{d13rsa}), 'rsa2048', 'd13: the second is RSA');

$mark = -s $errlog;
for my $c (qw(t13 server d13)) {
    my $r = $env->ctl('--json', '--cert', $c, 'deploy');
    exit_is($r, 0, "$c: deploy exit 0");
    is(($r->{json} || {})->{state}, 'deployed', "$c: deploy --json: state deployed");
    my $s = $env->cert_status($c) || {};
    is($s->{state}, 'deployed', "$c: status deployed");
    is(lc($s->{deployed}{serial} // ''), ExpAcme::Env::cert_serial_hex($pem{$c}),
       "$c: status deployed.serial is the pending one");
    is($s->{last_deploy}{result}, 'success', "$c: last_deploy success");
}
served13_is($name{t13}, $pem{t13}, 't13: s_client -tls1_3 gets the new leaf');
served13_is($name{server}, $pem{server}, 'server: s_client -tls1_3 gets the new leaf');
served_is($env, $pem{server}, 'server: s_client (TLS 1.2 allowed) gets the new leaf');
served13_is($name{d13}, $pem{d13}, 'd13: offering only ECDSA gets the new ECDSA leaf',
            '-sigalgs', $offer{ec});
served13_is($name{d13}, $pem{d13rsa}, 'd13: offering only RSA gets the new RSA leaf',
            '-sigalgs', $offer{rsa});
is(($env->cert_status('d13') || {})->{deployed2}{key_type} // '', 'rsa2048',
   'd13: status deployed2 is the RSA certificate');

# warn and above since the deploys began, less what a reload logs anyway.
sub warnings_of {
    my %seen;
    for (split /\n/, $_[0]) {
        next unless /^\[[^\]]*\] \[[\w-]*:(?:emerg|alert|crit|error|warn)\]/;
        s/^\[[^\]]*\] //;
        s/\[pid [^\]]*\] //;
        s/\[client [^\]]*\] //;
        $seen{$_} = 1;
    }
    return %seen;
}
my %reload = warnings_of($reload_log);
my %after = warnings_of(substr($env->slurp($errlog), $mark));
my @new = grep { !$reload{$_} } sort keys %after;
is(scalar @new, 0, 'httpd logged no new warning or error during the deploys')
    or diag(join "\n", @new);
ok($env->httpd_alive, 'httpd is still running');

done_testing;
