# Issue 10: the helper never changes the mode of a directory it did not
# create.  A status file in a shared sticky directory (like /tmp) is not
# published (a warning) and the directory keeps its 1777; a store there (like
# shm:/dev/shm/...) is refused with a clear error, as is a store whose
# lock is a symlink (nothing is created where it points) and a state_dir
# someone widened to 0755 (refused, not tightened).  Private copies of
# such directories, never the machine's own /tmp or /dev/shm.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();

my $ctl = $ENV{EXPACME_IT_CTL} or die "run me through tests/integration/run\n";
my $d = tempdir('/tmp/expacme-it-dirs.XXXXXX', CLEANUP => 1);
mkdir "$d/$_", 0755 or die "mkdir $_: $!" for qw(shared run state);
chmod 01777, "$d/shared" or die "chmod: $!";
chmod 0700, "$d/state" or die "chmod: $!";

sub mode { sprintf '%04o', (stat $_[0])[2] & 07777 }

# Runs expacmectl with a config of these lines; (exit, stderr).
sub run {
    my ($conf, @args) = @_;
    open my $fh, '>', "$d/expacme.conf" or die "conf: $!";
    print {$fh} "state_dir = $d/state\n$conf";
    close $fh;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$d/out" or POSIX::_exit(126);
        open STDERR, '>', "$d/err" or POSIX::_exit(126);
        exec $ctl, '--config', "$d/expacme.conf", @args;
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    open my $e, '<', "$d/err" or die "err: $!";
    local $/;
    my $err = <$e> // '';
    return ($? >> 8, $err);
}

my $store_ok = "challenge_store = shm:$d/run/challenges\n";

{
    my ($rc, $err) = run($store_ok . "status_file = $d/shared/status.json\n",
                         'status');
    is($rc, 0, 'status with status_file in a sticky 1777 directory') or diag $err;
    like($err, qr/not publishing the status in \Q$d\E\/shared: others can write/,
         'a warning: the status is not published where others can write');
    ok(!-e "$d/shared/status.json", 'no status file there');
    is(mode("$d/shared"), '1777', 'and the directory keeps its sticky bit and mode');
}

{
    my ($rc, $err) = run("challenge_store = shm:$d/shared/challenges\n"
                         . "status_file = $d/run/status.json\n",
                         'token', 'put', 'tok1', 'tok1.ka', '--host', 'a.example');
    isnt($rc, 0, 'a challenge store in a directory others can write: refused');
    like($err, qr/EXP\d{5}.*\Q$d\E\/shared\/challenges.*unsafe/,
         'one line naming the store and why');
    is(mode("$d/shared"), '1777', 'the directory is left as it was');
    ok(!-e "$d/shared/challenges" && !-e "$d/shared/challenges.lock",
       'nothing created in it');
}

{
    symlink "$d/elsewhere", "$d/run/challenges.lock" or die "symlink: $!";
    my ($rc, $err) = run($store_ok . "status_file = $d/run/status.json\n",
                         'token', 'put', 'tok2', 'tok2.ka', '--host', 'a.example');
    isnt($rc, 0, 'a store lock that is a symlink: refused');
    like($err, qr/unsafe/, 'the error says why');
    ok(!-e "$d/elsewhere", 'nothing created where the symlink points');
    unlink "$d/run/challenges.lock";
    ($rc, $err) = run($store_ok . "status_file = $d/run/status.json\n",
                      'token', 'put', 'tok2', 'tok2.ka', '--host', 'a.example');
    is($rc, 0, 'without it, token put works') or diag $err;
}

{
    chmod 0755, "$d/state" or die "chmod: $!";
    my ($rc, $err) = run($store_ok . "status_file = $d/run/status.json\n",
                         'csr', 'generate', '--cn', 'a.example');
    isnt($rc, 0, 'a state_dir widened to 0755: refused');
    like($err, qr/\Q$d\E\/state.*0755/, 'the error names it and its mode');
    is(mode("$d/state"), '0755', 'and it is not tightened behind the admin\'s back');
    ok(!-e "$d/state/certs/server/csr.pem", 'no CSR written below it');
}

done_testing;
