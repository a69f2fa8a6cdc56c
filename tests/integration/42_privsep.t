# Privilege separation (SPEC §10): the network process (libcurl, every
# parser of the CA's bytes) and the key process run as the unprivileged
# network_user, with no_new_privs, not dumpable, holding no file; a
# network process playing compromised (the test build's hooks) can read
# no key, no state, write nothing, and cannot make root publish what its
# order does not need; killed mid-order, the sign fails cleanly with
# everything withdrawn and the next run starts a new one.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(timeouts => {order_timeout => 60});
$env->setup_account;
my $dir = $env->dir;
my $state = $env->state_dir;
my $unprivileged = (getpwnam('expacme'))[2] // (getpwnam('nobody'))[2];

sub slurp { open my $f, '<', $_[0] or return ''; local $/; <$f> }

note 'a compromised network process tries to escape';
my ($account_key) = glob("$state/accounts/*/account.key");
ok($account_key && -r $account_key, 'the account key exists (root reads it)');
mkdir "$dir/open";
chmod 0777, "$dir/open";
open my $w, '>', "$dir/open/world.txt" or die;
print $w "anyone may read this\n";
close $w;
chmod 0644, "$dir/open/world.txt";
my @paths = ($state, $account_key, "$dir/open", "$dir/open/world.txt");
my @names = $env->names(1, 'escape-');
$env->make_csr(cert => 'escape', names => \@names);
my $r = $env->ctl({env => {EXPACME_TEST_NETPROC_ESCAPE => join(':', @paths)}},
                  '--cert', 'escape', 'sign');
exit_is($r, 0, 'sign works with the network process split off');
my ($uid, $landlock, $nnp, $dumpable) = $r->{stderr} =~
    /escape test\): uid (\d+) gid \d+ landlock (\d+) no_new_privs (\d) dumpable (\d)/;
ok(defined $uid, 'the test build ran the escape attempts')
    or diag(ExpAcme::Env::explain($r));
is($uid, $unprivileged, 'the network process runs as the unprivileged user');
is($nnp, 1, 'with no_new_privs');
is($dumpable, 0, 'and not dumpable (no ptrace, no core)');
my @attempts = $r->{stderr} =~ /escape test\): (\w+ \S+): (.*)/g;
my %result = @attempts;
is(scalar(keys %result), 3 * @paths, 'read, create and write tried on each path');
# The user alone keeps the state and the key out of reach; Landlock also
# what anyone may read or write (valgrind, for one, runs without it).
for my $k (sort grep { !m{ \Q$dir\E/open} } keys %result) {
    isnt($result{$k}, 'ALLOWED', "network process: $k refused ($result{$k})");
}
SKIP: {
    skip 'no Landlock here (kernel, or valgrind)', 7 unless $landlock;
    for my $k (sort grep { m{ \Q$dir\E/open} } keys %result) {
        isnt($result{$k}, 'ALLOWED', "network process (Landlock): $k refused ($result{$k})");
    }
    ok(!-e "$dir/open/escape-test", 'no file was made');
}
chain_ok($env, 'escape', \@names);

note 'the processes while an order is under way';
my $procs = "$dir/procs.log";
my $hook = "$dir/dns-hook-inspect";
my $real = $env->dns_hook('ok');
open my $h, '>', $hook or die;
print $h <<"HOOK";
#!/usr/bin/perl
# The dns_hook runs as root's child while the order waits: it notes its
# siblings (the network and key processes) and, when asked, kills the
# network process.
use strict;
use warnings;
my \$root = getppid();
sub field { my (\$pid, \$k) = \@_; open my \$f, '<', "/proc/\$pid/status" or return '';
            while (<\$f>) { return \$1 if /^\$k:\\s*(.*)/ } return '' }
if (\$ARGV[0] eq 'add') {
    open my \$o, '>>', '$procs' or die;
    print \$o "root \$root uid=", (split ' ', field(\$root, 'Uid'))[0], "\\n";
    opendir my \$d, '/proc';
    for my \$pid (grep { /^\\d+\$/ } readdir \$d) {
        next if \$pid == \$\$ || field(\$pid, 'PPid') ne \$root;
        opendir my \$fd, "/proc/\$pid/fd";
        my \@fds = map { readlink("/proc/\$pid/fd/\$_") // '?' }
                   grep { /^\\d+\$/ } readdir \$fd;
        open my \$st, '<', "/proc/\$pid/stat";
        my \@stat = split ' ', ((<\$st> // '') =~ s/^.*\\) //r);
        print \$o "child \$pid uid=", (split ' ', field(\$pid, 'Uid'))[0],
            " nnp=", field(\$pid, 'NoNewPrivs'), " threads=",
            field(\$pid, 'Threads'), " sid=\$stat[3] tty=\$stat[4]",
            " fds=", join(',', \@fds), "\\n";
        push \@::children, \$pid;
        kill 'KILL', \$pid if -e '$dir/kill-network' && field(\$pid, 'Threads') > 1;
    }
    if (-e '$dir/kill-root') {
        # root killed with -9: its children must follow (they changed
        # their uid after asking for that)
        kill 'KILL', \$root;
        my \$until = time + 10;
        select(undef, undef, undef, 0.01) while time < \$until && grep { -e "/proc/\$_/status" && field(\$_, 'State') !~ /^Z/ } \@::children;
        my \@alive = grep { -e "/proc/\$_/status" && field(\$_, 'State') !~ /^Z/ } \@::children;
        open my \$r, '>', '$dir/after-root.log';
        print \$r scalar(\@::children), " children, alive after root: ", scalar(\@alive), "\\n";
        close \$r;
        exit 0;
    }
}
exec '$real', \@ARGV;
HOOK
close $h;
chmod 0755, $hook;
$env->set_config(dns_wait => 10, dns_hook_timeout => 10,
                 cert => {dns => {challenges => 'dns-01', dns_hook => $hook}});
$env->make_csr(cert => 'dns', names => [$env->names(1, 'dns-')]);
$r = $env->ctl('--cert', 'dns', 'sign');
exit_is($r, 0, 'a dns-01 sign, its hook looking at the processes');
my $seen = slurp($procs);
like($seen, qr/^root \d+ uid=0$/m, 'root stays root (state, store, deploy)');
my @children = $seen =~ /^child (.*)$/mg;
is(scalar @children, 2, 'root has two other children: network and key')
    or diag($seen);
for my $c (@children) {
    my ($pid) = $c =~ /^(\d+)/;
    like($c, qr/ uid=$unprivileged /, "child $pid runs as the unprivileged user");
    like($c, qr/ nnp=1 /, "child $pid has no_new_privs");
    my ($sid, $tty) = $c =~ / sid=(\d+) tty=(\d+)/;
    is($sid, $pid, "child $pid leads a session of its own");
    is($tty, 0, "child $pid has no controlling terminal (nothing to type into)");
    my ($fds) = $c =~ / fds=(.*)$/;
    # (under valgrind: its own log, the binary and its /proc copies too)
    my @files = grep { !/^(socket:|pipe:|anon_inode:|\/dev\/null$)/ &&
                       !/\/logs\/ctl-\d+\.err$/ &&
                       !($ENV{EXPACME_IT_WRAP} && /valgrind|\/expacmectl$/) }
                split /,/, $fds;
    is("@files", '', "child $pid holds no file (only its channels and stderr)");
}
my @threads = sort { $a <=> $b } map { / threads=(\d+)/ } @children;
is($threads[0], 1, 'the key process is a single thread');
cmp_ok($threads[-1] // 0, '>', 1, 'the network process has a thread per channel');

note 'a network process that forges what root should publish';
for my $case (['name', qr/asked to publish a challenge for a name not in the CSR/],
              ['keyauth', qr/asked to publish a key authorization not of this account/],
              # decoys with other tokens first: one publish per order
              ['twice', qr/the network process spoke out of turn/],
              # a certificate for a key of its own: the key process
              # signs no finalize for a CSR root did not send
              ['csr', qr/signing the request failed \(the key process refused: a finalize for a CSR root did not send\)/]) {
    my ($what, $why) = @$case;
    my $cert = "forge-$what";
    $env->make_csr(cert => $cert, names => [$env->names(1, "forge-$what-")]);
    $r = $env->ctl({env => {EXPACME_TEST_NETPROC_FORGE => $what}},
                   '--cert', $cert, 'sign');
    exit_is($r, 1, "forged $what: the sign fails");
    stderr_like($r, $why, "forged $what: root says what it refused");
    no_tokens($env, "forged $what: nothing was published");
    my $c = $env->cert_status($cert);
    is($c && $c->{last_sign}{result}, 'failure', "forged $what: status records the failure");
}

note 'the network process killed in the middle of an order';
open my $k, '>', "$dir/kill-network" or die;
close $k;
$env->make_csr(cert => 'dns', names => [$env->names(1, 'killed-')]);
$r = $env->ctl('--cert', 'dns', 'sign');
exit_is($r, 1, 'the sign fails');
stderr_like($r, qr/the network process has gone/, 'saying why');
no_tokens($env, 'nothing left published');
my %open;
for my $c (@{$env->dns_hook_calls}) {
    $open{$c->[1]}++ if $c->[0] eq 'add';
    delete $open{$c->[1]} if $c->[0] eq 'del';
}
ok(!%open, 'every TXT record added was deleted') or diag(explain(\%open));
unlink "$dir/kill-network";
$r = $env->ctl('--cert', 'dns', 'sign');
exit_is($r, 0, 'the next run starts a new network process and signs');

note 'root killed with -9 in the middle of an order';
open my $kr, '>', "$dir/kill-root" or die;
close $kr;
$env->make_csr(cert => 'dns', names => [$env->names(1, 'rootkill-')]);
$r = $env->ctl('--cert', 'dns', 'sign');
ok($r->{exit} != 0, 'the sign ends with root');
my $after = '';
for (1 .. 200) { # the hook writes when it has seen the children go
    $after = slurp("$dir/after-root.log");
    last if $after;
    select(undef, undef, undef, 0.05);
}
like($after, qr/^2 children, alive after root: 0$/,
     'the network and key processes die with root');
unlink "$dir/kill-root";
$r = $env->ctl('--cert', 'dns', 'sign');
exit_is($r, 0, 'the next run recovers and signs');
no_tokens($env, 'nothing of the killed run is left published');

note 'network_user';
for my $case (['no-such-user-here', (getpwnam('nobody'))[2]],
              ['daemon', (getpwnam('daemon'))[2]]) {
    my ($user, $want) = @$case;
    $env->set_config(network_user => $user);
    $env->make_csr(cert => 'escape', names => \@names);
    $r = $env->ctl({env => {EXPACME_TEST_NETPROC_ESCAPE => $state}},
                   '--cert', 'escape', 'sign');
    exit_is($r, 0, "network_user $user: sign works");
    my ($got) = $r->{stderr} =~ /escape test\): uid (\d+)/;
    is($got, $want, "network_user $user: the network process runs as uid $want");
}

done_testing;
