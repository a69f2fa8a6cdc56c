# What the CA says when it says no: 503 with Retry-After is waited out;
# rateLimited with a long Retry-After ends the sign at once, recorded in
# status with its retry_after; problem documents with subproblems are
# reported verbatim, on stderr, in --json and in status.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, timeouts => 1,
                            nonce_reject => 0);
$env->setup_account(via => 'proxy');
my $new_order = '^/order-plz';
my $E = 'urn:ietf:params:acme:error';

{
    note '503 + Retry-After: 1, twice, then the real answer';
    my @names = $env->names(2, 'busy-');
    $env->make_csr(names => \@names);
    $env->proxy_reset;
    $env->faults([{match => $new_order, count => 2, kind => 'status',
                   status => 503, headers => {'Retry-After' => 1},
                   body => {type => "$E:serverInternal",
                            detail => 'busy, injected by fault_proxy'}}]);
    my $r = $env->ctl('sign');
    exit_is($r, 0, '503 twice: the sign succeeds');
    my $waits = () = $r->{stderr} =~ /waiting 1s as its Retry-After asks/g;
    is($waits, 2, '503 twice: waited as Retry-After asked, twice');
    cmp_ok($r->{elapsed}, '>=', 1.9, sprintf('503 twice: took the 2 s the '
           . 'CA asked for (%.1fs)', $r->{elapsed}));
    my @asked = $env->requests_to(qr{^/order-plz});
    is(scalar @asked, 3, '503 twice: newOrder sent 3 times');
    if (@asked == 3) {
        cmp_ok($asked[1]{time} - $asked[0]{time}, '>=', 0.9,
               '503: the retry came after Retry-After');
        cmp_ok($asked[2]{time} - $asked[1]{time}, '>=', 0.9,
               '503: the second retry came after Retry-After');
        isnt($asked[1]{protected}{nonce}, $asked[0]{protected}{nonce},
             '503: each retry carries a new nonce');
    }
    chain_ok($env, 'server', \@names, '503 twice');
    no_tokens($env);
}

{
    note '503 with Retry-After on the challenge answer, mid-order';
    my @names = $env->names(1, 'busy2-');
    $env->make_csr(cert => 'busy2', names => \@names);
    $env->proxy_reset;
    $env->faults([{match => '^/chalZ/', count => 1, kind => 'status',
                   status => 503, headers => {'Retry-After' => 1},
                   body => {type => "$E:serverInternal",
                            detail => 'busy'}}]);
    my $r = $env->ctl('--cert', 'busy2', 'sign');
    exit_is($r, 0, '503 on the challenge answer: the sign succeeds');
    chain_ok($env, 'busy2', \@names, '503 mid-order');
    no_tokens($env);
}

{
    note 'rateLimited, Retry-After: 3600';
    my @names = $env->names(1, 'rl-');
    $env->make_csr(cert => 'limited', names => \@names);
    $env->proxy_reset;
    my $detail = 'too many certificates (5) already issued for this exact '
        . 'set of identifiers in the last 168h0m0s, retry after '
        . '2030-01-01 00:00:00 UTC';
    $env->faults([{match => $new_order, kind => 'status', status => 429,
                   headers => {'Retry-After' => 3600},
                   body => {type => "$E:rateLimited", detail => $detail}}]);
    my $r = $env->ctl('--cert', 'limited', 'sign');
    exit_is($r, 1, 'rateLimited: exit 1');
    ok($r->{elapsed} < 10, sprintf('rateLimited: no 1-hour wait (%.1fs)',
                                   $r->{elapsed}));
    stderr_like($r, qr/EXP\d{5}: .*429: \Q$E:rateLimited: $detail\E/,
                'rateLimited: type and detail verbatim');
    is(scalar $env->requests_to(qr{^/order-plz}), 1,
       'rateLimited: newOrder not retried');
    my $c = $env->cert_status('limited');
    my $p = $c->{last_sign}{problem} || {};
    is($c->{last_sign}{result}, 'failure', 'status: last_sign failure');
    is($p->{type}, "$E:rateLimited", 'status: last_sign.problem.type');
    is($p->{detail}, $detail, 'status: last_sign.problem.detail verbatim');
    is($p->{status}, 429, 'status: last_sign.problem.status');
    ok(defined $p->{retry_after} && $p->{retry_after} > 3500
       && $p->{retry_after} <= 3600,
       'status: last_sign.problem.retry_after ~3600')
        or diag(explain($c->{last_sign}));
    no_tokens($env);
    exit_is($env->ctl('--cert', 'limited', 'pending', 'show'), 1,
            'rateLimited: nothing pending');
    my $file = $env->json->decode($env->slurp($env->status_file) || '{}');
    my ($fc) = grep { $_->{name} eq 'limited' }
        @{$file->{certificates} || []};
    is($fc && $fc->{last_sign}{problem}{type}, "$E:rateLimited",
       'status_file (for the status page): last_sign.problem.type');
}

{
    note 'rateLimited with a short Retry-After is waited out';
    my @names = $env->names(1, 'rl2-');
    $env->make_csr(cert => 'limited2', names => \@names);
    $env->proxy_reset;
    $env->faults([{match => $new_order, count => 1, kind => 'status',
                   status => 429, headers => {'Retry-After' => 1},
                   body => {type => "$E:rateLimited",
                            detail => 'slow down'}}]);
    my $r = $env->ctl('--cert', 'limited2', 'sign');
    exit_is($r, 0, 'rateLimited, Retry-After 1: the sign succeeds');
    like($r->{stderr}, qr/waiting 1s/, 'and said it waited');
}

{
    note 'Retry-After on authorization polls';
    my @names = $env->names(1, 'poll-');
    $env->make_csr(cert => 'poll', names => \@names);
    $env->proxy_reset;
    # The authorization fetch and the first poll say "pending, ask again
    # in 2 s"; the client must not poll again sooner.
    $env->faults([{match => '^/authZ/', count => 2, kind => 'body',
                   merge => {status => 'pending'},
                   headers => {'Retry-After' => 2}}]);
    my $r = $env->ctl('--cert', 'poll', 'sign');
    exit_is($r, 0, 'Retry-After on polls: the sign succeeds');
    my @polls = $env->requests_to(qr{^/authZ/});
    cmp_ok(scalar @polls, '>=', 3, 'fetch, a pending poll, a valid poll');
    if (@polls >= 3) {
        cmp_ok($polls[2]{time} - $polls[1]{time}, '>=', 1.9,
               sprintf('the next poll came after the 2 s asked for '
                       . '(%.2fs)', $polls[2]{time} - $polls[1]{time}));
    }
    no_tokens($env);
}

{
    note 'a problem detail with a line break stays one line';
    $env->make_csr(cert => 'nl', names => [$env->names(1, 'nl-')]);
    $env->proxy_reset;
    $env->faults([{match => $new_order, kind => 'status', status => 403,
                   body => {type => "$E:unauthorized",
                            detail => "first line\nsecond line\e[31m"}}]);
    my $r = $env->ctl('--cert', 'nl', 'sign');
    exit_is($r, 1, 'multi-line detail: exit 1');
    my @lines = grep { /second line/ } split /\n/, $r->{stderr};
    is(scalar @lines, 1, 'multi-line detail: one line on stderr');
    like($lines[0] // '', qr/EXP\d{5}: .*first line.*second line/,
         'multi-line detail: both parts, on the error line');
    unlike($r->{stderr}, qr/\e/, 'no raw escape character reaches the terminal');
}

{
    note 'problem with subproblems';
    my @names = $env->names(3, 'sub-');
    $env->make_csr(cert => 'subs', names => \@names);
    $env->proxy_reset;
    my @subs = (
        {type => "$E:rejectedIdentifier",
         detail => "$names[1] is on a blocklist (\"policy\" 7)",
         identifier => {type => 'dns', value => $names[1]}},
        {type => "$E:caa",
         detail => "CAA record for $names[2] prevents issuance",
         identifier => {type => 'dns', value => $names[2]}},
    );
    $env->faults([{match => $new_order, kind => 'status', status => 400,
                   body => {type => "$E:compound",
                            detail => 'Errors for 2 identifiers',
                            subproblems => \@subs}}]);
    my $r = $env->ctl('--cert', 'subs', 'sign');
    exit_is($r, 1, 'subproblems: exit 1');
    stderr_like($r, qr/EXP\d{5}: .*400: \Q$E:compound: Errors for 2 identifiers\E/,
                'subproblems: top-level type and detail verbatim');
    for my $s (@subs) {
        stderr_like($r, qr/\Q$s->{identifier}{value}\E\]? \Q$s->{type}: $s->{detail}\E/,
                    "subproblems: $s->{identifier}{value}: type and detail verbatim");
    }
    my $j = $env->ctl('--json', '--cert', 'subs', 'sign');
    json_error_like($j, qr/\Q$subs[0]{detail}\E.*\Q$subs[1]{detail}\E/,
                    'subproblems: --json error has both');
    my $c = $env->cert_status('subs');
    my $p = $c->{last_sign}{problem} || {};
    is($p->{type}, "$E:compound", 'status: problem.type');
    is(scalar @{$p->{subproblems} || []}, 2, 'status: 2 subproblems');
    my %by = map { ($_->{identifier} // '') => $_ } @{$p->{subproblems} || []};
    for my $s (@subs) {
        my ($got) = grep { ($_->{identifier} // '') =~ /\Q$s->{identifier}{value}\E/ }
            @{$p->{subproblems} || []};
        is($got && $got->{detail}, $s->{detail},
           "status: subproblem for $s->{identifier}{value} verbatim");
        is($got && $got->{type}, $s->{type},
           "status: subproblem type for $s->{identifier}{value}");
    }
    no_tokens($env);
}

done_testing;
