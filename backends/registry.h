/*
 * registry - the static table of backend drivers compiled into this
 * binary, found by the names the config uses.
 */
#ifndef CATALOGD_REGISTRY_H
#define CATALOGD_REGISTRY_H

#include <stdbool.h>
#include <stdio.h>

#include "cache.h"
#include "search.h"
#include "store.h"

enum backend_kind { BACKEND_STORE, BACKEND_SEARCH, BACKEND_CACHE };

/* The driver of that name, or NULL when it is unknown or not compiled in. */
const struct store_driver *registry_store(const char *name);
const struct search_driver *registry_search(const char *name);
const struct cache_driver *registry_cache(const char *name);

/* Every name the product knows for a kind ("sqlite|postgres"), whether or
 * not compiled in, NULL-terminated; static storage. */
const char *const *registry_known_names(enum backend_kind kind);

bool registry_compiled_in(enum backend_kind kind, const char *name);

/* Writes the `catalogd backends` listing. */
void registry_print(FILE *out);

#endif
