/*
 * auth - who is calling (from the Authorization header) and what they may
 * do (read, write), with 401 vs 403 semantics.
 *
 * Accepted headers: "JWT <token>" (Open edX) and "Bearer <token>" where
 * the token is a JWT.  Opaque OAuth access tokens are refused with a reason
 * saying so.  No header at all is an anonymous caller, which is not an
 * error: the decide-functions say whether anonymous callers may read.
 *
 * staff is the "administrator": true claim.  Scopes come from the "scopes"
 * claim (a JSON array of strings or one space-separated string).
 *
 * The configuration is a plain struct that the server fills from settings;
 * auth_new reads any key files it names.  An auth is read-only once built
 * and may be shared by every worker thread.
 */
#ifndef CATALOGD_AUTH_H
#define CATALOGD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "http.h"

enum auth_read_policy {
    AUTH_READ_PUBLIC,        /* anyone, with or without a token */
    AUTH_READ_AUTHENTICATED, /* a valid token is required */
};

/* Scopes a caller holds, as recognised from the configured scope names. */
enum auth_scope {
    AUTH_SCOPE_READ = 1 << 0,
    AUTH_SCOPE_WRITE = 1 << 1,
};

#define AUTH_MAX_AUDIENCES 16

/* One trusted issuer (Open edX JWT_ISSUERS entry).  At least one of
 * hs256_secret, rsa_public_key_file and jwks_file must be given. */
struct auth_issuer_config {
    const char *issuer; /* exact "iss" */
    const char *audiences[AUTH_MAX_AUDIENCES];
    size_t n_audiences;
    /* A secret spec: "env:NAME" (environment variable), "file:PATH" (file
     * contents, one trailing newline dropped) or the literal secret.  NULL
     * or "" for none. */
    const char *hs256_secret;
    const char *rsa_public_key_file; /* PEM; verifies RS256 and RS512 */
    const char *jwks_file;           /* JWK set; rotation by kid */
};

struct auth_config {
    const struct auth_issuer_config *issuers;
    size_t n_issuers;
    long leeway;             /* seconds for exp/nbf; JWT_DEFAULT_LEEWAY is 30 */
    size_t max_token_length; /* bytes; 0 means JWT_DEFAULT_MAX_LENGTH */
    enum auth_read_policy read;
    /* Scope names; "" disables scope-based access (then only staff may
     * write).  Usual values "catalog:read" and "catalog:write". */
    const char *read_scope;
    const char *write_scope;
};

/* The caller with its scopes (struct caller is what handlers see). */
struct auth_identity {
    struct caller caller;
    unsigned scopes; /* enum auth_scope bits */
};

struct auth;

/* Builds an auth from config: reads secrets and key files and checks them.
 * On success returns 0 and *out is owned by the caller (auth_free).  On
 * failure returns -1, *out is NULL, err is ERR_CONFIG naming the issuer and
 * the file or variable, never the secret itself. */
int auth_new(const struct auth_config *config, struct auth **out, struct error *err);

void auth_free(struct auth *auth);

/* Identifies the caller from an Authorization header value (NULL or "" for
 * none: an anonymous identity, returns 0).  Returns 0 and fills *out for a
 * valid token; -1 with ERR_UNAUTHORIZED and the reason for a malformed
 * header, an unsupported scheme, an opaque token or an invalid JWT (out is
 * then anonymous). */
int auth_authenticate(const struct auth *auth, const char *authorization, time_t now,
                      struct auth_identity *out, struct error *err);

/* 0 when id may read; -1 with ERR_UNAUTHORIZED (401) when a token is
 * required and missing. */
int auth_may_read(const struct auth *auth, const struct auth_identity *id, struct error *err);

/* 0 when id may write (staff, or the write scope when one is configured);
 * -1 with ERR_UNAUTHORIZED (401) for an anonymous caller, ERR_FORBIDDEN
 * (403) for an authenticated caller without the right. */
int auth_may_write(const struct auth *auth, const struct auth_identity *id, struct error *err);

/* The WWW-Authenticate value for a 401 (RFC 6750): realm, and when err is
 * about a presented token, error="invalid_token" with its reason. */
void auth_www_authenticate(const struct error *err, char *buf, size_t size);

/* Resolves a secret spec ("env:NAME", "file:PATH" or a literal) into a
 * malloc'd buffer *out of *len bytes, owned by the caller (wipe and free).
 * Returns -1 (ERR_CONFIG naming the variable or file, not the value). */
int auth_load_secret(const char *spec, unsigned char **out, size_t *len, struct error *err);

#endif
