# A state directory someone (or a full disk) damaged: a truncated
# schedule.json, a FIFO or a symlink in place of a state file or the lock.
# Every command answers at once with an error naming the file (a FIFO
# never hangs it), `status` says what it cannot read instead of showing
# a plausible "automated off" or "(null)", and nothing a symlink points
# to is written.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(mkfifo);
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(pebble => 0, httpd => 0, challtestsrv => 0);
my $d = $env->dir;
exit_is($env->ctl('csr', 'generate', '--cn', 'corrupt.example.test'), 0,
        'csr generate');
exit_is($env->ctl('schedule', '--auto', 'on', '--days', 'mon',
                  '--time', '04:30'), 0, 'schedule on');
my $cdir = $env->state_dir . '/certs/server';
my $sched = "$cdir/schedule.json";
ok(-f $sched, 'schedule.json written');

$env->write_file($sched, '{"automated": tr', 0600);
my $r = $env->ctl('status');
exit_is($r, 0, 'status with a truncated schedule.json');
like($r->{stdout}, qr/warning: the renewal schedule cannot be read \(\Q$sched\E/,
     'status warns that the schedule cannot be read, naming the file');
$r = $env->ctl('--json', 'status');
my ($c) = grep { $_->{name} eq 'server' } @{$r->{json}{certificates} || []};
ok($c && grep({ /schedule cannot be read/ } @{$c->{warnings} || []}),
   'status --json: the warning');
like($env->slurp(ExpAcme::Env::status_file($env) =~ s/\.json$/.flat/r),
     qr/^warning the renewal schedule cannot be read/m,
     'status.flat: the warning (the status page shows it)');
$r = $env->ctl('--json', 'renew');
exit_is($r, 1, 'renew on a truncated schedule.json: exit 1');
my ($e) = @{$r->{json}{certificates} || []};
like($e && $e->{error} // '', qr/\Q$sched\E: malformed/,
     'the certificate\'s error names the file');

unlink $sched;
mkfifo($sched, 0600) or die "mkfifo: $!";
$r = $env->ctl({timeout => 20}, 'status');
ok(!$r->{timed_out}, 'status with a FIFO as schedule.json: does not hang');
like($r->{stdout}, qr/schedule cannot be read .*not a regular file/,
     'and says the schedule is not a regular file');
$r = $env->ctl({timeout => 20}, 'renew');
ok(!$r->{timed_out}, 'renew with the FIFO: does not hang');
exit_is($r, 1, 'renew with the FIFO: exit 1');
unlink $sched;

my $st = "$cdir/status.json";
rename $st, "$st.saved" if -e $st;
symlink '/etc/passwd', $st or die "symlink: $!";
$r = $env->ctl('status');
like($r->{stdout}, qr/^server: state unreadable: \Q$st\E/m,
     'status.json a symlink to another file: status says the state is unreadable');
unlike($r->{stdout}, qr/\(null\)/, 'and never prints (null)');
unlink $st;
rename "$st.saved", $st if -e "$st.saved";

my $victim = "$d/victim";
$env->write_file($victim, "precious\n", 0644);
my $lock = $env->state_dir . '/lock';
unlink $lock;
symlink $victim, $lock or die "symlink: $!";
$r = $env->ctl('schedule', '--auto', 'off');
exit_is($r, 1, 'a symlink in place of the state lock: refused');
stderr_like($r, qr/\Q$lock\E/, 'the error names the lock');
is($env->slurp($victim), "precious\n", 'the file it points to is untouched');
unlink $lock;
done_testing;
