/*
 * rate_limit - token buckets per caller key (the JWT subject, else the
 * client IP), with limits per class of caller, behind a small vtable so
 * that a limiter shared across processes (Redis) can replace the
 * in-memory one in normal and giant modes.
 *
 * Also: the client address for the key, taken from X-Forwarded-For only
 * when the peer is a configured trusted proxy.
 */
#ifndef CATALOGD_RATE_LIMIT_H
#define CATALOGD_RATE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum rl_class {
    RL_ANONYMOUS,
    RL_AUTHENTICATED,
    RL_STAFF,
    RL_N_CLASSES,
};

/* rate tokens per second refill a bucket of burst tokens; one request
 * costs one token.  rate <= 0 means unlimited (no bucket is kept). */
struct rl_limit {
    double rate;
    double burst;
};

/* Generous defaults for real clients. */
#define RL_DEFAULT_ANONYMOUS ((struct rl_limit){50, 100})
#define RL_DEFAULT_AUTHENTICATED ((struct rl_limit){200, 400})
#define RL_DEFAULT_STAFF ((struct rl_limit){1000, 2000})
#define RL_DEFAULT_MAX_KEYS 100000

struct rl_config {
    struct rl_limit limits[RL_N_CLASSES];
    /* Most buckets kept; when full, the least recently used bucket goes
     * (a returning caller starts with a full bucket). 0: the default. */
    size_t max_keys;
    /* Monotonic seconds; NULL uses CLOCK_MONOTONIC.  Tests inject one. */
    double (*now)(void *arg);
    void *now_arg;
};

/* Fills config with the defaults above. */
void rl_config_defaults(struct rl_config *config);

struct rl_decision {
    bool allowed;
    /* When denied: whole seconds until one token is back (>= 1), for the
     * Retry-After header.  0 when allowed. */
    unsigned retry_after;
    /* Tokens left after this request (whole, rounded down); -1 when the
     * class is unlimited.  For an X-RateLimit-Remaining header if wanted. */
    long remaining;
};

struct rate_limiter;

/* A limiter implementation.  check must be thread-safe. */
struct rate_limiter_ops {
    const char *name;
    /* Takes one token for key in class.  Returns 0 and fills *decision
     * (allowed or not); -1 with err set when the limiter cannot decide
     * (a shared store down: ERR_UNAVAILABLE; the caller chooses to fail
     * open or closed). */
    int (*check)(struct rate_limiter *rl, const char *key, enum rl_class cls,
                 struct rl_decision *decision, struct error *err);
    /* Number of buckets held (for tests and metrics). */
    size_t (*size)(struct rate_limiter *rl);
    void (*free)(struct rate_limiter *rl);
};

/* Every implementation starts with this. */
struct rate_limiter {
    const struct rate_limiter_ops *ops;
};

/* The in-memory limiter: striped locks over a bounded hash table.  Returns
 * 0 with *out owned by the caller (rate_limiter_free), or -1 (ERR_CONFIG)
 * on a limit with rate > 0 and burst < 1, or max_keys too small. */
int rate_limiter_memory_new(const struct rl_config *config, struct rate_limiter **out,
                            struct error *err);

static inline int rate_limiter_check(struct rate_limiter *rl, const char *key, enum rl_class cls,
                                     struct rl_decision *decision, struct error *err)
{
    return rl->ops->check(rl, key, cls, decision, err);
}

static inline void rate_limiter_free(struct rate_limiter *rl)
{
    if (rl != NULL)
        rl->ops->free(rl);
}

/* Trusted proxies: a list of CIDR blocks ("10.0.0.0/8, 127.0.0.1, ::1"). */
struct trusted_proxies;

/* Parses a comma- or space-separated CIDR list ("" gives an empty list).
 * Returns 0 with *out owned by the caller (trusted_proxies_free), or -1
 * (ERR_CONFIG naming the bad entry). */
int trusted_proxies_parse(const char *list, struct trusted_proxies **out, struct error *err);

void trusted_proxies_free(struct trusted_proxies *tp);

/* True when addr (textual IPv4 or IPv6, IPv4-mapped IPv6 counts as IPv4)
 * is in one of the blocks. */
bool trusted_proxies_contains(const struct trusted_proxies *tp, const char *addr);

/* The client address: peer itself unless peer is a trusted proxy; then the
 * right-most address of X-Forwarded-For (xff, may be NULL) that is not a
 * trusted proxy, skipping trusted hops from the right.  A malformed entry
 * stops the walk (the last trusted hop is the client then); if every entry
 * is trusted, the left-most is.  Writes into out (NUL-terminated,
 * truncated to size; 46 bytes hold any address). */
void client_ip_pick(const struct trusted_proxies *tp, const char *peer, const char *xff, char *out,
                    size_t size);

#endif
