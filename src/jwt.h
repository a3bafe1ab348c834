/*
 * jwt - verification of JSON Web Tokens (RFC 7519) signed with HS256,
 * RS256 or RS512, for several issuers at once (as Open edX's JWT_ISSUERS).
 *
 * A verifier holds issuers; each issuer has one or more audiences and one
 * or more keys.  A key fixes the algorithms it verifies: an HMAC secret
 * verifies HS256 only, an RSA key RS256 and/or RS512.  The "alg" of a
 * token header only selects among the keys of its issuer that already
 * allow that algorithm, so "none" and algorithm confusion (an HS256 token
 * whose "secret" is an RSA public key) can never verify.
 *
 * Cryptography is OpenSSL 3's EVP API.  Error messages name the reason
 * ("token expired", "signature invalid", "unknown issuer") and never
 * contain the token or a secret.
 *
 * A verifier is built once (not thread-safe while being built) and is then
 * read-only: jwt_verify may be called from any number of threads.
 */
#ifndef CATALOGD_JWT_H
#define CATALOGD_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

/* Algorithms a key may verify (a bitmask). */
enum jwt_alg {
    JWT_ALG_HS256 = 1 << 0,
    JWT_ALG_RS256 = 1 << 1,
    JWT_ALG_RS512 = 1 << 2,
};
#define JWT_ALG_RSA (JWT_ALG_RS256 | JWT_ALG_RS512)

/* Defaults and hard limits. */
#define JWT_DEFAULT_LEEWAY 30       /* seconds of clock skew for exp and nbf */
#define JWT_DEFAULT_MAX_LENGTH 8192 /* bytes of a whole token */
#define JWT_MAX_JSON_DEPTH 8        /* nesting of header and payload JSON */
#define JWT_MIN_HMAC_SECRET 16      /* bytes: shorter secrets are refused */
#define JWT_MIN_RSA_BITS 2048       /* smaller RSA keys are refused */
#define JWT_MAX_AUDIENCES 16        /* per issuer */
#define JWT_MAX_KEYS 64             /* per issuer */

struct jwt_verifier;

/* A new verifier with no issuers, leeway JWT_DEFAULT_LEEWAY and maximum
 * token length JWT_DEFAULT_MAX_LENGTH.  Returns NULL when out of memory.
 * The caller frees it with jwt_verifier_free. */
struct jwt_verifier *jwt_verifier_new(void);

void jwt_verifier_free(struct jwt_verifier *v);

/* Seconds of tolerated clock skew for exp and nbf (0 to 600).  Returns -1
 * (ERR_CONFIG) when out of range. */
int jwt_verifier_set_leeway(struct jwt_verifier *v, long seconds, struct error *err);

/* Longest accepted token in bytes (256 to 65536).  -1 (ERR_CONFIG) when
 * out of range. */
int jwt_verifier_set_max_length(struct jwt_verifier *v, size_t bytes, struct error *err);

/* Declares an issuer (the exact "iss" value) accepting tokens whose "aud"
 * names one of audiences (n_audiences >= 1).  Strings are copied.  Returns
 * -1 (ERR_CONFIG) on a duplicate or empty issuer, no audience, too many. */
int jwt_verifier_add_issuer(struct jwt_verifier *v, const char *issuer,
                            const char *const *audiences, size_t n_audiences, struct error *err);

/* Adds an HS256 shared secret to a declared issuer.  kid may be NULL (the
 * key then serves tokens with or without a kid).  The secret is copied
 * and wiped on free.  -1 (ERR_CONFIG) on an unknown issuer or a secret
 * shorter than JWT_MIN_HMAC_SECRET. */
int jwt_verifier_add_hmac(struct jwt_verifier *v, const char *issuer, const unsigned char *secret,
                          size_t secret_len, const char *kid, struct error *err);

/* Adds an RSA public key in PEM ("BEGIN PUBLIC KEY" or "BEGIN RSA PUBLIC
 * KEY") verifying the algorithms in algs (a subset of JWT_ALG_RSA).  kid
 * may be NULL.  -1 (ERR_CONFIG) on an unknown issuer, a PEM that is not an
 * RSA public key, a key under JWT_MIN_RSA_BITS, or bad algs. */
int jwt_verifier_add_rsa_pem(struct jwt_verifier *v, const char *issuer, const char *pem,
                             size_t pem_len, unsigned algs, const char *kid, struct error *err);

/* Adds every signing RSA key of a JWK set ({"keys": [{"kty": "RSA", "kid",
 * "n", "e", optional "alg" and "use"}]}) to a declared issuer.  A key with
 * "alg" verifies that algorithm only, one without verifies RS256 and
 * RS512; keys with "use" other than "sig" and keys of another "kty" are
 * skipped.  Rotation: publish old and new keys under different kids.
 * Returns the number of keys added (>= 1), or -1 (ERR_CONFIG) on bad JSON,
 * a malformed RSA key, or a set with no usable key. */
int jwt_verifier_add_jwks(struct jwt_verifier *v, const char *issuer, const char *json,
                          size_t json_len, struct error *err);

/* Verifies token (len bytes, need not be NUL-terminated) at time now:
 * format and size, header, issuer, key (by kid), signature, exp (required),
 * nbf, aud.  On success returns 0 and *claims is the payload object, owned
 * by the caller (json_decref).  On failure returns -1, *claims is NULL, and
 * err is ERR_UNAUTHORIZED with the reason. */
int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len, time_t now,
               json_t **claims, struct error *err);

/* Strict base64url (RFC 4648 section 5) without padding: rejects "=",
 * characters outside the alphabet, impossible lengths and non-zero unused
 * bits.  Writes at most out_size bytes.  Returns the decoded length, or -1.
 * Exposed for tests and the JWK loader. */
long jwt_base64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size);

/* Encodes without padding into out (NUL-terminated).  Returns the encoded
 * length, or -1 when out_size is too small.  Used by tests to mint. */
long jwt_base64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size);

#endif
