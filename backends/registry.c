/*
 * registry - the static table of drivers compiled into this binary.
 *
 * Every backend name the product knows is listed, compiled in or not, so
 * that a config naming a missing one is told "not compiled in" rather than
 * "unknown".  Drivers declare their vtable as a global const struct; the
 * HAVE_* definitions come from the build.
 */
#include "registry.h"

#include <string.h>

#ifdef HAVE_STORE_SQLITE
extern const struct store_driver store_sqlite_driver;
#endif
#ifdef HAVE_STORE_POSTGRES
extern const struct store_driver store_postgres_driver;
#endif
#ifdef HAVE_SEARCH_FTS5
extern const struct search_driver search_fts5_driver;
#endif
#ifdef HAVE_SEARCH_PGFTS
extern const struct search_driver search_pgfts_driver;
#endif
#ifdef HAVE_SEARCH_XAPIAN
extern const struct search_driver search_xapian_driver;
#endif
#ifdef HAVE_CACHE_MEMORY
extern const struct cache_driver cache_memory_driver;
#endif
#ifdef HAVE_CACHE_REDIS
extern const struct cache_driver cache_redis_driver;
#endif
#ifdef HAVE_CACHE_REDIS_CLUSTER
extern const struct cache_driver cache_redis_cluster_driver;
#endif

struct registry_entry {
    enum backend_kind kind;
    const char *name;
    const void *driver; /* NULL: known but not compiled in */
};

static const struct registry_entry registry[] = {
    {BACKEND_STORE, "sqlite",
#ifdef HAVE_STORE_SQLITE
     &store_sqlite_driver
#else
     NULL
#endif
    },
    {BACKEND_STORE, "postgres",
#ifdef HAVE_STORE_POSTGRES
     &store_postgres_driver
#else
     NULL
#endif
    },
    {BACKEND_SEARCH, "fts5",
#ifdef HAVE_SEARCH_FTS5
     &search_fts5_driver
#else
     NULL
#endif
    },
    {BACKEND_SEARCH, "pgfts",
#ifdef HAVE_SEARCH_PGFTS
     &search_pgfts_driver
#else
     NULL
#endif
    },
    {BACKEND_SEARCH, "xapian",
#ifdef HAVE_SEARCH_XAPIAN
     &search_xapian_driver
#else
     NULL
#endif
    },
    {BACKEND_CACHE, "memory",
#ifdef HAVE_CACHE_MEMORY
     &cache_memory_driver
#else
     NULL
#endif
    },
    {BACKEND_CACHE, "redis",
#ifdef HAVE_CACHE_REDIS
     &cache_redis_driver
#else
     NULL
#endif
    },
    {BACKEND_CACHE, "redis-cluster",
#ifdef HAVE_CACHE_REDIS_CLUSTER
     &cache_redis_cluster_driver
#else
     NULL
#endif
    },
};

static const char *const store_names[] = {"sqlite", "postgres", NULL};
static const char *const search_names[] = {"fts5", "pgfts", "xapian", "none", NULL};
static const char *const cache_names[] = {"memory", "redis", "redis-cluster", "none", NULL};

static const void *find(enum backend_kind kind, const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i].kind == kind && strcmp(registry[i].name, name) == 0)
            return registry[i].driver;
    return NULL;
}

const struct store_driver *registry_store(const char *name)
{
    return find(BACKEND_STORE, name);
}

const struct search_driver *registry_search(const char *name)
{
    return find(BACKEND_SEARCH, name);
}

const struct cache_driver *registry_cache(const char *name)
{
    return find(BACKEND_CACHE, name);
}

const char *const *registry_known_names(enum backend_kind kind)
{
    switch (kind) {
    case BACKEND_STORE:
        return store_names;
    case BACKEND_SEARCH:
        return search_names;
    case BACKEND_CACHE:
        return cache_names;
    }
    return store_names;
}

bool registry_compiled_in(enum backend_kind kind, const char *name)
{
    /* "none" (no search, no cache) is always available. */
    if (kind != BACKEND_STORE && strcmp(name, "none") == 0)
        return true;
    return find(kind, name) != NULL;
}

static const char *kind_label(enum backend_kind kind)
{
    switch (kind) {
    case BACKEND_STORE:
        return "store";
    case BACKEND_SEARCH:
        return "search";
    case BACKEND_CACHE:
        return "cache";
    }
    return "?";
}

static const char *description(const struct registry_entry *e)
{
    if (e->driver == NULL)
        return "not compiled in";
    switch (e->kind) {
    case BACKEND_STORE:
        return ((const struct store_driver *)e->driver)->description;
    case BACKEND_SEARCH:
        return ((const struct search_driver *)e->driver)->description;
    case BACKEND_CACHE:
        return ((const struct cache_driver *)e->driver)->description;
    }
    return "";
}

void registry_print(FILE *out)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        const struct registry_entry *e = &registry[i];
        fprintf(out, "%-7s %-14s %-3s %s\n", kind_label(e->kind), e->name, e->driver ? "yes" : "no",
                description(e));
    }
    fprintf(out, "%-7s %-14s %-3s %s\n", "search", "none", "yes", "search disabled (503)");
    fprintf(out, "%-7s %-14s %-3s %s\n", "cache", "none", "yes", "no response cache");
}
