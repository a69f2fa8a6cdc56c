# tls-alpn-01 (RFC 8737) answered by the module inside mod_ssl: Pebble's
# tlsPort is httpd's HTTPS listener and there is no plain-HTTP listener
# at all.  sign succeeds with `challenges = tls-alpn-01`; while the
# challenge is open an acme-tls/1 handshake gets the challenge
# certificate (acmeIdentifier extension) and an ordinary TLS client on
# the same port the real certificate; afterwards acme-tls/1 no longer
# gets it; the pre-flight check refuses a second store; a killed helper's
# answer is withdrawn by the next run.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(
    https => {httpd_extra => 'Protocols http/1.1 acme-tls/1'},
    window => 1, alpn => 1, proxy => 1, nonce_reject => 0);
$env->setup_account(via => 'proxy');
ok(!ExpAcme::Env::port_open($env->http_port),
   'no plain-HTTP listener at all');
my $sni = $env->sni;
my @names = ($sni, $env->names(1, 'alpn-'));
$env->set_config(cert => {server => {challenges => 'tls-alpn-01'}});
my $answers = $env->store_path . '.tls-alpn';

# The leaf an acme-tls/1 client gets for NAME (PEM text), or ''.
sub alpn_leaf {
    my ($name) = @_;
    my $cmd = sprintf('timeout 5 openssl s_client -connect 127.0.0.1:%d '
                      . '-servername %s -alpn acme-tls/1 </dev/null 2>&1',
                      $env->https_port, $name);
    my ($leaf) = ExpAcme::Env::split_pem(scalar `$cmd`);
    return $leaf // '';
}

sub has_acme_identifier {
    my ($pem) = @_;
    return 0 unless $pem;
    open my $fh, '|-', 'openssl x509 -noout -text > ' . $env->dir . '/x.txt'
        or return 0;
    print $fh $pem;
    close $fh;
    return ExpAcme::Env::_slurp($env->dir . '/x.txt')
        =~ /1\.3\.6\.1\.5\.5\.7\.1\.31:\s*critical/;
}

my $live = $env->served_pem;
ok($live, 'the HTTPS listener serves the live certificate');
ok(!has_acme_identifier(alpn_leaf($sni)),
   'no challenge open: acme-tls/1 gets no challenge certificate');

note 'sign, with the challenge held open for a moment';
$env->make_csr(names => \@names);
# The answer to the challenge POST waits 2 s: the window stays open
# while the ordinary and acme-tls/1 clients look.
$env->faults([{match => '^/chalZ/', kind => 'delay', seconds => 2}]);
my $run = $env->ctl_bg('sign');
# "published": the pre-flight probe (an answer of its own, withdrawn at
# once) is over and the challenge's answers are in place.
ok($run->wait_stderr(qr/published \d+ challenges/, 20) &&
       -e "$answers/$names[1]",
   'the helper published the tls-alpn-01 answer beside the store');
my $mode = (stat "$answers/$names[1]")[2] & 07777;
is(sprintf('%o', $mode), '644', 'the answer file is 0644 (throwaway key)');
is(ExpAcme::Env::pem_fingerprint($env->served_pem),
   ExpAcme::Env::pem_fingerprint($live),
   'during the window: an ordinary client gets the real certificate');
my $challenge = alpn_leaf($names[1]);
ok(has_acme_identifier($challenge),
   'during the window: acme-tls/1 gets the challenge certificate');
is_deeply([ExpAcme::Env::cert_dns_names($challenge)], [lc $names[1]],
          'for exactly the name asked');
my $res = $run->wait(60);
is($res->{exit}, 0, 'sign succeeds with tls-alpn-01 only')
    or diag(ExpAcme::Env::explain($res));
$env->faults([]);
like($res->{stderr}, qr/check \Q$sni\E \(tls-alpn-01\): ok: httpd on 127\.0\.0\.1:\d+ answered the acme-tls\/1 probe/,
     'the pre-flight check did the acme-tls/1 handshake');
chain_ok($env, 'server', \@names);
my $c = $env->cert_status('server');
is_deeply($c->{last_sign}{validated}, {map { $_ => 'tls-alpn-01' } @names},
          'status: validated by tls-alpn-01');
opendir(my $dh, $answers) or die "$answers: $!";
my @left = grep { !/^\./ } readdir $dh;
is(scalar @left, 0, 'no answer left beside the store') or diag("@left");
ok(!has_acme_identifier(alpn_leaf($names[1])),
   'after the window: acme-tls/1 gets no challenge certificate');
is(ExpAcme::Env::pem_fingerprint($env->served_pem),
   ExpAcme::Env::pem_fingerprint($live),
   'after the window: an ordinary client gets the real certificate');
no_tokens($env);

note 'deploy the result';
my $pem = $env->pending_pem;
deploy_ok($env, 'deploy');
served_is($env, $pem, 'the new certificate is served');

note 'a TLS virtual host without acme-tls/1 in Protocols';
my $noalpn = 'noalpn.' . $env->tag . '.example.test';
my $d = $env->dir;
# A certificate of its own, so that the reload shows when it took effect.
system('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
       'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$d/noalpn.key",
       '-out', "$d/noalpn.pem", '-days', '2', '-subj', "/CN=$noalpn",
       '-addext', "subjectAltName=DNS:$noalpn") == 0 or die 'openssl req';
chmod 0644, "$d/noalpn.key";
open my $fh, '>', "$d/httpd.d/noalpn.conf" or die $!;
print $fh <<"VHOST";
<VirtualHost 127.0.0.1:@{[$env->https_port]}>
    ServerName $noalpn
    SSLEngine on
    SSLCertificateFile $d/noalpn.pem
    SSLCertificateKeyFile $d/noalpn.key
    Protocols http/1.1
</VirtualHost>
VHOST
close $fh;
system($ExpAcme::Env::APACHE, '-f', $env->httpd_conf, '-k', 'graceful') == 0
    or die 'graceful failed';
my $own = ExpAcme::Env::pem_fingerprint(ExpAcme::Env::_slurp("$d/noalpn.pem"));
ok(ExpAcme::Env::wait_for(sub {
       (ExpAcme::Env::pem_fingerprint($env->served_pem($noalpn) // '') // '')
           eq $own }, 15),
   'the new virtual host serves its own certificate');
$env->set_config(cert => {noalpn => {challenges => 'tls-alpn-01'}});
$env->make_csr(cert => 'noalpn', names => [$noalpn]);
$env->proxy_reset;
my $nr = $env->ctl('--cert', 'noalpn', 'sign');
exit_is($nr, 1, 'a vhost without acme-tls/1: refused');
stderr_like($nr, qr/check \Q$noalpn\E \(tls-alpn-01\): FAILED: .*acme-tls\/1 in Protocols/,
            'the line says to add acme-tls/1 to Protocols');
is(scalar $env->requests_to(qr/^\/order-plz/), 0, 'no order created');
ok(!-e "$answers/$noalpn", 'the probe answer was withdrawn');

note 'helper on another store';
$env->set_config(challenge_store => 'shm:' . $env->dir . '/run/elsewhere');
$env->proxy_reset;
my $r = $env->ctl('sign');
exit_is($r, 1, 'another store: refused');
stderr_like($r, qr/check \Q$sni\E \(tls-alpn-01\): FAILED: /,
            'the line names the name');
is(scalar $env->requests_to(qr/^\/order-plz/), 0, 'no order created');
$env->reset_config('challenge_store');

note 'kill -9 mid-order';
$env->faults([{match => '^/chalZ/', kind => 'delay', seconds => 5}]);
$run = $env->ctl_bg('sign');
ok($run->wait_stderr(qr/published \d+ challenges/, 20) &&
       -e "$answers/$names[1]",
   'published')
    or diag('running: ' . ($run->running ? 'yes' : 'no') . "\nstderr:\n"
            . $run->stderr);
$run->kill('KILL');
$run->wait(30);
$env->faults([]);
ok(-e "$answers/$names[1]", 'the killed helper left its answer');
$c = $env->cert_status('server');
is($c->{last_sign}{result}, 'interrupted', 'status: interrupted');
ok(!-e "$answers/$names[1]", 'the next run withdrew it');

done_testing;
