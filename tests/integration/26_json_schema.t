# Every --json output follows its JSON Schema in docs/schema/ (the suite's
# library checks each one it sees, lib/ExpAcme/Schema.pm; here the
# checker itself is put to the test), times are RFC 3339 UTC with epoch
# seconds beside them, deploy days are names, errors carry their message
# number, a name that does not exist exits 2; and what the helper
# publishes is what the module's status page shows.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Schema;
use ExpAcme::Test;

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

note 'the checker: it accepts what the schemas describe, refuses the rest';
is(ExpAcme::Schema::verdict('version', {ok => JSON::PP::true(), version => '1'}),
   'ok', 'a valid document passes');
like(ExpAcme::Schema::verdict('status', {ok => JSON::PP::true(), certificates => [],
                                          generated => 1796144724}),
     qr/^invalid: status\.json/, 'an epoch where a time string belongs is refused');
like(ExpAcme::Schema::verdict('error', {ok => JSON::PP::false(), error => 'x'}),
     qr/^invalid:.*code/, 'an error without its message number is refused');
like(ExpAcme::Schema::verdict('schedule', {ok => JSON::PP::true(), cert => 'server',
                                            automated => JSON::PP::true(), days => 127,
                                            time => '03:00'}),
     qr/^invalid: schedule\.json at days/, 'deploy days as a number are refused');
like(ExpAcme::Schema::verdict('status', {ok => JSON::PP::true(), certificates => [],
                                          generated => '2026-12-01T17:00:00Z',
                                          generated_epoch => 1, extra => 1}),
     qr/^invalid:/, 'a member no schema documents is refused');
is(ExpAcme::Schema::name_for('--config', 'x', '--json', '--cert', 'a', 'csr', 'show', '--pem'),
   'csr-show', 'command line to schema name');
is(ExpAcme::Schema::name_for('--json', 'pending'), 'error',
   'a command line without a schema of its own: error.json');

my $env = ExpAcme::Env->new(status_page => 1);
my $help = $env->ctl('--json', 'help');
exit_is($help, 0, 'help --json');
my %verbs = (provider => [qw(list add)], account => [qw(register show rollover deactivate)],
             csr => [qw(generate show discard)], pending => [qw(show discard)],
             token => [qw(put del list)]);
for my $cmd (@{$help->{json}{commands} || []}) {
    for my $name ($verbs{$cmd} ? map { "$cmd-$_" } @{$verbs{$cmd}} : ($cmd)) {
        ok(-f "$ExpAcme::Schema::DIR/$name.json", "docs/schema/$name.json exists");
    }
}

note 'a whole job with --json: each output is checked as it comes';
$env->setup_account;
$env->make_csr(names => [$env->names(2, 'schema-')]);
my $r = $env->ctl('--json', 'csr', 'show');
exit_is($r, 0, 'csr show');
like($r->{json}{created} // '', $RFC3339, 'csr show: created as RFC 3339');
like($r->{json}{created_epoch} // '', qr/^\d+$/, 'csr show: epoch beside it');
sign_ok($env, 'sign', '--json');
$r = $env->ctl('--json', 'pending', 'show');
like($r->{json}{chain}[0]{not_after} // '', $RFC3339, 'pending show: not_after as RFC 3339');
$r = $env->ctl('--json', 'schedule', '--auto', 'on', '--days', 'wed,mon', '--time', '04:30');
exit_is($r, 0, 'schedule');
is_deeply($r->{json}{days}, [qw(mon wed)], 'schedule: deploy days as names, Monday first');
$r = $env->ctl('--json', 'token', 'put', 'tok-schema', 'tok-schema.key', '--host', 'a.example.test');
like($r->{json}{expires} // '', $RFC3339, 'token put: expires as RFC 3339');
$env->ctl('--json', 'token', 'del', 'tok-schema');

my $c = $env->cert_status;
is($c->{state}, 'pending', 'status: pending');
is_deeply($c->{deploy_days}, [qw(mon wed)], 'status: deploy days');
is($c->{deploy_time}, '04:30', 'status: deploy time');
like($c->{pending}{renewal_due} // '', $RFC3339, 'status: renewal due as RFC 3339');
like($c->{pending}{renewal_rule} // '', qr/lifetime/, 'status: which rule set it');
like($c->{last_sign}{time} // '', $RFC3339, 'status: Last Sign Status time as RFC 3339');
like($c->{next_deploy_slot} // '', $RFC3339, 'status: next deploy slot as RFC 3339');
$r = $env->ctl('status');
like($r->{stdout}, qr/^  deploy days +mon, wed at 04:30$/m, 'status text: deploy days and time');

note 'errors: message number, and exit 2 for a name that does not exist';
$r = $env->ctl('--json', '--cert', 'no-such-cert', 'status');
exit_is($r, 2, 'status of a certificate that does not exist: exit 2');
like($r->{json}{code} // '', qr/^EXP\d{5}$/, '--json: the error carries its message number');
like($r->{stderr}, qr/^expacmectl: \Q$r->{json}{code}\E: /m, 'the same number as on stderr');
$r = $env->ctl('--json', '--cert', 'no-such-cert', 'sign');
exit_is($r, 2, 'sign of a certificate that does not exist: exit 2');
$r = $env->ctl('--json', 'account', 'register', '--provider', 'no-such-ca',
               '--email', 'a@example.test', '--agree-tos');
exit_is($r, 2, 'a provider that does not exist: exit 2');
is($r->{json}{code}, 'EXP02304', 'its number is EXP02304 (manual §3)');
$r = $env->ctl('--json', '--cert', 'fresh', 'csr', 'generate', '--cn', $env->names(1, 'fresh-'));
exit_is($r, 0, 'csr generate still makes a new managed certificate');

note 'what the helper published is what the page shows';
my $flat = $env->dir . '/run/status.flat';
ok(-f $flat, 'status.flat is published beside status.json');
is((stat $flat)[2] & 07777, 0644, 'status.flat is 0644');
my $text = ExpAcme::Env::_slurp($flat) // '';
like($text, qr/\Aexpacme-status 1\n/, 'status.flat: the magic line first');
like($text, qr/\nend\n\z/, 'status.flat: complete');
my $file = eval { $env->json->decode(ExpAcme::Env::_slurp($env->status_file)) } || {};
like($file->{generated} // '', $RFC3339, 'status.json: times as RFC 3339 for admin UIs too');
my $page = $env->http_get('/expacme-status', 'status.example.test');
is($page->{status}, 200, 'status page: 200');
my $body = $page->{body} // '';
my ($name) = $env->names(1, 'schema-');
like($body, qr/\Q$name\E/, 'status page: the certificate\'s names');
like($body, qr/Signed, pending deploy/, 'status page: the state');
like($body, qr/Pebble/, 'status page: the issuer');
like($body, qr{Last Sign Status</h3>\s*<p><span class="result r-ok">success</span>},
     'status page: Last Sign Status');
like($body, qr/Mon, Wed at 04:30/, 'status page: deploy days');
like($body, qr/\bfresh\b/, 'status page: the new certificate too');
ok($body !~ /\b1[0-9]{9}\b/, 'status page: no epoch number');

done_testing;
