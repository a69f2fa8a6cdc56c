/* net_proto.h — the frames of the helper's three processes (SPEC §10):
 *
 *   root (cmd, ops: state, store, deploy) <-> network process: one
 *       socketpair per concurrent order, a request and its answer at a
 *       time, the network process asking back (publish, withdraw) and
 *       reporting progress while it works;
 *   root -> key process: keys to hold and to forget;
 *   network process -> key process: "sign these bytes with slot N",
 *       nothing else.
 *
 * Every frame type, and the cap of every field, is named here. */
#ifndef EXPACME_NET_PROTO_H
#define EXPACME_NET_PROTO_H

enum {
    /* root -> network */
    NET_OPEN = 0x4e01, /* directory, CA PEM bytes, connect s, total s, shared */
    NET_SIGNER,        /* slot, alg, jwk JSON, kid|absent */
    NET_REGISTER,      /* email|absent, agree, eab kid|absent, eab slot */
    NET_FETCH,         /* (nothing) */
    NET_KEY_CHANGE,    /* slot, alg, jwk JSON */
    NET_DEACTIVATE,    /* (nothing) */
    NET_ORDER,         /* CSR DER b64url, names count, names, thumbprint,
                          profile, replaces, chain, timeout s, types
                          count, types */
    NET_REVOKE,        /* certificate DER b64url, reason */
    NET_ARI,           /* certificate id */
    NET_PUBLISHED,     /* root's answer: 0 | error */
    /* network -> root */
    NET_PROGRESS = 0x4e40, /* one line */
    NET_PUBLISH,           /* expires, count, (type, host, name, token,
                              keyauth) ... */
    NET_WITHDRAW,          /* (nothing) */
    NET_OK,                /* (nothing) */
    NET_OPENED,  /* terms, renewalInfo, revokeCert (what root uses; the
                    rest of the directory stays here) */
    NET_ACCOUNT, /* url|absent, status|absent, contact count, contacts */
    NET_ORDERED, /* order url, chain PEM, issuer, alternates, count,
                    (name, type) ... */
    NET_REVOKED, /* HTTP status */
    NET_RENEWAL, /* start, end, Retry-After */
    NET_FAILED,  /* status, error, problem (see net_wire.h) */
    /* root -> key, network -> key, and the key process's answers */
    KEY_LOAD = 0x4b01, /* slot, kind (KEY_KIND_*), bytes */
    KEY_DROP,          /* slot */
    KEY_SIGN,          /* slot, bytes to sign */
    KEY_ALLOW,         /* what (KEY_ALLOW_*), value */
    KEY_DONE = 0x4b40, /* (nothing) */
    KEY_SIGNATURE,     /* bytes */
    KEY_REFUSED        /* why */
};

enum { KEY_KIND_PRIVATE = 1, KEY_KIND_HMAC = 2 };

/* What root lets the key process sign beyond plain requests (keyproc.c):
 * a finalize only for a CSR root sent, a keyChange, a deactivation or a
 * revocation only once root asked for one, an EAB binding only of the
 * account key root loaded. */
enum {
    KEY_ALLOW_CSR = 1,    /* value: the CSR, DER base64url */
    KEY_ALLOW_KEY_CHANGE, /* value: the new key's public JWK (JSON) */
    KEY_ALLOW_DEACTIVATE,
    KEY_ALLOW_REVOKE, /* value: the certificate, DER base64url */
    KEY_ALLOW_EAB_JWK /* value: the account's public JWK (JSON) */
};

#define NET_STR_MAX (16 * 1024)   /* URLs, errors, details, names */
#define NET_PEM_MAX (1024 * 1024) /* a chain as http.c caps bodies */
#define NET_SIGN_MAX (256 * 1024) /* one JWS signing input */
#define NET_KEY_MAX (16 * 1024)   /* an RSA 4096 key as PEM */
#define NET_LIST_MAX 1000         /* names, challenges, subproblems */
#define NET_SLOTS 64              /* keys the key process holds at once */
#define NET_FRAME_MAX (NET_PEM_MAX + 64 * 1024)

#endif
