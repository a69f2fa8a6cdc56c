# Runs last: the error log holds no warning or error from mod_expacme and no
# crashed child, after everything the other tests threw at the server.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 4, need_module 'expacme';

# Still alive and answering.
is(req('expacme_redirect', 'GET', '/last')->{status}, 301, 'server still answers');

# Byte ranges where a test provoked warnings on purpose, and what they
# may say (ExpAcme::Test::expected_noise).
my @noise;
if (open my $nf, '<', noise_file()) {
    while (<$nf>) {
        chomp;
        my ($from, $to, $pattern) = split /\t/, $_, 3;
        push @noise, [$from, $to, qr/$pattern/];
    }
    close $nf;
}

open my $fh, '<', error_log_path() or die "open " . error_log_path() . ": $!";
my @lines;
my $offset = 0;
while (my $line = <$fh>) {
    my $at = $offset;
    $offset += length $line;
    next if grep { $at >= $_->[0] && $at < $_->[1] && $line =~ $_->[2] } @noise;
    push @lines, $line;
}
close $fh;
ok(scalar(grep { /resuming normal operations/ } @lines), 'this is the running server\'s log');

my $level = qr/(?:warn|error|crit|alert|emerg)/;
# Our lines: the module's own log tag, or another module's complaint that
# names mod_expacme or carries one of our EXPnnnnn message numbers.
my @ours = grep {
    /\[expacme:$level\]/
        || (/\[\w+:$level\]/ && (/\bmod_expacme\b|\bexpacme_module\b|\bEXP\d{5}\b/))
} @lines;
ok(!@ours, 'no warning or error from mod_expacme') or diag @ours;

my @crash = grep { /exit signal|AH00052|AH00051|Segmentation fault|seg fault|dumped core/i } @lines;
ok(!@crash, 'no child crashed') or diag @crash;
