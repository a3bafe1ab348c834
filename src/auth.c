/*
 * auth - Authorization header parsing, identity from JWT claims, and the
 * read/write decisions.
 */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "jwt.h"

#define AUTH_MAX_FILE (1024 * 1024)

struct auth {
    struct jwt_verifier *verifier;
    enum auth_read_policy read;
    char read_scope[128];
    char write_scope[128];
};

/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        error_set(err, ERR_CONFIG, "cannot open %.300s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(AUTH_MAX_FILE + 1);
    size_t n = buf == NULL ? 0 : fread(buf, 1, AUTH_MAX_FILE + 1, f);
    bool failed = buf == NULL || ferror(f);
    fclose(f);
    if (failed || n > AUTH_MAX_FILE) {
        free(buf);
        error_set(err, ERR_CONFIG, "cannot read %.300s (unreadable or over %d bytes)", path,
                  AUTH_MAX_FILE);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int auth_load_secret(const char *spec, unsigned char **out, size_t *len, struct error *err)
{
    *out = NULL;
    *len = 0;
    const char *value = spec;
    char *owned = NULL;
    size_t n = 0;
    if (strncmp(spec, "env:", 4) == 0) {
        value = getenv(spec + 4);
        if (value == NULL)
            return error_set(err, ERR_CONFIG, "environment variable %.200s is not set", spec + 4);
        n = strlen(value);
    } else if (strncmp(spec, "file:", 5) == 0) {
        owned = read_file(spec + 5, &n, err);
        if (owned == NULL)
            return -1;
        /* Editors and `echo` add one newline that is not part of the secret. */
        if (n > 0 && owned[n - 1] == '\n')
            n--;
        if (n > 0 && owned[n - 1] == '\r')
            n--;
        value = owned;
    } else {
        n = strlen(value);
    }
    *out = malloc(n + 1);
    if (*out != NULL) {
        memcpy(*out, value, n);
        (*out)[n] = '\0';
        *len = n;
    }
    if (owned != NULL) {
        OPENSSL_cleanse(owned, n);
        free(owned);
    }
    if (*out == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

static int add_issuer(struct jwt_verifier *v, const struct auth_issuer_config *ic,
                      struct error *err)
{
    if (ic->issuer == NULL)
        return error_set(err, ERR_CONFIG, "an auth issuer has no name");
    if (jwt_verifier_add_issuer(v, ic->issuer, ic->audiences, ic->n_audiences, err) != 0)
        return -1;
    bool any = false;
    if (ic->hs256_secret != NULL && ic->hs256_secret[0] != '\0') {
        unsigned char *secret;
        size_t len;
        if (auth_load_secret(ic->hs256_secret, &secret, &len, err) != 0)
            return -1;
        int rc = jwt_verifier_add_hmac(v, ic->issuer, secret, len, NULL, err);
        OPENSSL_cleanse(secret, len);
        free(secret);
        if (rc != 0)
            return -1;
        any = true;
    }
    const char *files[2] = {ic->rsa_public_key_file, ic->jwks_file};
    for (int i = 0; i < 2; i++) {
        if (files[i] == NULL || files[i][0] == '\0')
            continue;
        size_t len;
        char *text = read_file(files[i], &len, err);
        if (text == NULL)
            return -1;
        int rc = i == 0 ? jwt_verifier_add_rsa_pem(v, ic->issuer, text, len, JWT_ALG_RSA, NULL, err)
                        : jwt_verifier_add_jwks(v, ic->issuer, text, len, err);
        free(text);
        if (rc < 0) {
            error_prefix(err, "%.300s", files[i]);
            return -1;
        }
        any = true;
    }
    if (!any)
        return error_set(err, ERR_CONFIG, "auth issuer %.200s has no secret, key or JWK set",
                         ic->issuer);
    return 0;
}

static int copy_scope(char *dst, size_t size, const char *src, const char *what, struct error *err)
{
    if (src == NULL)
        src = "";
    if (strlen(src) >= size || strchr(src, ' ') != NULL)
        return error_set(err, ERR_CONFIG, "auth %s scope must be one word under %zu characters",
                         what, size);
    strcpy(dst, src);
    return 0;
}

int auth_new(const struct auth_config *config, struct auth **out, struct error *err)
{
    *out = NULL;
    struct auth *a = calloc(1, sizeof *a);
    if (a == NULL || (a->verifier = jwt_verifier_new()) == NULL) {
        free(a);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    a->read = config->read;
    int rc = copy_scope(a->read_scope, sizeof a->read_scope, config->read_scope, "read", err);
    if (rc == 0)
        rc = copy_scope(a->write_scope, sizeof a->write_scope, config->write_scope, "write", err);
    if (rc == 0)
        rc = jwt_verifier_set_leeway(a->verifier, config->leeway, err);
    if (rc == 0 && config->max_token_length != 0)
        rc = jwt_verifier_set_max_length(a->verifier, config->max_token_length, err);
    for (size_t i = 0; rc == 0 && i < config->n_issuers; i++)
        rc = add_issuer(a->verifier, &config->issuers[i], err);
    if (rc != 0) {
        auth_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void auth_free(struct auth *auth)
{
    if (auth == NULL)
        return;
    jwt_verifier_free(auth->verifier);
    free(auth);
}

static bool has_scope(json_t *scopes, const char *name)
{
    if (name[0] == '\0')
        return false;
    if (json_is_array(scopes)) {
        size_t i;
        json_t *s;
        json_array_foreach(scopes, i, s)
        {
            if (json_is_string(s) && strcmp(json_string_value(s), name) == 0)
                return true;
        }
        return false;
    }
    const char *text = json_string_value(scopes);
    size_t n = strlen(name);
    while (text != NULL && *text != '\0') {
        while (*text == ' ')
            text++;
        size_t len = strcspn(text, " ");
        if (len == n && strncmp(text, name, n) == 0)
            return true;
        text += len;
    }
    return false;
}

static int identity_from_claims(const struct auth *auth, json_t *claims, struct auth_identity *out,
                                struct error *err)
{
    json_t *scopes = json_object_get(claims, "scopes");
    if (scopes != NULL && !json_is_array(scopes) && !json_is_string(scopes))
        return error_set(err, ERR_UNAUTHORIZED, "token scopes claim is not a list or string");
    const char *subject = json_string_value(json_object_get(claims, "sub"));
    if (subject == NULL)
        subject = json_string_value(json_object_get(claims, "preferred_username"));
    if (subject == NULL || subject[0] == '\0')
        return error_set(err, ERR_UNAUTHORIZED, "token has no subject (sub)");
    if (strlen(subject) >= sizeof out->caller.subject)
        return error_set(err, ERR_UNAUTHORIZED, "token subject is too long");
    out->caller.authenticated = true;
    out->caller.staff = json_is_true(json_object_get(claims, "administrator"));
    strcpy(out->caller.subject, subject);
    out->scopes = 0;
    if (has_scope(scopes, auth->read_scope))
        out->scopes |= AUTH_SCOPE_READ;
    if (has_scope(scopes, auth->write_scope))
        out->scopes |= AUTH_SCOPE_WRITE;
    out->caller.scopes = out->scopes;
    return 0;
}

int auth_authenticate(const struct auth *auth, const char *authorization, time_t now,
                      struct auth_identity *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    if (authorization == NULL)
        return 0;
    const char *p = authorization;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 0;
    size_t scheme_len = strcspn(p, " \t");
    bool jwt_scheme = scheme_len == 3 && strncasecmp(p, "JWT", 3) == 0;
    bool bearer = scheme_len == 6 && strncasecmp(p, "Bearer", 6) == 0;
    if (!jwt_scheme && !bearer)
        return error_set(err, ERR_UNAUTHORIZED,
                         "unsupported authorization scheme (use JWT or Bearer)");
    const char *token = p + scheme_len;
    while (*token == ' ' || *token == '\t')
        token++;
    size_t len = strcspn(token, " \t");
    const char *rest = token + len;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (len == 0 || *rest != '\0')
        return error_set(err, ERR_UNAUTHORIZED, "malformed Authorization header");
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += token[i] == '.';
    if (bearer && dots != 2)
        return error_set(err, ERR_UNAUTHORIZED,
                         "opaque OAuth access tokens are not supported; send a JWT");
    json_t *claims;
    if (jwt_verify(auth->verifier, token, len, now, &claims, err) != 0)
        return -1;
    int rc = identity_from_claims(auth, claims, out, err);
    json_decref(claims);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int auth_may_read(const struct auth *auth, const struct auth_identity *id, struct error *err)
{
    if (auth->read == AUTH_READ_PUBLIC || id->caller.authenticated)
        return 0;
    return error_set(err, ERR_UNAUTHORIZED, "authentication credentials were not provided");
}

int auth_may_write(const struct auth *auth, const struct auth_identity *id, struct error *err)
{
    if (!id->caller.authenticated)
        return error_set(err, ERR_UNAUTHORIZED, "authentication credentials were not provided");
    if (id->caller.staff)
        return 0;
    if (auth->write_scope[0] != '\0' && (id->scopes & AUTH_SCOPE_WRITE) != 0)
        return 0;
    return error_set(err, ERR_FORBIDDEN, "you do not have permission to perform this action");
}

void auth_www_authenticate(const struct error *err, char *buf, size_t size)
{
    bool token_error = err != NULL && err->code == ERR_UNAUTHORIZED &&
                       strcmp(err->message, "authentication credentials were not provided") != 0;
    if (!token_error) {
        snprintf(buf, size, "Bearer realm=\"catalogd\"");
        return;
    }
    /* The reason goes in a quoted-string: keep it printable and quote-free. */
    char reason[sizeof err->message];
    size_t i = 0;
    for (; err->message[i] != '\0' && i + 1 < sizeof reason; i++) {
        unsigned char c = (unsigned char)err->message[i];
        reason[i] = (c == '"' || c == '\\' || !isprint(c)) ? '\'' : (char)c;
    }
    reason[i] = '\0';
    snprintf(buf, size,
             "Bearer realm=\"catalogd\", error=\"invalid_token\", "
             "error_description=\"%s\"",
             reason);
}
