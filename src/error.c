/*
 * error - see error.h.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

int error_vset(struct error *err, enum error_code code, const char *field, const char *fmt,
               va_list ap)
{
    if (err == NULL)
        return -1;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return -1;
}

int error_set(struct error *err, enum error_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int error_set_field(struct error *err, enum error_code code, const char *field, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, code, field, fmt, ap);
    va_end(ap);
    return -1;
}

void error_clear(struct error *err)
{
    if (err == NULL)
        return;
    err->code = ERR_NONE;
    err->field[0] = '\0';
    err->message[0] = '\0';
}

void error_prefix(struct error *err, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof err->message];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    /* Truncation is acceptable: the message is for people, and the prefix
     * (file and line) is what matters most. */
    size_t used = strnlen(prefix, sizeof prefix - 1);
    if (used > sizeof err->message - 3)
        used = sizeof err->message - 3;
    memcpy(err->message, prefix, used);
    memcpy(err->message + used, ": ", 2);
    size_t room = sizeof err->message - used - 2;
    size_t old_len = strnlen(old, room - 1);
    memcpy(err->message + used + 2, old, old_len);
    err->message[used + 2 + old_len] = '\0';
}

const char *error_code_name(enum error_code code)
{
    switch (code) {
    case ERR_NONE:
        return "none";
    case ERR_INVALID:
        return "invalid";
    case ERR_NOT_FOUND:
        return "not_found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_UNAVAILABLE:
        return "unavailable";
    case ERR_TOO_LARGE:
        return "too_large";
    case ERR_UNSUPPORTED:
        return "unsupported_media_type";
    case ERR_METHOD:
        return "method_not_allowed";
    case ERR_UNAUTHORIZED:
        return "unauthorized";
    case ERR_FORBIDDEN:
        return "forbidden";
    case ERR_CONFIG:
        return "config";
    case ERR_IO:
        return "io";
    case ERR_INTERNAL:
        return "internal";
    }
    return "unknown";
}
