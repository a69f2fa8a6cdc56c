/* acme_account.c — see acme_account.h. */
#include "acme/acme_account.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme_json.h"
#include "base/json_pool.h"

static json_t *new_account_payload(const char *email, int agree_tos)
{
    json_t *payload = json_object();
    if (agree_tos)
        json_object_set_new(payload, "termsOfServiceAgreed", json_true());
    if (email != NULL)
        json_object_set_new(payload, "contact",
                            json_pack("[s+]", "mailto:", email));
    return payload;
}

apr_status_t acme_account_register(const char **url, json_t **account,
                                   acme_session_t *s, const char *email,
                                   int agree_tos, const acme_eab_t *eab,
                                   const char **err, apr_pool_t *pool)
{
    *url = NULL;
    *account = NULL;
    if (s->eab_required && eab == NULL) {
        *err = "this CA requires External Account Binding: configure the "
               "provider with --eab-kid and --eab-hmac-key-file";
        return APR_EINVAL;
    }
    json_t *payload =
        json_pool_bind(new_account_payload(email, agree_tos), pool);
    if (eab != NULL) {
        json_t *binding = NULL;
        apr_status_t rv =
            eab->mac != NULL
                ? jws_build_eab_with(&binding, s->signer.jwk, eab->kid,
                                     eab->mac, eab->mac_baton,
                                     s->new_account_url, err, pool)
                : jws_build_eab(&binding, s->signer.jwk, eab->kid,
                                eab->hmac_key, eab->hmac_key_len,
                                s->new_account_url, err, pool);
        if (rv != APR_SUCCESS)
            return rv;
        json_object_set(payload, "externalAccountBinding", binding);
    }
    http_response_t *resp = NULL;
    apr_status_t rv = acme_post_json(account, &resp, s, s->new_account_url,
                                     payload, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (resp->location == NULL || strncmp(resp->location, "https://", 8) != 0) {
        *err = "CA created the account but sent no https Location";
        return APR_EGENERAL;
    }
    *url = apr_pstrdup(pool, resp->location);
    s->signer.kid = *url;
    return APR_SUCCESS;
}

apr_status_t acme_account_fetch(json_t **account, acme_session_t *s,
                                const char **err, apr_pool_t *pool)
{
    return acme_post_json(account, NULL, s, s->signer.kid, NULL, err, pool);
}

apr_status_t acme_account_key_change(acme_session_t *s,
                                     const jws_signer_t *new_signer,
                                     const char **err, apr_pool_t *pool)
{
    if (s->key_change_url == NULL) {
        *err = "this CA offers no keyChange";
        return APR_ENOTIMPL;
    }
    jws_signer_t inner_signer = *new_signer;
    inner_signer.kid = NULL; /* the inner JWS carries the new jwk */
    json_t *inner_payload =
        json_pool_bind(json_pack("{s:s, s:O}", "account", s->signer.kid,
                                 "oldKey", s->signer.jwk),
                       pool);
    json_t *inner = NULL;
    apr_status_t rv = jws_build_json(&inner, &inner_signer, s->key_change_url,
                                     NULL, inner_payload, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    http_response_t *resp = NULL;
    rv = acme_post(&resp, s, s->key_change_url, inner, NULL, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *kid = s->signer.kid;
    s->signer = *new_signer;
    s->signer.kid = kid;
    return APR_SUCCESS;
}

apr_status_t acme_account_deactivate(json_t **account, acme_session_t *s,
                                     const char **err, apr_pool_t *pool)
{
    json_t *payload =
        json_pool_bind(json_pack("{s:s}", "status", "deactivated"), pool);
    return acme_post_json(account, NULL, s, s->signer.kid, payload, err, pool);
}
