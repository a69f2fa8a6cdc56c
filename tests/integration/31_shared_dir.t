# Two configurations (two state directories) whose [cert server] name the
# same cert_file: the first deploy claims the generations directory
# beside it for its state directory; the second configuration's deploy is
# refused at step backup with an error naming both state directories,
# and the first one's certificate stays live and served (SPEC §2).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(realpath);
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
my $d = $env->dir;
$env->make_csr(names => [$env->sni]);
sign_ok($env, 'A: sign');
deploy_ok($env, 'A: deploy');
my $a_cert = $env->slurp($env->live_cert);
my $owner = "$d/live/.expacme-server/owner";
is($env->slurp($owner), realpath($env->state_dir) . "\n",
   'the generations directory records its owner');

# Configuration B: the same files, another state directory.
my $b_conf = "$d/expacme-b.conf";
my $b_state = "$d/state-b";
my $text = $env->slurp($env->config);
$text =~ s{^state_dir = .*$}{state_dir = $b_state}m;
$text =~ s{^status_file = .*$}{status_file = $d/run/status-b.json}m;
$env->write_file($b_conf, $text);
sub b_ctl {
    my @args = @_;
    my $cmd = join ' ', map { "'$_'" } $ExpAcme::Env::CTL, '--config', $b_conf, @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $out) = b_ctl('provider', 'add', 'pebble', '--directory', $env->pebble_url,
                       '--ca-bundle', $env->ca_bundle);
is($rc, 0, 'B: provider add') or diag($out);
($rc, $out) = b_ctl('account', 'register', '--provider', 'pebble', '--email',
                    'b@example.org', '--agree-tos');
is($rc, 0, 'B: account register') or diag($out);
($rc, $out) = b_ctl('csr', 'generate', '--cn', $env->sni);
is($rc, 0, 'B: csr generate') or diag($out);
($rc, $out) = b_ctl('sign');
is($rc, 0, 'B: sign') or diag($out);
($rc, $out) = b_ctl('deploy');
is($rc, 1, 'B: deploy refused: exit 1');
my ($ra, $rb) = (realpath($env->state_dir), realpath($b_state));
like($out, qr/deploy failed at step backup: .*managed by the state directory \Q$ra\E.*not by \Q$rb\E/,
     'B: the error names both state directories') or diag($out);
is($env->slurp($env->live_cert), $a_cert, "A's certificate is still live");
served_is($env, $a_cert, "and served");
is($env->slurp($owner), "$ra\n", 'the owner is unchanged');
ok(-e "$b_state/certs/server/pending.pem", "B's certificate is still pending");

done_testing;
