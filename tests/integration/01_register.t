# account register: plain, terms of service not agreed, External Account
# Binding (right key, no key, wrong key), and the EAB key file's checks.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $kid = 'kid-1';
my $hmac = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
my $wrong = 'b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH';

{
    note 'plain registration';
    my $env = ExpAcme::Env->new;
    my $r = $env->add_provider('pebble');
    exit_is($r, 0, 'provider add');
    is($r->{json}{provider}{directory}, $env->pebble_url,
       'provider add --json: directory');
    $r = $env->ctl('--json', 'provider', 'list');
    exit_is($r, 0, 'provider list');
    my %p = map { $_->{name} => $_ } @{$r->{json}{providers} || []};
    ok($p{letsencrypt} && $p{letsencrypt}{builtin}, 'built-in letsencrypt');
    ok($p{'letsencrypt-staging'}, 'built-in letsencrypt-staging');
    ok($p{pebble} && !$p{pebble}{builtin} && !$p{pebble}{eab},
       'pebble listed, no EAB');

    $r = $env->ctl('--json', 'account', 'register', '--provider', 'pebble',
                   '--email', 'ops@example.test');
    exit_is($r, 2, 'without --agree-tos: exit 2');
    stderr_like($r, qr/^expacmectl: EXP\d{5}: .*terms of service.*data:text\/plain,Do%20what%20thou%20wilt/m,
                'the error names the terms of service URL');
    json_error_like($r, qr/agree-tos/, '--json: error says --agree-tos');
    ok(!-e $env->state_dir . '/accounts/pebble/account.json',
       'no account recorded');
    $r = $env->ctl('--json', 'status');
    ok(!defined $r->{json}{certificates}[0]{account},
       'status shows no account');

    $r = $env->register('pebble');
    exit_is($r, 0, 'register with --agree-tos');
    my $a = $r->{json}{account} || {};
    like($a->{url}, qr{^https://127\.0\.0\.1:\d+/my-account/\w+$},
         'account URL from the CA');
    is($a->{status}, 'valid', 'status valid');
    is($a->{provider}, 'pebble', 'provider recorded');
    like($a->{terms_of_service}, qr/^data:text\/plain/, 'ToS recorded');
    my $key = $env->state_dir . '/accounts/pebble/account.key';
    ok(-f $key, 'account key stored');
    is((stat $key)[2] & 07777, 0600, 'account key is 0600');

    $r = $env->ctl('--json', 'provider', 'list');
    my ($cur) = grep { $_->{current} } @{$r->{json}{providers} || []};
    is($cur && $cur->{name}, 'pebble', 'pebble is now the current provider');

    $r = $env->ctl('account', 'register', '--provider', 'nosuch',
                   '--email', 'ops@example.test', '--agree-tos');
    exit_is($r, 2, 'unknown provider: exit 2 (manual §3: a name that does not exist)');
    stderr_like($r, qr/nosuch/, 'the error names the provider');
    $r = $env->ctl('account', 'register', '--provider', 'pebble',
                   '--email', 'not-an-address', '--agree-tos');
    exit_is($r, 2, 'bad e-mail: exit 2');
}

{
    note 'External Account Binding';
    my $env = ExpAcme::Env->new(eab => {$kid => $hmac});
    my $dir = $env->dir;
    $env->write_file("$dir/right.key", "$hmac\n", 0600);
    $env->write_file("$dir/wrong.key", "$wrong\n", 0600);
    $env->write_file("$dir/open.key", "$hmac\n", 0644);

    my $r = $env->add_provider('open', args => ['--eab-kid', $kid,
                               '--eab-hmac-key-file', "$dir/open.key"]);
    exit_is($r, 2, 'EAB key file readable by others: exit 2');
    stderr_like($r, qr/0600/, 'the error asks for mode 0600');
    $r = $env->add_provider('half', args => ['--eab-kid', $kid]);
    exit_is($r, 2, '--eab-kid without the key file: exit 2');

    $r = $env->add_provider('noeab');
    exit_is($r, 0, 'provider without EAB');
    $r = $env->register('noeab');
    exit_is($r, 1, 'EAB required but not configured: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*External Account Binding/,
                'the error says EAB is required');
    stderr_like($r, qr/--eab-kid/, 'and how to configure it');
    json_error_like($r, qr/External Account Binding/, '--json error');

    $r = $env->add_provider('wrongeab', args => ['--eab-kid', $kid,
                            '--eab-hmac-key-file', "$dir/wrong.key"]);
    exit_is($r, 0, 'provider with a wrong EAB key');
    ok($r->{json}{provider}{eab}, 'provider shows EAB');
    unlike($env->slurp($env->state_dir . '/providers.json'), qr/\Q$wrong\E/,
           'the HMAC key is not in providers.json');
    $r = $env->register('wrongeab');
    exit_is($r, 1, 'wrong EAB key: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*CA answered 403: urn:ietf:params:acme:error:unauthorized: external account binding JWS verification error/,
                "the CA's problem type and detail verbatim");

    $r = $env->add_provider('eab', args => ['--eab-kid', $kid,
                            '--eab-hmac-key-file', "$dir/right.key"]);
    exit_is($r, 0, 'provider with the right EAB key');
    my $stored = $env->state_dir . '/providers/eab/eab.key';
    ok(-f $stored, 'HMAC key stored');
    is((stat $stored)[2] & 07777, 0600, 'stored HMAC key is 0600');
    $r = $env->register('eab');
    exit_is($r, 0, 'register with the right EAB key');
    like($r->{json}{account}{url} // '', qr{/my-account/}, 'account URL');
    $r = $env->ctl('--json', 'account', 'show');
    exit_is($r, 0, 'account show');
    is($r->{json}{status}, 'valid', 'EAB account is valid');
}

done_testing;
