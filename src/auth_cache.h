/*
 * auth_cache - recently verified tokens, so that a client sending the same
 * token on every request pays the signature check (an RSA verify and two
 * JSON parses, tens of microseconds) once rather than per request.
 *
 * Keyed by the whole Authorization header value (a copy is kept and
 * compared): a hit means byte-for-byte the header that was verified,
 * signature included.  Only accepted tokens are kept, each until its exp or
 * AUTH_CACHE_MAX_AGE seconds after it was verified, whichever comes first;
 * headers longer than AUTH_CACHE_MAX_HEADER are never kept.  Fixed size,
 * set-associative with least-recently-used replacement in each set, a lock
 * per set: thread-safe, and a lookup allocates nothing.
 */
#ifndef CATALOGD_AUTH_CACHE_H
#define CATALOGD_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth.h"

/* Longest a verified token is trusted without checking it again. */
#define AUTH_CACHE_MAX_AGE 60
/* Longest header kept (bounds the cache's memory: entries x this). */
#define AUTH_CACHE_MAX_HEADER 2048

struct auth_cache;

/* A cache of about entries tokens (rounded up to whole sets; at least
 * one set).  Returns NULL when out of memory; free with auth_cache_free. */
struct auth_cache *auth_cache_new(size_t entries);

void auth_cache_free(struct auth_cache *cache);

/* True when authorization was accepted recently and is still valid at
 * now; *out is then the identity it was accepted as. */
bool auth_cache_get(struct auth_cache *cache, const char *authorization, time_t now,
                    struct auth_identity *out);

/* Remembers that authorization was verified at now as id.  The token's
 * exp is read from its payload (it was just verified, so it is there);
 * a header whose exp cannot be read is not kept. */
void auth_cache_put(struct auth_cache *cache, const char *authorization, time_t now,
                    const struct auth_identity *id);

/* The exp claim of the JWT in an Authorization header value ("JWT t" or
 * "Bearer t"), read without verifying anything: only for tokens that
 * auth_authenticate accepted.  Returns 0 with *exp, or -1. */
int auth_cache_token_exp(const char *authorization, time_t *exp);

#endif
