/*
 * entity - the catalog's kinds of record and their canonical documents.
 *
 * A canonical document is a jansson object holding exactly the stored
 * fields of one record, with references between records as natural keys.
 * It is what the API accepts on create (after normalization), what one
 * import line holds (without "kind"), what the store keeps and returns,
 * and what export writes.  The API representation (nested objects, derived
 * values) is built from it by the api_* modules.
 *
 * Fields by kind (docs/import-format.md is the full reference):
 *   organization  uuid key name description homepage_url logo_image_url
 *                 certificate_logo_image_url banner_image_url tags[]
 *                 marketing_url slug
 *   subject       uuid slug name subtitle description banner_image_url
 *                 card_image_url
 *   program_type  uuid slug name logo_image applicable_seat_types[]
 *                 coaching_supported
 *   course        uuid key title short_description full_description
 *                 owners[org key] subjects[subject slug] level_type image
 *                 marketing_url entitlements[] prerequisites_raw outcome
 *                 course_type modified
 *   course_run    uuid key course(course key) title short_description
 *                 full_description start end enrollment_start
 *                 enrollment_end pacing_type status hidden image
 *                 marketing_url seats[{type price currency upgrade_deadline
 *                 credit_provider credit_hours sku}] content_language
 *                 transcript_languages[] min_effort max_effort
 *                 weeks_to_complete level_type staff[]
 *                 eligible_for_financial_aid modified
 *   program       uuid title subtitle type(program type slug) status
 *                 marketing_slug marketing_url banner_image hidden
 *                 courses[course key] authoring_organizations[org key]
 *                 card_image_url overview weeks_to_complete
 *                 min_hours_effort_per_week max_hours_effort_per_week
 *                 modified
 *   pathway       id(store-assigned integer) uuid name org_name email
 *                 description destination_url pathway_type status
 *                 programs[program uuid]
 * Every field is present in a canonical document (null or [] when absent).
 */
#ifndef CATALOGD_ENTITY_H
#define CATALOGD_ENTITY_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

enum entity_kind {
    ENTITY_ORGANIZATION,
    ENTITY_SUBJECT,
    ENTITY_PROGRAM_TYPE,
    ENTITY_COURSE,
    ENTITY_COURSE_RUN,
    ENTITY_PROGRAM,
    ENTITY_PATHWAY,
    ENTITY_KIND_COUNT
};

/* "organization", "subject", "program_type", "course", "course_run",
 * "program", "pathway" (the import format's "kind" values). */
const char *entity_kind_name(enum entity_kind kind);

/* Returns 0 and sets *kind, or -1 for an unknown name. */
int entity_kind_from_name(const char *name, enum entity_kind *kind);

/* The natural key field: "key" (organization, course, course_run), "slug"
 * (subject, program_type) or "uuid" (program, pathway). */
const char *entity_key_field(enum entity_kind kind);

enum entity_write {
    ENTITY_CREATE,  /* POST, import: every required field */
    ENTITY_REPLACE, /* PUT: every required field; the key may not change */
};

/* Validates an input document (an API body or one import line without
 * "kind") and returns its canonical form in *out (a new reference owned by
 * the caller): unknown fields dropped, types and formats checked (dates
 * normalized to "YYYY-MM-DDTHH:MM:SSZ", prices to "149.00"), absent
 * optional fields null or [], uuid generated when absent.  A course may
 * nest "course_runs" (each a run document; "course" is filled in): they
 * come back canonical under "course_runs" for the caller to write.
 * On failure returns -1 with ERR_INVALID and err->field naming the field
 * ("course_runs[1].seats[0].price" for nested ones; "non_field_errors"
 * when input is not an object); err->message is DRF's wording.
 * "modified" (courses, runs, programs) keeps a valid given instant and is
 * otherwise set to clock_now().  mode does not change the checks: PUT
 * needs every required field, as create does; a caller replacing a record
 * copies the stored uuid into input first (else a new one is generated)
 * and checks that the key did not change. */
int entity_normalize(enum entity_kind kind, const json_t *input, enum entity_write mode,
                     json_t **out, struct error *err);

/* A new random (version 4) uuid in canonical text form into buf[37]. */
void entity_new_uuid(char buf[37]);

#endif
