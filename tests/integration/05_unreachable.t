# The CA unreachable: a provider whose directory does not answer fails
# the sign naming the URL; with --fallback the sign goes to the fallback
# provider, and stderr and status say so.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, timeouts => 1);
# "pebble": straight at Pebble; "solo" and "primary" (fallback pebble):
# at the fault proxy, which is then killed (connection refused).
$env->setup_account(name => 'pebble');
$env->setup_account(name => 'solo', via => 'proxy');
my $url = $env->proxy_url;

{
    my $dead = ExpAcme::Env::free_port();
    my $r = $env->add_provider('nowhere',
                               directory => "https://127.0.0.1:$dead/dir");
    exit_is($r, 0, 'provider add with a dead directory URL');
    $r = $env->register('nowhere');
    exit_is($r, 1, 'account register at a dead CA: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*\Qhttps:\/\/127.0.0.1:$dead\/dir\E/,
                'the error names the directory URL');
}

{
    note 'a CA whose certificate we do not trust';
    my $r = $env->ctl('--json', 'provider', 'add', 'untrusted',
                      '--directory', $env->pebble_url);
    exit_is($r, 0, 'provider add without --ca-bundle');
    $r = $env->register('untrusted');
    exit_is($r, 1, 'register at a CA with an untrusted certificate: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*\Q$env->{pebble_port}\E.*certificate/i,
                'the error names the URL and the certificate problem');
    my $other = $env->dir . '/other-ca.pem';
    ExpAcme::Env::run_quiet('openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', $env->dir . '/other-ca.key', '-out', $other,
        '-days', '2', '-subj', '/CN=someone else',
        '-addext', 'subjectAltName=IP:127.0.0.1');
    $r = $env->add_provider('wrongca', args => ['--ca-bundle', $other]);
    exit_is($r, 0, 'provider add with the wrong CA bundle');
    $r = $env->register('wrongca');
    exit_is($r, 1, 'register with the wrong CA bundle: exit 1');
    ok(!-e $env->state_dir . '/accounts/wrongca/account.json',
       'no account recorded');
}

my @names = $env->names(2, 'fb-');
$env->make_csr(names => \@names);

$env->kill_proxy;
{
    my $r = $env->ctl('sign');
    exit_is($r, 1, 'CA unreachable, no fallback: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*\Q$url\E/, 'the error names the URL');
    ok(!$r->{timed_out} && $r->{elapsed} < 15,
       sprintf('fails in bounded time (%.1fs)', $r->{elapsed}));
    unlike($r->{stderr}, qr/fallback/i, 'no fallback mentioned');
    my $published = $env->status_file_cert('server');
    is($published && $published->{last_sign}
       && $published->{last_sign}{result}, 'failure',
       'status_file (status page): the failed sign is published');
    no_tokens($env);
    exit_is($env->ctl('pending', 'show'), 1, 'nothing pending');
    my $c = $env->cert_status;
    is($c->{last_sign}{result}, 'failure', 'status: last_sign failure');
    like($c->{last_sign}{detail} // '', qr/\Q$url\E/,
         'status: last_sign.detail names the URL');
}

# "primary" has the fallback; it needs its own account while reachable.
$env->start_proxy;
is($env->proxy_url, $url, 'fault proxy back on the same address');
$env->setup_account(name => 'primary', via => 'proxy',
                    args => ['--fallback', 'pebble']);
{
    my $r = $env->ctl('--json', 'provider', 'list');
    my %p = map { $_->{name} => $_ } @{$r->{json}{providers} || []};
    is($p{primary}{fallback}, 'pebble', 'provider list shows the fallback');
    ok($p{primary}{current}, 'primary is the current provider');
}
$env->kill_proxy;
{
    my $r = $env->ctl('sign');
    exit_is($r, 0, 'CA unreachable, fallback configured: signs');
    stderr_like($r, qr/provider primary unreachable.*\Q$url\E.*trying fallback pebble/,
                'stderr says the fallback was used, and why');
    stderr_like($r, qr/signing server for 2 names with pebble/,
                'the order goes to the fallback provider');
    like($r->{stdout}, qr/signed by pebble/, 'stdout: signed by pebble');
    chain_ok($env, 'server', \@names);
    no_tokens($env);
    my $c = $env->cert_status;
    is($c->{last_sign}{result}, 'success', 'status: last_sign success');
    is($c->{last_sign}{provider}, 'pebble',
       'status: last_sign.provider is the fallback');
}
{
    $env->make_csr(cert => 'fbjson', names => [$env->names(1, 'fbj-')]);
    my $r = $env->ctl('--json', '--cert', 'fbjson', 'sign');
    exit_is($r, 0, '--json: signs via the fallback');
    is($r->{json}{provider}, 'pebble', '--json: provider is the fallback');
}

# A primary that accepts and never answers: a timeout counts as
# unreachable, the fallback signs.
{
    $env->start_proxy;
    $env->faults([{match => '^/dir$', kind => 'hang'}]);
    $env->make_csr(cert => 'fbhang', names => [$env->names(1, 'fbh-')]);
    my $r = $env->ctl('--cert', 'fbhang', 'sign');
    exit_is($r, 0, 'primary hangs: the fallback signs');
    stderr_like($r, qr/provider primary unreachable.*(Timeout|timed out).*trying fallback pebble/,
                'primary hangs: stderr says it timed out and fell back');
    ok($r->{elapsed} < 3 + 6, sprintf('primary hangs: within ca_timeout + '
                                      . 'a margin (%.1fs)', $r->{elapsed}));
    no_tokens($env);
    $env->kill_proxy;
}

# A fallback that is itself unreachable: exit 1, both named.
{
    my $dead = ExpAcme::Env::free_port();
    my $r = $env->add_provider('deadfb',
                               directory => "https://127.0.0.1:$dead/dir");
    $r = $env->add_provider('primary', directory => $url,
                            args => ['--fallback', 'deadfb']);
    exit_is($r, 0, 'primary now falls back to a dead provider');
    $r = $env->ctl('sign');
    exit_is($r, 1, 'primary and fallback unreachable: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*127\.0\.0\.1:$dead/,
                'the error names the fallback URL tried last');
    no_tokens($env);
}


# Pebble dies (kill -9) in the middle of a 100-name order: the sign
# fails with a transport error and withdraws its tokens.
{
    my $solo = ExpAcme::Env->new(timeouts => 1);
    $solo->setup_account;
    my @many = $solo->names(100, 'die-');
    $solo->make_csr(names => \@many);
    my ($res, $attempt);
    for $attempt (1 .. 5) {
        my $run = $solo->ctl_bg('sign');
        $run->wait_stderr(qr/published 100 challenges/, 60);
        $solo->kill_pebble;
        $res = $run->wait(60);
        last if $res->{exit} != 0;
        note "attempt $attempt: the sign finished before Pebble died; again";
        $solo->ctl('pending', 'discard');
        $solo->start_pebble;
        $solo->setup_account;
    }
    exit_is($res, 1, 'Pebble killed mid-order: exit 1');
    like($res->{stderr}, qr/published 100 challenges/,
         'Pebble killed mid-order: it had published');
    ok(!$res->{timed_out} && $res->{elapsed} < 30,
       sprintf('Pebble killed mid-order: fails promptly (%.1fs)',
               $res->{elapsed}));
    my @errors = grep { /EXP\d{5}/ } split /\n/, $res->{stderr};
    like($errors[0] // '', qr/\Q127.0.0.1:$solo->{pebble_port}\E/,
         'Pebble killed mid-order: the error names the CA URL');
    no_tokens($solo, 'Pebble killed mid-order: tokens withdrawn');
    exit_is($solo->ctl('pending', 'show'), 1,
            'Pebble killed mid-order: nothing pending');
}

done_testing;
