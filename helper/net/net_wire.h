/* net_wire.h — the ACME values that cross between root and the network
 * process (problem documents, challenge lists, failures), written and
 * read field by field with the caps of net_proto.h. */
#ifndef EXPACME_NET_WIRE_H
#define EXPACME_NET_WIRE_H

#include "acme/acme_order.h"
#include "base/wire.h"

void net_wire_put_problem(wire_out_t *w, const acme_problem_t *problem);
int net_wire_get_problem(wire_in_t *in, acme_problem_t **problem,
                         apr_pool_t *pool);

void net_wire_put_challenges(wire_out_t *w, const apr_array_header_t *list);
int net_wire_get_challenges(wire_in_t *in, apr_array_header_t **list,
                            apr_pool_t *pool);

/* NET_FAILED: the status, the one-line error and the CA's problem. */
apr_status_t net_wire_send_failed(int fd, apr_status_t status, const char *err,
                                  const acme_problem_t *problem,
                                  apr_pool_t *pool);
int net_wire_get_failed(wire_in_t *in, apr_status_t *status, const char **err,
                        acme_problem_t **problem, apr_pool_t *pool);

/* A list of strings: a count, then each. */
void net_wire_put_strings(wire_out_t *w, const apr_array_header_t *list);
int net_wire_get_strings(wire_in_t *in, apr_array_header_t **list,
                         apr_pool_t *pool);

#endif
