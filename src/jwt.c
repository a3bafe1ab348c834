/*
 * jwt - JWT verification: strict parsing, then key selection by issuer and
 * kid, then the signature, then the time and audience claims.
 *
 * Nothing from the token is trusted before its signature verifies, except
 * "iss" and "kid" which only choose among keys we already hold.
 */
#include "jwt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

struct jwt_key {
    unsigned algs;         /* enum jwt_alg bits this key verifies */
    char *kid;             /* NULL: serves tokens with any or no kid */
    unsigned char *secret; /* HMAC */
    size_t secret_len;
    EVP_PKEY *pkey; /* RSA */
};

struct jwt_issuer {
    char *name;
    char *audiences[JWT_MAX_AUDIENCES];
    size_t n_audiences;
    struct jwt_key keys[JWT_MAX_KEYS];
    size_t n_keys;
};

struct jwt_verifier {
    struct jwt_issuer *issuers;
    size_t n_issuers;
    long leeway;
    size_t max_length;
};

struct jwt_verifier *jwt_verifier_new(void)
{
    struct jwt_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->leeway = JWT_DEFAULT_LEEWAY;
    v->max_length = JWT_DEFAULT_MAX_LENGTH;
    return v;
}

static void key_clear(struct jwt_key *k)
{
    free(k->kid);
    if (k->secret != NULL) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof *k);
}

void jwt_verifier_free(struct jwt_verifier *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n_issuers; i++) {
        struct jwt_issuer *is = &v->issuers[i];
        free(is->name);
        for (size_t a = 0; a < is->n_audiences; a++)
            free(is->audiences[a]);
        for (size_t k = 0; k < is->n_keys; k++)
            key_clear(&is->keys[k]);
    }
    free(v->issuers);
    free(v);
}

int jwt_verifier_set_leeway(struct jwt_verifier *v, long seconds, struct error *err)
{
    if (seconds < 0 || seconds > 600)
        return error_set(err, ERR_CONFIG, "JWT leeway must be between 0 and 600 seconds");
    v->leeway = seconds;
    return 0;
}

int jwt_verifier_set_max_length(struct jwt_verifier *v, size_t bytes, struct error *err)
{
    if (bytes < 256 || bytes > 65536)
        return error_set(err, ERR_CONFIG, "JWT maximum length must be between 256 and 65536");
    v->max_length = bytes;
    return 0;
}

static struct jwt_issuer *find_issuer(const struct jwt_verifier *v, const char *name)
{
    for (size_t i = 0; i < v->n_issuers; i++)
        if (strcmp(v->issuers[i].name, name) == 0)
            return &v->issuers[i];
    return NULL;
}

int jwt_verifier_add_issuer(struct jwt_verifier *v, const char *issuer,
                            const char *const *audiences, size_t n_audiences, struct error *err)
{
    if (issuer == NULL || issuer[0] == '\0')
        return error_set(err, ERR_CONFIG, "JWT issuer must not be empty");
    if (find_issuer(v, issuer) != NULL)
        return error_set(err, ERR_CONFIG, "JWT issuer %.200s declared twice", issuer);
    if (n_audiences == 0 || n_audiences > JWT_MAX_AUDIENCES)
        return error_set(err, ERR_CONFIG, "JWT issuer %.200s needs 1 to %d audiences", issuer,
                         JWT_MAX_AUDIENCES);
    for (size_t a = 0; a < n_audiences; a++)
        if (audiences[a] == NULL || audiences[a][0] == '\0')
            return error_set(err, ERR_CONFIG, "JWT issuer %.200s has an empty audience", issuer);
    struct jwt_issuer *grown = realloc(v->issuers, (v->n_issuers + 1) * sizeof *grown);
    if (grown == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    v->issuers = grown;
    struct jwt_issuer *is = &v->issuers[v->n_issuers];
    memset(is, 0, sizeof *is);
    is->name = strdup(issuer);
    bool ok = is->name != NULL;
    for (size_t a = 0; ok && a < n_audiences; a++) {
        is->audiences[a] = strdup(audiences[a]);
        ok = is->audiences[a] != NULL;
        is->n_audiences = a + 1;
    }
    v->n_issuers++;
    if (!ok)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* A free key slot of issuer, with kid copied in; NULL (err set) if none. */
static struct jwt_key *new_key(struct jwt_verifier *v, const char *issuer, const char *kid,
                               struct error *err)
{
    struct jwt_issuer *is = find_issuer(v, issuer);
    if (is == NULL) {
        error_set(err, ERR_CONFIG, "JWT key for undeclared issuer %.200s", issuer);
        return NULL;
    }
    if (is->n_keys == JWT_MAX_KEYS) {
        error_set(err, ERR_CONFIG, "JWT issuer %.200s has more than %d keys", issuer, JWT_MAX_KEYS);
        return NULL;
    }
    struct jwt_key *k = &is->keys[is->n_keys];
    memset(k, 0, sizeof *k);
    if (kid != NULL) {
        if (kid[0] == '\0' || strlen(kid) > 256) {
            error_set(err, ERR_CONFIG, "JWT key id must be 1 to 256 characters");
            return NULL;
        }
        k->kid = strdup(kid);
        if (k->kid == NULL) {
            error_set(err, ERR_INTERNAL, "out of memory");
            return NULL;
        }
    }
    return k;
}

/* Makes the slot filled by new_key part of its issuer. */
static void commit_key(struct jwt_verifier *v, const char *issuer)
{
    find_issuer(v, issuer)->n_keys++;
}

int jwt_verifier_add_hmac(struct jwt_verifier *v, const char *issuer, const unsigned char *secret,
                          size_t secret_len, const char *kid, struct error *err)
{
    if (secret == NULL || secret_len < JWT_MIN_HMAC_SECRET)
        return error_set(err, ERR_CONFIG, "JWT HS256 secret for %.200s is shorter than %d bytes",
                         issuer, JWT_MIN_HMAC_SECRET);
    struct jwt_key *k = new_key(v, issuer, kid, err);
    if (k == NULL)
        return -1;
    k->secret = malloc(secret_len);
    if (k->secret == NULL) {
        key_clear(k);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    memcpy(k->secret, secret, secret_len);
    k->secret_len = secret_len;
    k->algs = JWT_ALG_HS256;
    commit_key(v, issuer);
    return 0;
}

/* Accepts an RSA public key of sufficient size; takes pkey either way. */
static int install_rsa(struct jwt_verifier *v, const char *issuer, EVP_PKEY *pkey, unsigned algs,
                       const char *kid, struct error *err)
{
    if (algs == 0 || (algs & ~(unsigned)JWT_ALG_RSA) != 0) {
        EVP_PKEY_free(pkey);
        return error_set(err, ERR_CONFIG, "an RSA key verifies only RS256 and RS512");
    }
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        return error_set(err, ERR_CONFIG, "JWT key for %.200s is not an RSA key", issuer);
    }
    if (EVP_PKEY_get_bits(pkey) < JWT_MIN_RSA_BITS) {
        EVP_PKEY_free(pkey);
        return error_set(err, ERR_CONFIG, "JWT RSA key for %.200s is shorter than %d bits", issuer,
                         JWT_MIN_RSA_BITS);
    }
    struct jwt_key *k = new_key(v, issuer, kid, err);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    k->pkey = pkey;
    k->algs = algs;
    commit_key(v, issuer);
    return 0;
}

int jwt_verifier_add_rsa_pem(struct jwt_verifier *v, const char *issuer, const char *pem,
                             size_t pem_len, unsigned algs, const char *kid, struct error *err)
{
    EVP_PKEY *pkey = NULL;
    /* The decoder reads both SubjectPublicKeyInfo and PKCS#1 PEM, public
     * parts only: a private key PEM yields its public half. */
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx == NULL)
        return error_set(err, ERR_INTERNAL, "cannot create a PEM decoder");
    const unsigned char *data = (const unsigned char *)pem;
    size_t left = pem_len;
    int ok = OSSL_DECODER_from_data(dctx, &data, &left);
    OSSL_DECODER_CTX_free(dctx);
    if (!ok || pkey == NULL) {
        EVP_PKEY_free(pkey);
        return error_set(err, ERR_CONFIG, "JWT key for %.200s is not an RSA public key in PEM",
                         issuer);
    }
    return install_rsa(v, issuer, pkey, algs, kid, err);
}

/* An RSA public key from base64url n and e; NULL when malformed. */
static EVP_PKEY *rsa_from_jwk(const char *n64, const char *e64)
{
    size_t nlen = strlen(n64), elen = strlen(e64);
    if (nlen > 2048 || elen > 16)
        return NULL;
    unsigned char n[1600], e[16];
    long nl = jwt_base64url_decode(n64, nlen, n, sizeof n);
    long el = jwt_base64url_decode(e64, elen, e, sizeof e);
    if (nl <= 0 || el <= 0)
        return NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL);
    BIGNUM *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bn != NULL && be != NULL && bld != NULL && ctx != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0)
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static unsigned alg_from_name(const char *name)
{
    if (strcmp(name, "HS256") == 0)
        return JWT_ALG_HS256;
    if (strcmp(name, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(name, "RS512") == 0)
        return JWT_ALG_RS512;
    return 0;
}

static int jwks_key(struct jwt_verifier *v, const char *issuer, json_t *jwk, size_t index,
                    struct error *err)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    if (kty == NULL)
        return error_set(err, ERR_CONFIG, "JWK %zu of %.200s has no kty", index, issuer);
    if (strcmp(kty, "RSA") != 0 || (use != NULL && strcmp(use, "sig") != 0))
        return 0;
    json_t *kid_j = json_object_get(jwk, "kid");
    const char *kid = json_string_value(kid_j);
    const char *n = json_string_value(json_object_get(jwk, "n"));
    const char *e = json_string_value(json_object_get(jwk, "e"));
    json_t *alg_j = json_object_get(jwk, "alg");
    unsigned algs = JWT_ALG_RSA;
    if (alg_j != NULL) {
        algs = json_is_string(alg_j) ? alg_from_name(json_string_value(alg_j)) : 0;
        if ((algs & JWT_ALG_RSA) == 0)
            return error_set(err, ERR_CONFIG, "JWK %zu of %.200s has an unsupported alg", index,
                             issuer);
    }
    if ((kid_j != NULL && kid == NULL) || n == NULL || e == NULL)
        return error_set(err, ERR_CONFIG, "JWK %zu of %.200s needs string n, e (and kid)", index,
                         issuer);
    EVP_PKEY *pkey = rsa_from_jwk(n, e);
    if (pkey == NULL)
        return error_set(err, ERR_CONFIG, "JWK %zu of %.200s is not a valid RSA public key", index,
                         issuer);
    if (install_rsa(v, issuer, pkey, algs, kid, err) != 0)
        return -1;
    return 1;
}

int jwt_verifier_add_jwks(struct jwt_verifier *v, const char *issuer, const char *json,
                          size_t json_len, struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        json_decref(root);
        return error_set(err, ERR_CONFIG, "JWK set for %.200s is not {\"keys\": [...]}", issuer);
    }
    int added = 0;
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        int rc = jwks_key(v, issuer, jwk, i, err);
        if (rc < 0) {
            json_decref(root);
            return -1;
        }
        added += rc;
    }
    json_decref(root);
    if (added == 0)
        return error_set(err, ERR_CONFIG, "JWK set for %.200s has no RSA signing key", issuer);
    return added;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long jwt_base64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
    if (len % 4 == 1 || len > LONG_MAX / 3)
        return -1;
    size_t need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    if (need > out_size)
        return -1;
    unsigned long acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int val = b64_value((unsigned char)in[i]);
        if (val < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)val;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    /* Leftover bits must be zero, or two texts would decode the same. */
    if (acc != 0)
        return -1;
    return (long)o;
}

long jwt_base64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
    if (need + 1 > out_size)
        return -1;
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
        acc &= (1UL << bits) - 1;
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return (long)o;
}

/* Nesting deeper than JWT_MAX_JSON_DEPTH is refused before jansson sees the
 * text, so that a hostile token cannot make the parser recurse deeply. */
static bool json_depth_ok(const unsigned char *s, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > JWT_MAX_JSON_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

/* Decodes one base64url JSON object segment; NULL with err set otherwise. */
static json_t *decode_segment(const char *seg, size_t len, const char *what, struct error *err)
{
    size_t size = len / 4 * 3 + 3;
    unsigned char *buf = malloc(size);
    if (buf == NULL) {
        error_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    long n = jwt_base64url_decode(seg, len, buf, size);
    if (n < 0) {
        free(buf);
        error_set(err, ERR_UNAUTHORIZED, "token %s is not valid base64url", what);
        return NULL;
    }
    if (!json_depth_ok(buf, (size_t)n)) {
        free(buf);
        error_set(err, ERR_UNAUTHORIZED, "token %s nests too deeply", what);
        return NULL;
    }
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!json_is_object(obj)) {
        json_decref(obj);
        error_set(err, ERR_UNAUTHORIZED, "token %s is not a JSON object", what);
        return NULL;
    }
    return obj;
}

static bool verify_with_key(const struct jwt_key *k, unsigned alg, const char *input,
                            size_t input_len, const unsigned char *sig, size_t sig_len)
{
    if (alg == JWT_ALG_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)input,
                 input_len, mac, &mac_len) == NULL)
            return false;
        return sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
    }
    if ((size_t)EVP_PKEY_get_size(k->pkey) != sig_len)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return false;
    const EVP_MD *md = alg == JWT_ALG_RS256 ? EVP_sha256() : EVP_sha512();
    bool ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Picks the keys of is that may verify alg (and kid) and tries each. */
static int check_signature(const struct jwt_issuer *is, unsigned alg, const char *kid,
                           const char *input, size_t input_len, const unsigned char *sig,
                           size_t sig_len, struct error *err)
{
    bool alg_known = false, kid_known = false;
    for (size_t i = 0; i < is->n_keys; i++) {
        const struct jwt_key *k = &is->keys[i];
        if ((k->algs & alg) == 0)
            continue;
        alg_known = true;
        if (kid != NULL && k->kid != NULL && strcmp(kid, k->kid) != 0)
            continue;
        kid_known = true;
        if (verify_with_key(k, alg, input, input_len, sig, sig_len))
            return 0;
    }
    if (!alg_known)
        return error_set(err, ERR_UNAUTHORIZED, "token algorithm not accepted for its issuer");
    if (!kid_known)
        return error_set(err, ERR_UNAUTHORIZED, "unknown key id");
    return error_set(err, ERR_UNAUTHORIZED, "signature invalid");
}

static int check_time(const json_t *claims, const char *name, json_t **value, struct error *err)
{
    *value = json_object_get(claims, name);
    if (*value != NULL && !json_is_number(*value))
        return error_set(err, ERR_UNAUTHORIZED, "token claim %s is not a number", name);
    return 0;
}

static int check_claims(const struct jwt_verifier *v, const struct jwt_issuer *is,
                        const json_t *claims, time_t now, struct error *err)
{
    json_t *exp, *nbf;
    if (check_time(claims, "exp", &exp, err) != 0 || check_time(claims, "nbf", &nbf, err) != 0)
        return -1;
    if (exp == NULL)
        return error_set(err, ERR_UNAUTHORIZED, "token has no expiry (exp)");
    double t = (double)now;
    if (t >= json_number_value(exp) + (double)v->leeway)
        return error_set(err, ERR_UNAUTHORIZED, "token expired");
    if (nbf != NULL && t + (double)v->leeway < json_number_value(nbf))
        return error_set(err, ERR_UNAUTHORIZED, "token not yet valid");

    json_t *aud = json_object_get(claims, "aud");
    json_t *one = aud;
    size_t n = 1;
    if (json_is_array(aud))
        n = json_array_size(aud);
    for (size_t i = 0; i < n; i++) {
        if (json_is_array(aud))
            one = json_array_get(aud, i);
        const char *name = json_string_value(one);
        for (size_t a = 0; name != NULL && a < is->n_audiences; a++)
            if (strcmp(name, is->audiences[a]) == 0)
                return 0;
    }
    if (aud == NULL)
        return error_set(err, ERR_UNAUTHORIZED, "token has no audience (aud)");
    return error_set(err, ERR_UNAUTHORIZED, "token audience not accepted");
}

/* Splits token into its three segments; -1 unless exactly two dots. */
static int split(const char *token, size_t len, size_t *dot1, size_t *dot2)
{
    const char *a = memchr(token, '.', len);
    if (a == NULL)
        return -1;
    const char *b = memchr(a + 1, '.', len - (size_t)(a + 1 - token));
    if (b == NULL || memchr(b + 1, '.', len - (size_t)(b + 1 - token)) != NULL)
        return -1;
    *dot1 = (size_t)(a - token);
    *dot2 = (size_t)(b - token);
    return 0;
}

static int verify_parsed(const struct jwt_verifier *v, const char *token, size_t dot2, size_t len,
                         json_t *header, json_t *claims, time_t now, struct error *err)
{
    const char *alg_name = json_string_value(json_object_get(header, "alg"));
    if (alg_name == NULL)
        return error_set(err, ERR_UNAUTHORIZED, "token header has no alg");
    if (strcmp(alg_name, "none") == 0 || strcmp(alg_name, "None") == 0 ||
        strcmp(alg_name, "NONE") == 0)
        return error_set(err, ERR_UNAUTHORIZED, "unsigned tokens (alg none) are not accepted");
    unsigned alg = alg_from_name(alg_name);
    if (alg == 0)
        return error_set(err, ERR_UNAUTHORIZED, "token algorithm not supported");
    /* We implement no extension, so a critical one must be refused. */
    if (json_object_get(header, "crit") != NULL)
        return error_set(err, ERR_UNAUTHORIZED, "token header has unsupported crit extensions");
    json_t *kid_j = json_object_get(header, "kid");
    if (kid_j != NULL && !json_is_string(kid_j))
        return error_set(err, ERR_UNAUTHORIZED, "token kid is not a string");

    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL)
        return error_set(err, ERR_UNAUTHORIZED, "token has no issuer (iss)");
    const struct jwt_issuer *is = find_issuer(v, iss);
    if (is == NULL)
        return error_set(err, ERR_UNAUTHORIZED, "unknown issuer");

    unsigned char sig[1024];
    long sig_len = jwt_base64url_decode(token + dot2 + 1, len - dot2 - 1, sig, sizeof sig);
    if (sig_len <= 0)
        return error_set(err, ERR_UNAUTHORIZED, "token signature is not valid base64url");
    if (check_signature(is, alg, json_string_value(kid_j), token, dot2, sig, (size_t)sig_len,
                        err) != 0)
        return -1;
    return check_claims(v, is, claims, now, err);
}

int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len, time_t now,
               json_t **claims, struct error *err)
{
    *claims = NULL;
    if (token == NULL || len == 0)
        return error_set(err, ERR_UNAUTHORIZED, "token is empty");
    if (len > v->max_length)
        return error_set(err, ERR_UNAUTHORIZED, "token longer than %zu bytes", v->max_length);
    size_t dot1, dot2;
    if (split(token, len, &dot1, &dot2) != 0)
        return error_set(err, ERR_UNAUTHORIZED, "token is not three dot-separated parts");
    json_t *header = decode_segment(token, dot1, "header", err);
    if (header == NULL)
        return -1;
    json_t *payload = decode_segment(token + dot1 + 1, dot2 - dot1 - 1, "payload", err);
    if (payload == NULL) {
        json_decref(header);
        return -1;
    }
    int rc = verify_parsed(v, token, dot2, len, header, payload, now, err);
    json_decref(header);
    if (rc != 0) {
        json_decref(payload);
        return -1;
    }
    *claims = payload;
    return 0;
}
