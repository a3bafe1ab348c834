/*
 * error - errors as values.
 *
 * Every fallible function returns an int status (0 on success, -1 on
 * failure) and fills a caller-owned struct error.  The HTTP layer maps
 * error codes to statuses in exactly one place (http_status_for_error).
 */
#ifndef CATALOGD_ERROR_H
#define CATALOGD_ERROR_H

#include <stdarg.h>

enum error_code {
    ERR_NONE = 0,
    ERR_INVALID,      /* bad input: 400 */
    ERR_NOT_FOUND,    /* 404 */
    ERR_CONFLICT,     /* integrity or uniqueness conflict: 409 */
    ERR_UNAVAILABLE,  /* backend down, retryable: 503 */
    ERR_TOO_LARGE,    /* 413 */
    ERR_UNSUPPORTED,  /* unsupported media type: 415 */
    ERR_METHOD,       /* method not allowed: 405 */
    ERR_UNAUTHORIZED, /* 401 */
    ERR_FORBIDDEN,    /* 403 */
    ERR_CONFIG,       /* configuration error: stops start-up */
    ERR_IO,           /* file or OS error */
    ERR_INTERNAL,     /* a bug or an unexpected backend failure: 500 */
};

struct error {
    enum error_code code;
    /* The request field or parameter the error is about ("" when none);
     * DRF renders field errors as {"<field>": ["<message>"]}. */
    char field[64];
    char message[512];
};

/* Sets code and message (printf-style) and clears field.  Returns -1 so that
 * callers can write `return error_set(err, ...)`.  err may be NULL. */
int error_set(struct error *err, enum error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As error_set, naming the field the error is about. */
int error_set_field(struct error *err, enum error_code code, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

int error_vset(struct error *err, enum error_code code, const char *field, const char *fmt,
               va_list ap);

void error_clear(struct error *err);

/* Prefixes the message with "<prefix>: " (used to add "FILE:LINE"). */
void error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A stable lower-case name for the code ("invalid", "not_found", ...). */
const char *error_code_name(enum error_code code);

#endif
