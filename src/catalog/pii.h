/*
 * pii.h - detectors of personal data in columns, by name and by value.
 *
 * The crawler calls pii_classify for every column (and every field of a
 * struct) with its name and a sample of its values.  A column is PII when
 *   - its name says so (normalized: lower case, split at '_', '-', ' ',
 *     '.' and camelCase; "dateOfBirth" = "date_of_birth"), or
 *   - enough sampled values match a detector's pattern: at least
 *     PII_MIN_VALUES non-null values, and PII_VALUE_SHARE percent of them
 *     (PII_NAME_SHARE for person names, which the dictionary of given
 *     names recognises less surely than a pattern recognises an SSN).
 * Detectors that are too generic alone are name-only: date of birth (a
 * date is not a birth date) and ZIP code (five digits are not a ZIP).
 *
 * Pure functions of their input; any thread.
 */
#ifndef TN_PII_H
#define TN_PII_H

#include <stdbool.h>
#include <stddef.h>

enum pii_kind {
	PII_NONE,
	PII_SSN,
	PII_EMAIL,
	PII_PHONE,
	PII_DOB,
	PII_PERSON_NAME,
	PII_STREET_ADDRESS,
	PII_MRN,
	PII_ZIP,
	PII_COUNT
};

#define PII_MIN_VALUES 3
#define PII_VALUE_SHARE 80
#define PII_NAME_SHARE 60

/* Detector name: "ssn", "email", "phone", "date_of_birth", "person_name",
 * "street_address", "mrn", "zip"; "" for PII_NONE. */
const char *pii_kind_name(enum pii_kind k);

/* The detector a column name fires (its last path segment is used). */
enum pii_kind pii_by_name(const char *name);

/* True if one value matches detector k's pattern (name-only detectors: false). */
bool pii_value_matches(enum pii_kind k, const char *v);

struct pii_verdict {
	enum pii_kind kind;  /* PII_NONE: not PII */
	bool by_name;
	unsigned share;      /* percent of non-null sampled values matching kind (0 if none) */
};

/*
 * Classifies a column from its name (a top-level name or "a.b" path) and
 * sampled values (NULL entries are nulls; vals may be NULL when n is 0).
 * A name verdict wins; else the value detector with the highest share at
 * or above its threshold.
 */
void pii_classify(const char *name, const char *const *vals, size_t n, struct pii_verdict *out);

#endif
