# notify_command and the manual-mode warning: a script (argv split on
# blanks, no shell) records its environment; sign and deploy run it with
# EXPACME_EVENT sign-success / deploy-success / deploy-failure /
# sign-failure, EXPACME_CERT and EXPACME_DETAIL.  Without automation,
# renew after 2/3 (fake clock) warns once a day: stderr, status, and
# notify_command with renewal-warning.  No private key (certificate or
# account) and no EAB key ever shows up in the notify environment, in
# any output of expacmectl, or in the status file.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Find;
use ExpAcme::Env;
use ExpAcme::Test;

$ENV{TZ} = 'UTC';
my ($kid, $hmac) = ('kid-notify', 'Qm9ndXNFQUJrZXlGb3JUaGVOb3RpZnlUZXN0MDEyMzQ1Njc4OWFiY2RlZmdoaWpr');
my $env = ExpAcme::Env->new(https => 1, eab => {$kid => $hmac});
my $d = $env->dir;
$env->write_file("$d/eab.key", "$hmac\n", 0600);
$env->setup_account(args => ['--eab-kid', $kid, '--eab-hmac-key-file', "$d/eab.key"]);
my $log = "$d/notify.log";
$env->write_file("$d/notify.sh", <<"SH", 0755);
#!/bin/sh
{ echo "=== begin"; echo "ARG1=\$1"; echo "ARGC=\$#"; env | sort; echo "=== end"; } >> $log
SH
$env->set_config(notify_command => "$d/notify.sh a;b");
$env->make_csr(names => [$env->sni, $env->names(1, 'notify-')]);

# The invocations so far: [{NAME => VALUE}, ...].
sub calls {
    my @calls;
    for my $block ($env->slurp($log) =~ /=== begin\n(.*?)=== end\n/gs) {
        my %v = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split /\n/, $block;
        push @calls, \%v;
    }
    return @calls;
}
sub last_call { (calls())[-1] || {} }

sign_ok($env, 'sign');
my @c = calls();
is(scalar @c, 1, 'sign ran notify_command once');
is($c[0]{EXPACME_EVENT}, 'sign-success', 'EXPACME_EVENT=sign-success');
is($c[0]{EXPACME_CERT}, 'server', 'EXPACME_CERT=server');
like($c[0]{EXPACME_DETAIL} // '', qr/signed/, 'EXPACME_DETAIL says what happened');
is($c[0]{ARG1}, 'a;b', 'the command is split on blanks, not run by a shell');
is($c[0]{ARGC}, 1, '(one argument)');

deploy_ok($env, 'deploy');
is(last_call()->{EXPACME_EVENT}, 'deploy-success', 'deploy: EXPACME_EVENT=deploy-success');
is(last_call()->{EXPACME_CERT}, 'server', 'deploy: EXPACME_CERT=server');

exit_is($env->ctl('deploy'), 1, 'deploy with nothing pending fails');
is(last_call()->{EXPACME_EVENT}, 'deploy-failure', 'EXPACME_EVENT=deploy-failure');
like(last_call()->{EXPACME_DETAIL} // '', qr/no pending certificate/,
     'EXPACME_DETAIL: the cause');

{
    note 'manual mode: the renewal warning';
    exit_is($env->ctl('schedule', '--auto', 'off'), 0, 'schedule --auto off');
    my $c = $env->cert_status;
    my $due = $c->{deployed}{renewal_due_epoch};
    my $n = scalar calls();
    my $renew = sub {
        $env->ctl({env => {EXPACME_TEST_NOW => $_[0]}}, '--json', 'renew');
    };
    my $r = $renew->($due - 60);
    exit_is($r, 0, 'renew before 2/3');
    is(scalar calls(), $n, 'before 2/3: no warning');
    unlike($r->{stderr}, qr/warning/, 'before 2/3: nothing on stderr');
    # Not --json: renew --json keeps stderr for errors.
    $r = $env->ctl({env => {EXPACME_TEST_NOW => $due + 60}}, 'renew');
    exit_is($r, 0, 'renew after 2/3');
    stderr_like($r, qr/warning: two-thirds of the lifetime of certificate server has elapsed/,
                'after 2/3: the warning on stderr');
    is(scalar calls(), $n + 1, 'after 2/3: notify_command ran once');
    is(last_call()->{EXPACME_EVENT}, 'renewal-warning', 'EXPACME_EVENT=renewal-warning');
    is(last_call()->{EXPACME_CERT}, 'server', 'EXPACME_CERT=server');
    like(last_call()->{EXPACME_DETAIL} // '', qr/two-thirds/, 'EXPACME_DETAIL: the warning');
    $r = $renew->($due + 3600);
    is(renew_entry($r)->{action}, 'none', 'manual mode: renew does nothing itself');
    like(renew_entry($r)->{why} // '', qr/automated renewal is off/, 'why: automated renewal is off');
    is(scalar calls(), $n + 1, 'an hour later: no second warning');
    $r = $env->ctl({env => {EXPACME_TEST_NOW => $due + 7200}}, 'renew');
    unlike($r->{stderr}, qr/warning/, 'two hours later: nothing on stderr');
    is(scalar calls(), $n + 1, 'two hours later: no second warning');
    $r = $renew->($due + 60 + 86400);
    is(scalar calls(), $n + 2, 'a day later: warned again');
    my $st = $env->cert_status('server', {env => {EXPACME_TEST_NOW => $due + 60}});
    ok((grep { /two-thirds/ } @{$st->{warnings} || []}), 'status warns after 2/3')
        or diag(explain($st->{warnings}));
    $st = $env->cert_status('server', {env => {EXPACME_TEST_NOW => $due - 60}});
    is(scalar @{$st->{warnings} || []}, 0, 'status: no warning before 2/3');
}

{
    note 'sign-failure';
    $env->kill_pebble;
    exit_is($env->ctl('sign'), 1, 'sign with the CA gone: exit 1');
    is(last_call()->{EXPACME_EVENT}, 'sign-failure', 'EXPACME_EVENT=sign-failure');
    like(last_call()->{EXPACME_DETAIL} // '', qr/\S/, 'EXPACME_DETAIL: the cause');
}

{
    note 'no secrets anywhere';
    my @secret = ($hmac);
    # Of each private key: the first line of its PEM (the private part
    # starts there; later lines of an EC key hold the public point, which
    # a CSR shows too) and the private scalar or exponent in hex.
    my @keys;
    find(sub {
        return unless -f $_;
        my $t = $env->slurp($File::Find::name);
        return unless $t =~ /PRIVATE KEY-----\n(.*?)\n/s;
        push @keys, $File::Find::name;
        push @secret, $1;
        my $text = `openssl pkey -noout -text -in $File::Find::name 2>/dev/null`;
        if ($text =~ /^(?:priv|privateExponent):\s*\n((?:\s+[0-9a-f:]+\n)+)/m) {
            my $hex = $1 =~ s/[\s:]//gr;
            push @secret, $hex, uc $hex;
        }
    }, $env->state_dir);
    is(scalar @keys, 2, 'private keys to look for: the certificate\'s and the account\'s');
    is(scalar @secret, 1 + 3 * @keys, 'and the EAB key');
    my @where = ($log, $env->status_file, glob("$d/logs/ctl-*"));
    my @leaks;
    for my $f (@where) {
        my $t = $env->slurp($f);
        push @leaks, $f if $t =~ /PRIVATE KEY/ || grep { index($t, $_) >= 0 } @secret;
    }
    is_deeply(\@leaks, [], 'no private key and no EAB key in the notify environment, '
              . 'the status file or any of ' . scalar(@where) . ' outputs of expacmectl');
}

done_testing;
