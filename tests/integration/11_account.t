# account show / rollover / deactivate (RFC 8555 §7.3.5-7.3.6): after a
# rollover the old key is refused by the CA and signing works with the
# new one; after deactivation the CA refuses the account and sign
# reports the CA's unauthorized problem.
use strict;
use warnings;
use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new;
my $acct_dir = $env->state_dir . '/accounts/pebble';

{
    my $r = $env->ctl('account', 'show');
    exit_is($r, 1, 'account show without an account: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*account register/,
                'the error says to register');
}

$env->setup_account(register_args => ['--key-type', 'ec256']);
my $url = $env->json->decode($env->slurp("$acct_dir/account.json"))->{url};

{
    my $r = $env->ctl('--json', 'account', 'show');
    exit_is($r, 0, 'account show');
    my $j = $r->{json} || {};
    is($j->{provider}, 'pebble', 'show: provider');
    is($j->{url}, $url, 'show: the registered URL');
    is($j->{status}, 'valid', 'show: status valid (from the CA)');
    is($j->{key_type}, 'ec256', 'show: key type');
    is_deeply($j->{contact}, ['mailto:admin@' . $env->tag . '.example.test'],
              'show: contact from the CA');
    $r = $env->ctl('account', 'show');
    like($r->{stdout}, qr/^status:\s+valid$/m, 'show (text): status line');
    like($r->{stdout}, qr/\Q$url\E/, 'show (text): URL');
}

{
    note 'rollover';
    copy("$acct_dir/account.key", $env->dir . '/old-account.key')
        or die "copy: $!";
    my $old_pub = ExpAcme::Env::key_pubkey("$acct_dir/account.key");
    my $r = $env->ctl('--json', 'account', 'rollover', '--key-type',
                      'rsa2048');
    exit_is($r, 0, 'account rollover --key-type rsa2048');
    is($r->{json}{url}, $url, 'rollover: same account URL');
    is($r->{json}{key_type}, 'rsa2048', 'rollover: new key type');
    my $new_pub = ExpAcme::Env::key_pubkey("$acct_dir/account.key");
    like($new_pub, qr/BEGIN PUBLIC KEY/, 'rollover: new key stored');
    isnt($new_pub, $old_pub, 'rollover: the stored key changed');
    is((stat "$acct_dir/account.key")[2] & 07777, 0600,
       'rollover: new key is 0600');
    ok(!-e "$acct_dir/account.key.next", 'rollover: no key left behind');
    $r = $env->ctl('--json', 'account', 'show');
    exit_is($r, 0, 'account show with the new key');
    is($r->{json}{key_type}, 'rsa2048', 'show: key type rsa2048');

    # The old key, in a copy of the state directory, is refused.
    my $old_state = $env->dir . '/old-state';
    make_path("$old_state/accounts/pebble", {mode => 0700});
    copy($env->state_dir . '/providers.json', "$old_state/providers.json");
    copy("$acct_dir/account.json", "$old_state/accounts/pebble/account.json");
    copy($env->dir . '/old-account.key',
         "$old_state/accounts/pebble/account.key");
    chmod 0600, "$old_state/accounts/pebble/account.key";
    (my $conf = $env->slurp($env->config))
        =~ s{^state_dir = .*$}{state_dir = $old_state}m;
    $env->write_file($env->dir . '/old.conf', $conf);
    my $old = $env->ctl_bg('--config', $env->dir . '/old.conf', 'account',
                           'show')->wait(60);
    exit_is($old, 1, 'the old account key is refused by the CA: exit 1');
    stderr_like($old, qr/EXP\d{5}: .*CA answered \d+: urn:ietf:params:acme:error:\w+/,
                "the CA's problem, verbatim");

    my @names = $env->names(2, 'roll-');
    $env->make_csr(names => \@names);
    $r = sign_ok($env, 'sign after rollover works');
    chain_ok($env, 'server', \@names, 'after rollover');
    no_tokens($env);
}

{
    note 'deactivate';
    my $r = $env->ctl('--json', 'account', 'deactivate');
    exit_is($r, 0, 'account deactivate');
    is($r->{json}{status}, 'deactivated', 'deactivate: status deactivated');
    is($r->{json}{url}, $url, 'deactivate: the account URL');
    my $rec = $env->json->decode($env->slurp("$acct_dir/account.json"));
    is($rec->{status}, 'deactivated', 'account.json records deactivated');

    my @names = $env->names(1, 'deact-');
    $env->make_csr(cert => 'after', names => \@names);
    $r = $env->ctl('--cert', 'after', 'sign');
    exit_is($r, 1, 'sign with a deactivated account: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*urn:ietf:params:acme:error:unauthorized/,
                "sign reports the CA's unauthorized problem");
    no_tokens($env);
    exit_is($env->ctl('--cert', 'after', 'pending', 'show'), 1,
            'nothing pending');
    my $c = $env->cert_status('after');
    is($c->{last_sign}{problem}{type},
       'urn:ietf:params:acme:error:unauthorized',
       'status: last_sign.problem.type unauthorized');
    $r = $env->ctl('account', 'show');
    exit_is($r, 1, 'account show of a deactivated account: exit 1');
    stderr_like($r, qr/unauthorized/, 'account show: unauthorized');
}

done_testing;
