/*
 * schema - the catalog's numbered migrations, shared by every SQL driver.
 *
 * Migration N is sql_migrations[N - 1]; sql_store.c applies the pending
 * ones in order, each in its own transaction together with its row in
 * schema_migrations.  Never edit a migration that has shipped: add one.
 *
 * {ID} and {BOOL} are replaced by the driver's ddl_id and ddl_bool (see
 * sql.h).  Natural keys are the foreign keys: they never change (REPLACE
 * keeps the key), and they are what canonical documents refer by, so a
 * page of records reads its relations without joins.  Columns exist for
 * what filters, orderings and integrity need; the remaining descriptive
 * fields live in `doc` (JSON text), without the relation arrays, which
 * live in their own tables in their stored order (pos).  Timestamps are
 * "YYYY-MM-DDTHH:MM:SSZ" text, which sorts and compares as time does.
 * Only sql_store.c includes this file.
 */
#ifndef CATALOGD_STORE_SCHEMA_H
#define CATALOGD_STORE_SCHEMA_H

static const char *const sql_migrations[] = {
    /* 1: the catalog, the outbox and checkpoints. */
    "CREATE TABLE organizations (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " name TEXT, doc TEXT NOT NULL);\n"
    "CREATE TABLE subjects (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " name TEXT, doc TEXT NOT NULL);\n"
    "CREATE TABLE program_types (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " name TEXT, doc TEXT NOT NULL);\n"
    "CREATE TABLE courses (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " title TEXT, marketing_url TEXT, modified TEXT, doc TEXT NOT NULL);\n"
    "CREATE TABLE course_owners (course TEXT NOT NULL REFERENCES courses(key) ON DELETE CASCADE,"
    " pos INTEGER NOT NULL, organization TEXT NOT NULL REFERENCES organizations(key),"
    " PRIMARY KEY (course, pos));\n"
    "CREATE INDEX course_owners_organization ON course_owners(organization);\n"
    "CREATE TABLE course_subjects (course TEXT NOT NULL REFERENCES courses(key) ON DELETE CASCADE,"
    " pos INTEGER NOT NULL, subject TEXT NOT NULL REFERENCES subjects(key),"
    " PRIMARY KEY (course, pos));\n"
    "CREATE INDEX course_subjects_subject ON course_subjects(subject);\n"
    "CREATE TABLE course_runs (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " course TEXT NOT NULL REFERENCES courses(key) ON DELETE CASCADE, title TEXT, status TEXT,"
    " hidden {BOOL} NOT NULL DEFAULT 0, start_at TEXT, end_at TEXT, enrollment_start TEXT,"
    " enrollment_end TEXT, pacing_type TEXT, marketing_url TEXT, modified TEXT,"
    " doc TEXT NOT NULL);\n"
    "CREATE INDEX course_runs_course ON course_runs(course);\n"
    "CREATE INDEX course_runs_start ON course_runs(start_at);\n"
    "CREATE TABLE seats (run TEXT NOT NULL REFERENCES course_runs(key) ON DELETE CASCADE,"
    " pos INTEGER NOT NULL, type TEXT, doc TEXT NOT NULL, PRIMARY KEY (run, pos));\n"
    "CREATE TABLE programs (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " type TEXT REFERENCES program_types(key), title TEXT, status TEXT,"
    " hidden {BOOL} NOT NULL DEFAULT 0, marketing_slug TEXT, marketing_url TEXT, modified TEXT,"
    " doc TEXT NOT NULL);\n"
    "CREATE INDEX programs_type ON programs(type);\n"
    "CREATE TABLE program_courses (program TEXT NOT NULL REFERENCES programs(key)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, course TEXT NOT NULL REFERENCES courses(key),"
    " PRIMARY KEY (program, pos));\n"
    "CREATE INDEX program_courses_course ON program_courses(course);\n"
    "CREATE TABLE program_authoring_orgs (program TEXT NOT NULL REFERENCES programs(key)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL,"
    " organization TEXT NOT NULL REFERENCES organizations(key), PRIMARY KEY (program, pos));\n"
    "CREATE INDEX program_authoring_orgs_organization"
    " ON program_authoring_orgs(organization);\n"
    "CREATE TABLE pathways (id {ID}, key TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE,"
    " name TEXT, status TEXT, doc TEXT NOT NULL);\n"
    "CREATE TABLE pathway_programs (pathway TEXT NOT NULL REFERENCES pathways(key)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, program TEXT NOT NULL REFERENCES programs(key),"
    " PRIMARY KEY (pathway, pos));\n"
    "CREATE INDEX pathway_programs_program ON pathway_programs(program);\n"
    "CREATE TABLE changes (id {ID}, kind TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL,"
    " changed_at TEXT NOT NULL);\n"
    "CREATE TABLE checkpoints (name TEXT PRIMARY KEY, value BIGINT NOT NULL);\n",
    /* 2: when a record's search document must be rebuilt because the clock
     * alone changes it (a course's picked run starts or ends): the indexer
     * re-indexes the rows due.  No foreign key: a row outliving its record
     * is harmless (the refresh finds the record gone, removes its document
     * and the row). */
    "CREATE TABLE search_refresh (kind TEXT NOT NULL, key TEXT NOT NULL,"
    " refresh_at TEXT NOT NULL, PRIMARY KEY (kind, key));\n"
    "CREATE INDEX search_refresh_at ON search_refresh(refresh_at);\n",
};

#define SQL_MIGRATION_COUNT ((int)(sizeof sql_migrations / sizeof sql_migrations[0]))

#endif
