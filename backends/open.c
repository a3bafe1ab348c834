/*
 * open - opens the backend a config names, through the registry.  The
 * config has already checked that the name is known and compiled in; the
 * checks here only guard against a caller that skipped config_load.
 */
#include "registry.h"

#include <string.h>

int store_open(const struct config *config, struct store **out, struct error *err)
{
    const char *name = config_get(config, "store.driver");
    const struct store_driver *driver = registry_store(name);
    *out = NULL;
    if (driver == NULL)
        return error_set_field(err, ERR_CONFIG, "store.driver",
                               "store driver '%s' is not compiled into this binary", name);
    return driver->open(config, out, err);
}

int cache_open(const struct config *config, struct cache **out, struct error *err)
{
    const char *name = config_get(config, "cache.driver");
    *out = NULL;
    if (name[0] == '\0' || strcmp(name, "none") == 0)
        return 0;
    const struct cache_driver *driver = registry_cache(name);
    if (driver == NULL)
        return error_set_field(err, ERR_CONFIG, "cache.driver",
                               "cache driver '%s' is not compiled into this binary", name);
    return driver->open(config, out, err);
}

int search_open(const struct config *config, struct search **out, struct error *err)
{
    const char *name = config_get(config, "search.driver");
    *out = NULL;
    if (name[0] == '\0' || strcmp(name, "none") == 0)
        return 0;
    const struct search_driver *driver = registry_search(name);
    if (driver == NULL)
        return error_set_field(err, ERR_CONFIG, "search.driver",
                               "search driver '%s' is not compiled into this binary", name);
    return driver->open(config, out, err);
}
