# The challenge window (manual §7): httpd serves HTTPS only and includes
# httpd.d/*.conf; challenge_window_include = httpd.d/window.conf and
# challenge_window_listen = 127.0.0.1:P, P being Pebble's httpPort, where
# nothing listens.  sign opens P (Listen + a challenge-only virtual host,
# graceful) only while the order's challenges are open: Pebble validates
# through it, the module answers the challenge and 404s anything else,
# and afterwards the include is gone and P refuses connections again.
# A sign killed with -9 while the window is open leaves it open; the
# next status, or the next sign, closes it.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1, window => 1, proxy => 1);
$env->setup_account(via => 'proxy');
my $port = $env->http_port;
my $include = $env->include_dir . '/window.conf';
$env->set_config(challenge_window_include => $include,
                 challenge_window_listen => "127.0.0.1:$port");
my @names = ($env->sni, $env->names(1, 'win-'));
$env->make_csr(names => \@names);

sub closed {
    my ($label) = @_;
    ok(!-e $include, "$label: the window include is gone");
    ok(ExpAcme::Env::wait_for(sub { !ExpAcme::Env::port_open($port) }, 10),
       "$label: port $port refuses connections again");
}

ok(!ExpAcme::Env::port_open($port), "before: nothing listens on port $port");
served_is($env, $env->slurp($env->live_cert), 'before: httpd serves HTTPS');

{
    my $r = $env->ctl('sign');
    exit_is($r, 0, 'sign through the challenge window');
    stderr_like($r, qr/opened port 127\.0\.0\.1:$port for the challenge window/,
                'sign: opened the port');
    stderr_like($r, qr/closed port 127\.0\.0\.1:$port again/, 'sign: closed it again');
    chain_ok($env, 'server', \@names, 'through the window');
    closed('after the sign');
    no_tokens($env);
}

# A sign held by the CA (the proxy sits on the challenge answers) with
# its window open.
sub held_sign {
    $env->faults([{match => '^/chalZ/', kind => 'hang'}]);
    my $run = $env->ctl_bg('sign');
    ok($run->wait_stderr(qr/opened port/, 30), 'the sign opened the window');
    ok(ExpAcme::Env::wait_for(sub { $env->requests_to(qr{^/chalZ/}) }, 10),
       'and waits for the CA');
    return $run;
}

{
    note 'while the window is open';
    my $run = held_sign();
    ok(-e $include, 'the include is there');
    like($env->slurp($include), qr/^Listen 127\.0\.0\.1:$port$/m, 'with the Listen');
    like($env->slurp($include), qr/ExpAcmeHttpMode challenge-only/, 'and a challenge-only virtual host');
    ok(ExpAcme::Env::port_open($port), "port $port is open");
    my $t = $env->store_tokens->[0] || {};
    my $res = $env->http_get("/.well-known/acme-challenge/$t->{token}", $t->{host} // '');
    is($res->{status}, 200, 'the challenge is answered on the window');
    is($env->http_get('/', $names[0])->{status}, 404, 'anything else: 404');

    note 'kill -9 with the window open; status closes it';
    $run->kill('KILL');
    is($run->wait(30)->{signal}, 9, 'the sign died of SIGKILL');
    ok(-e $include && ExpAcme::Env::port_open($port), 'the window is still open');
    $env->faults([]);
    my $c = $env->cert_status;
    is($c->{last_sign}{result}, 'interrupted', 'status: last_sign interrupted');
    closed('after status');
    no_tokens($env, 'status withdrew the tokens too');
}

{
    note 'kill -9 with the window open; the next sign closes it';
    my $run = held_sign();
    $run->kill('KILL');
    $run->wait(30);
    $env->faults([]);
    my $r = $env->ctl('sign');
    exit_is($r, 0, 'the next sign succeeds');
    stderr_like($r, qr/withdrew the challenges of an interrupted sign/,
                'it cleaned up after the killed one');
    my $closes = () = $r->{stderr} =~ /closed port 127\.0\.0\.1:$port again/g;
    is($closes, 2, 'it closed the dead run\'s window, then its own');
    closed('after the sign');
    no_tokens($env);
}

ok($env->httpd_alive, 'httpd is running');
served_is($env, $env->slurp($env->live_cert), 'and serves HTTPS as before');

done_testing;
