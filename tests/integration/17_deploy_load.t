# deploy under load, three times in a row (sign, deploy, sign, ...):
# tls_client opens new TLS connections all the time, keeps keep-alive
# connections busy with requests, and downloads a large file slowly on
# others, so that requests are in flight at every graceful.  Zero failed
# connections, handshakes or requests on new connections; keep-alive
# requests and in-flight downloads all complete (one was in flight all
# through each graceful); idle keep-alive connections closed by a graceful are counted
# and reported, not failures; and a new connection started more than a
# second after a deploy returned never sees an older certificate.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(time);
use ExpAcme::Env;
use ExpAcme::Test;

my $BOUND = 1.0;    # s after deploy returns: no older certificate any more
my $BIG = 2 << 20;  # bytes, read at 1 MiB/s: 2 s in flight

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
$env->make_csr(names => [$env->sni, $env->names(1, 'load-')]);
my $d = $env->dir;
$env->write_file("$d/htdocs/index.html", "ok\n");
$env->write_file("$d/htdocs/big.bin", 'x' x $BIG);
my ($stop, $ready) = ("$d/run/load.stop", "$d/run/load.ready");

my @fp = (ExpAcme::Env::pem_fingerprint($env->slurp($env->live_cert)));
$env->spawn('tls_client', {}, $ExpAcme::Env::PYTHON,
            "$FindBin::Bin/tls_client", '--port', $env->https_port,
            '--sni', $env->sni, '--stop', $stop, '--ready', $ready,
            '--new', 4, '--keepalive', 2, '--slow', 3, '--stagger', 0.7,
            '--path', '/index.html', '--big', '/big.bin',
            '--rate', 1 << 20);
ok(ExpAcme::Env::wait_for(sub { -e $ready || !$env->alive('tls_client') }, 20)
   && -e $ready, 'the load is running (new, keep-alive and slow clients)')
    or die('tls_client did not get going: ' . $env->log_tail('tls_client'));

my @deploys;    # [start, end, graceful sent, graceful done] of each deploy
for my $k (1 .. 3) {
    my $r = $env->ctl('sign');
    exit_is($r, 0, "sign $k under load") or last;
    my $pem = $env->pending_pem;
    my $t0 = time;
    $r = $env->ctl('deploy');
    my $t1 = time;
    exit_is($r, 0, sprintf("deploy %d under load (%.2fs)", $k, $t1 - $t0))
        or last;
    # When the graceful ran, from the deploy's progress lines (ms since
    # its start, which is a little after $t0).
    my ($g) = $r->{stderr} =~ /deploy server: graceful \((\d+) ms\)/;
    my ($u) = $r->{stderr} =~ /deploy server: check-up \((\d+) ms\)/;
    push @deploys, [$t0, $t1, $t0 + ($g // 0) / 1000,
                    defined $u ? $t0 + $u / 1000 + 0.05 : $t1];
    push @fp, ExpAcme::Env::pem_fingerprint($pem);
    served_is($env, $pem, "deploy $k: the new certificate is served");
}
# Some load after the last deploy, then stop and collect.
my $until = time + $BOUND + 0.5;
ExpAcme::Env::wait_for(sub { time >= $until }, 5, 0.05);
$env->write_file($stop, "stop\n");
ok(ExpAcme::Env::wait_for(sub { !$env->alive('tls_client') }, 20),
   'tls_client stops');
my ($json) = grep { /^\{/ } split /\n/, $env->slurp("$d/logs/tls_client.log");
my $res = eval { $env->json->decode($json // '') } || {};
ok($res->{new}, 'tls_client reported') or diag($env->log_tail('tls_client'));
my ($new, $ka, $slow, $certs) = @{$res}{qw(new keepalive slow certs)};
$_ ||= {} for $new, $ka, $slow, $certs;

note sprintf('new connections: %d ok; keep-alive: %d requests, %d idle '
             . 'closed; slow: %d downloads, %d idle closed',
             $new->{ok} // 0, $ka->{requests} // 0, $ka->{idle_closed} // 0,
             $slow->{completed} // 0, $slow->{idle_closed} // 0);
cmp_ok($new->{ok} // 0, '>', 50, 'new connections: many requests answered');
is(($new->{connect} // 0), 0, 'new connections: none refused')
    or diag(explain($new->{errors}));
is(($new->{handshake} // 0), 0, 'new connections: no failed handshake')
    or diag(explain($new->{errors}));
is(($new->{http} // 0), 0, 'new connections: no failed request')
    or diag(explain($new->{errors}));
cmp_ok($ka->{requests} // 0, '>', 10, 'keep-alive: requests answered');
is($ka->{failed} // -1, 0, 'keep-alive: no request failed once answered')
    or diag(explain($ka->{errors}));
is($ka->{reconnect_failed} // -1, 0, 'keep-alive: every reconnect worked')
    or diag(explain($ka->{errors}));
is($slow->{failed} // -1, 0, 'slow downloads: none failed')
    or diag(explain($slow->{errors}));
is($slow->{reconnect_failed} // -1, 0, 'slow downloads: every reconnect worked');
note "idle keep-alive connections closed by the reloads: "
    . (($ka->{idle_closed} // 0) + ($slow->{idle_closed} // 0))
    . ' (not failures)';

for my $k (1 .. @deploys) {
    my ($t0, $t1, $gs, $ge) = @{$deploys[$k - 1]};
    ok((grep { $_->[0] <= $gs && $_->[1] >= $ge } @{$slow->{downloads} || []}),
       "deploy $k: a download in flight during its graceful completed")
        or diag(explain({deploy => $deploys[$k - 1],
                         downloads => $slow->{downloads}}));
    my $seen = $certs->{$fp[$k]};
    ok($seen, "deploy $k: new connections saw the new certificate")
        or next;
    note sprintf('deploy %d: first new connection with the new certificate '
                 . '%.3fs after the deploy started; %d connections saw it',
                 $k, $seen->{first} - $t0, $seen->{count});
    for my $j (0 .. $k - 1) {
        my $old = $certs->{$fp[$j]} or next;
        cmp_ok($old->{last}, '<=', $t1 + $BOUND,
               "deploy $k: no connection started over ${BOUND}s after it "
               . "returned saw certificate $j");
    }
}
ok($certs->{$fp[-1]} && $certs->{$fp[-1]}{last} > $deploys[-1][1],
   'after the last deploy, new connections see the last certificate');
my @unknown = grep { my $f = $_; !grep { $_ eq $f } @fp } keys %$certs;
is(scalar @unknown, 0, 'no connection saw a certificate that was never deployed');
ok($env->httpd_alive, 'httpd is running');

done_testing;
