package ExpAcme::Schema;

# Every --json output the suite sees is checked against its JSON Schema
# in docs/schema/ (one per command: status.json, provider-add.json, ...;
# error.json for a usage error before any command ran).  A document that
# does not follow its schema is a failed assertion in the test that ran
# the command; a valid one adds none.  One python3-jsonschema co-process
# (tests/integration/schema_check) per test file does the checking.
#
#   EXPACME_IT_SCHEMA=0   switch the check off for a run (debugging)

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Open2 qw(open2);
use Test::More ();

our $TOP = dirname(dirname(dirname(dirname(dirname(abs_path(__FILE__))))));
our $DIR = "$TOP/docs/schema";
our $CHECKER = "$TOP/tests/integration/schema_check";
our $ON = $ENV{EXPACME_IT_SCHEMA} // 1;

my %AREAS = map { $_ => 1 } qw(provider account csr pending token);
my ($pid, $to, $from);

# The schema a command line's output follows: "status", "token-list", ...
sub name_for {
    my (@args) = @_;
    my @words;
    while (@args) {
        my $a = shift @args;
        if ($a eq '--config' || $a eq '--cert') { shift @args; next }
        if ($a eq '--') { push @words, @args; last }
        next if $a =~ /^--/ && !@words;
        push @words, $a;
    }
    my $name = $words[0] // 'error';
    $name .= "-$words[1]" if $AREAS{$name} && defined $words[1]
        && $words[1] !~ /^-/;
    return -f "$DIR/$name.json" ? $name : 'error';
}

sub _start {
    return 1 if $pid;
    $pid = eval { open2($from, $to, '/usr/bin/python3', $CHECKER, $DIR) };
    return defined $pid;
}

# "ok", or "invalid: why" for the document $doc (already decoded).
sub verdict {
    my ($name, $doc) = @_;
    _start() or return "invalid: cannot start $CHECKER: $@";
    my $line = ExpAcme::Env::json()->canonical->encode($doc);
    print {$to} "$name\t$line\n";
    $to->flush;
    my $answer = <$from>;
    return 'invalid: schema_check died' unless defined $answer;
    chomp $answer;
    return $answer;
}

# Called for every --json result (see ExpAcme::Env::Run::wait).
sub check {
    my ($r) = @_;
    return unless $ON;
    my $name = name_for(@{$r->{args} || []});
    my $answer = defined $r->{json} ? verdict($name, $r->{json})
        : 'invalid: stdout is not JSON: ' . ($r->{json_error} // '');
    return if $answer eq 'ok';
    Test::More::fail("--json output follows docs/schema/$name.json");
    Test::More::diag("$answer\n" . ExpAcme::Env::explain($r));
}

sub stop {
    return unless $pid;
    close $to;
    close $from;
    waitpid($pid, 0);
    undef $pid;
}

END { stop() }

1;
