# pending show / show --pem / discard, and status (text, --json, and the
# status file the module's status page reads).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new;

{
    my $r = $env->ctl('--json', 'status');
    exit_is($r, 0, 'status before anything');
    my ($c) = grep { $_->{name} eq 'server' } @{$r->{json}{certificates}};
    is($c && $c->{state}, 'none', 'status: server in state none');
    ok($c && !defined $c->{last_sign}, 'status: never signed');
    $r = $env->ctl('pending', 'show');
    exit_is($r, 1, 'pending show with nothing pending: exit 1');
    stderr_like($r, qr/EXP\d{5}: no pending certificate for server/,
                'pending show: says there is none');
}

$env->setup_account;
my $account = $env->json->decode(
    $env->slurp($env->state_dir . '/accounts/pebble/account.json'))->{url};
my @names = $env->names(3, 'pend-');
$env->make_csr(names => \@names, key_type => 'ec384');
{
    my $c = $env->cert_status;
    is($c->{state}, 'csr', 'status: state csr after csr generate');
}

my $before = time;
my $signed = sign_ok($env, 'sign');
my $after = time;

{
    note 'the status file, as sign left it (no status run in between)';
    my $file = eval { $env->json->decode($env->slurp($env->status_file)) };
    ok($file, 'status_file exists and is JSON');
    my $fc = $env->status_file_cert('server');
    is($fc && $fc->{state}, 'pending',
       'status_file: sign published state pending');
    is($fc && $fc->{last_sign} && $fc->{last_sign}{result}, 'success',
       'status_file: sign published last_sign success');
    is((stat $env->status_file)[2] & 07777, 0644, 'status_file is 0644');
}

my $pem;
{
    note 'pending show';
    my $r = $env->ctl('--json', 'pending', 'show');
    exit_is($r, 0, 'pending show --json');
    my $chain = $r->{json}{chain} || [];
    is(scalar @$chain, 2, 'pending show: leaf and intermediate');
    my $leaf = $chain->[0] || {};
    is_deeply([sort @{$leaf->{names} || []}], [sort @names],
              'pending show: the names');
    is($leaf->{key_type}, 'ec384', 'pending show: key type');
    like($leaf->{subject}, qr/CN=\Q$names[0]\E/, 'pending show: subject CN');
    like($leaf->{issuer}, qr/Pebble Intermediate/, 'pending show: issuer');
    like($chain->[1]{subject} // '', qr/Pebble Intermediate/,
         'pending show: the chain certificate');
    cmp_ok($leaf->{not_before_epoch}, '<=', $after + 1, 'pending show: notBefore');
    cmp_ok($leaf->{not_after_epoch}, '>', $before + 86400, 'pending show: notAfter');
    like($leaf->{sha256} // '', qr/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
         'pending show: SHA-256 fingerprint');

    $pem = $env->pending_pem;
    is(lc($leaf->{serial} // ''), ExpAcme::Env::cert_serial_hex($pem),
       'pending show: serial as in the certificate');
    my $ca = $env->cert_status_by_serial(lc $leaf->{serial});
    is($ca->{Status}, 'Valid', 'Pebble knows the serial as a valid certificate');

    $r = $env->ctl('pending', 'show');
    exit_is($r, 0, 'pending show (text)');
    like($r->{stdout}, qr/^certificate:$/m, 'text: certificate section');
    like($r->{stdout}, qr/^chain:$/m, 'text: chain section');
    like($r->{stdout}, qr/name:\s+\Q$names[2]\E/, 'text: a name');

    $r = $env->ctl('pending', 'show', '--pem');
    exit_is($r, 0, 'pending show --pem');
    is($r->{stdout}, $pem, 'pending show --pem prints the chain as stored');
    is($pem, $env->slurp($env->state_dir . '/certs/server/pending.pem'),
       'the chain exactly as it will be deployed');
    unlike($pem, qr/PRIVATE KEY/, 'no key in the pending chain');
    chain_ok($env, 'server', \@names);
}

{
    note 'status';
    my $r = $env->ctl('--json', 'status');
    exit_is($r, 0, 'status --json');
    my $j = $r->{json};
    ok($j->{ok}, 'status --json: ok');
    cmp_ok($j->{generated_epoch}, '>=', $before, 'status --json: generated time');
    my ($c) = grep { $_->{name} eq 'server' } @{$j->{certificates} || []};
    ok($c, 'status --json: the server certificate');
    is($c->{state}, 'pending', 'status: state pending');
    is($c->{provider}, 'pebble', 'status: provider');
    is($c->{account}, $account, 'status: account URL');
    is($c->{key_type}, 'ec384', 'status: key type');
    is_deeply([sort @{$c->{names} || []}], [sort @names], 'status: names');
    ok(!$c->{automated}, 'status: automated off');
    is($c->{last_sign}{result}, 'success', 'status: last_sign.result');
    is($c->{last_sign}{provider}, 'pebble', 'status: last_sign.provider');
    ok($c->{last_sign}{time_epoch} >= $before && $c->{last_sign}{time_epoch} <= $after + 1,
       'status: last_sign.time');
    ok(!defined $c->{last_sign}{problem}, 'status: no problem on success');
    my $p = $c->{pending} || {};
    is($p->{serial}, ExpAcme::Env::cert_serial_hex($pem) =~ tr/a-f/A-F/r,
       'status: pending serial');
    my $due = $p->{not_before_epoch} + int(($p->{not_after_epoch} - $p->{not_before_epoch})
                                     * 2 / 3);
    ok(abs(($p->{renewal_due_epoch} // 0) - $due) <= 1,
       'status: renewal due at two-thirds of the lifetime');
    is(ref $c->{warnings}, 'ARRAY', 'status: warnings list');

    $r = $env->ctl('status');
    exit_is($r, 0, 'status (text)');
    like($r->{stdout}, qr/^server: pending$/m, 'text: server: pending');
    like($r->{stdout}, qr/last sign status\s+success/, 'text: last sign');
    like($r->{stdout}, qr/provider\s+pebble/, 'text: provider');
    like($r->{stdout}, qr/account\s+\Q$account\E/, 'text: account');

    my $text = $env->slurp($env->status_file);
    unlike($text, qr/PRIVATE KEY|BEGIN CERTIFICATE/,
           'status_file: no keys, no PEM');
}

{
    note 'pending discard';
    my $r = $env->ctl('--json', 'pending', 'discard');
    exit_is($r, 0, 'pending discard');
    is($r->{json}{state}, 'csr', 'pending discard: state back to csr');
    exit_is($env->ctl('pending', 'show'), 1, 'pending show after discard');
    exit_is($env->ctl('pending', 'discard'), 1, 'discard again: exit 1');
    ok(!-e $env->state_dir . '/certs/server/pending.pem',
       'pending.pem removed');
    my $fc = $env->status_file_cert('server');
    is($fc && $fc->{state}, 'csr',
       'status_file: discard published state csr');
    my $c = $env->cert_status;
    is($c->{state}, 'csr', 'status: state csr');
    ok(!defined $c->{pending}, 'status: no pending section');
    my $again = sign_ok($env, 'the stored CSR signs again');
    chain_ok($env, 'server', \@names, 'resubmitted');
}

{
    note 'usage errors';
    my $r = $env->ctl('pending', 'frobnicate');
    exit_is($r, 2, 'pending with an unknown verb: exit 2');
    $r = $env->ctl('--json', 'pending');
    exit_is($r, 2, 'pending without a verb: exit 2');
    json_error_like($r, qr/show or discard/, '--json: the error');
    $r = $env->ctl('sign', '--bogus');
    exit_is($r, 2, 'sign --bogus: exit 2');
    stderr_like($r, qr/EXP\d{5}: unknown option --bogus/, 'names the option');
    $r = $env->ctl('status', 'extra');
    exit_is($r, 2, 'status extra: exit 2');
}

done_testing;
