/*
 * pii.c - PII detectors: column names and value patterns.
 *
 * Design: two independent signals.  Names are normalized to tokens
 * ("patientDOB" -> patient, dob; "date_of_birth" -> date, of, birth) and
 * matched against small vocabularies; the email check runs before the
 * address check so "email_address" is an email.  Values are matched by
 * hand-written scanners (no regex engine: each pattern is a few lines and
 * cannot backtrack).  A value detector fires when enough of the non-null
 * sample matches (pii.h).  Person names in values are recognised by shape
 * (2-4 capitalised words, an optional ", credential" suffix) with the
 * first word in a dictionary of common given names from many cultures.
 *
 * Invariant: a detector never fires on an empty sample; thresholds are
 * shares of non-null values, so sparse columns are judged on what exists.
 */
#include "catalog/pii.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

static const char *const kind_names[PII_COUNT] = {
	"", "ssn", "email", "phone", "date_of_birth", "person_name", "street_address", "mrn", "zip",
};

const char *pii_kind_name(enum pii_kind k)
{
	return k < PII_COUNT ? kind_names[k] : "";
}

/* ---- names ------------------------------------------------------------- */

#define MAX_TOKENS 16
#define TOKEN_LEN 32

struct tokens {
	size_t n;
	char t[MAX_TOKENS][TOKEN_LEN];
	char compact[MAX_TOKENS * TOKEN_LEN]; /* tokens joined without separators */
};

static void tokenize(const char *name, struct tokens *tk)
{
	const char *dot = strrchr(name, '.');
	const char *p = dot ? dot + 1 : name;
	size_t len = 0;
	memset(tk, 0, sizeof *tk);
	for (;; p++) {
		unsigned char ch = (unsigned char)*p;
		bool sep = ch == 0 || !isalnum(ch);
		/* camelCase: a capital after a lower-case letter starts a token. */
		bool camel = !sep && isupper(ch) && len > 0 && p > name &&
			     islower((unsigned char)p[-1]);
		if ((sep || camel) && len > 0) {
			tk->t[tk->n][len] = 0;
			if (tk->n + 1 < MAX_TOKENS)
				tk->n++;
			len = 0;
		}
		if (ch == 0)
			break;
		if (sep)
			continue;
		if (len + 1 < TOKEN_LEN)
			tk->t[tk->n][len++] = (char)tolower(ch);
	}
	size_t c = 0;
	for (size_t i = 0; i < tk->n; i++)
		for (const char *q = tk->t[i]; *q && c + 1 < sizeof tk->compact; q++)
			tk->compact[c++] = *q;
	tk->compact[c] = 0;
}

static bool has(const struct tokens *tk, const char *w)
{
	for (size_t i = 0; i < tk->n; i++)
		if (!strcmp(tk->t[i], w))
			return true;
	return false;
}

static bool in_list(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(w, list[i]))
			return true;
	return false;
}

static bool has_any(const struct tokens *tk, const char *const *list)
{
	for (size_t i = 0; i < tk->n; i++)
		if (in_list(tk->t[i], list))
			return true;
	return false;
}

enum pii_kind pii_by_name(const char *name)
{
	static const char *const ssn_c[] = { "ssn", "socialsecuritynumber", "socialsecurity",
					     "socsecno", "socialsecurityno", "ssnumber", NULL };
	static const char *const phone_t[] = { "phone", "telephone", "mobile", "cell",
					       "cellphone", "fax", "tel", "phonenumber", "msisdn",
					       NULL };
	static const char *const dob_c[] = { "dob", "dateofbirth", "birthdate", "birthday",
					     "birthdt", "dtofbirth", "bdate", "dobdate", NULL };
	static const char *const name_q[] = { "first", "last", "middle", "given", "family",
					      "full", "maiden", "patient", "guardian", "mother",
					      "father", "parent", "contact", "person", "spouse",
					      "legal", "preferred", "nick", "sur", "customer",
					      "employee", "member", "subscriber", "emergency", NULL };
	static const char *const name_c[] = { "surname", "fname", "lname", "mname", "forename",
					      "givenname", "familyname", "fullname", "firstname",
					      "lastname", "middlename", "maidenname", NULL };
	static const char *const addr_c[] = { "address", "street", "streetaddress", "addr",
					      "address1", "address2", "addressline1",
					      "addressline2", "homeaddress", "mailingaddress",
					      "residentialaddress", "streetline", NULL };
	static const char *const addr_not[] = { "ip", "mac", "web", "url", "email", "mail",
						"ipv4", "ipv6", "wallet", "server", "host", NULL };
	static const char *const mrn_c[] = { "mrn", "medicalrecordnumber", "medicalrecordno",
					     "medicalrecord", "medicalrecordid", "chartnumber",
					     NULL };
	static const char *const zip_t[] = { "zip", "zipcode", "zip5", "zip4", "postcode",
					     "postal", "postalcode", NULL };
	struct tokens tk;
	tokenize(name, &tk);
	if (!tk.n)
		return PII_NONE;
	if (in_list(tk.compact, ssn_c) || has(&tk, "ssn") || (has(&tk, "social") && has(&tk, "security")))
		return PII_SSN;
	if (has(&tk, "email") || strstr(tk.compact, "email") || (has(&tk, "e") && has(&tk, "mail")))
		return PII_EMAIL;
	if (has_any(&tk, phone_t) || strstr(tk.compact, "phone"))
		return PII_PHONE;
	if (in_list(tk.compact, dob_c) || has(&tk, "dob") ||
	    (has(&tk, "birth") && (has(&tk, "date") || has(&tk, "day") || has(&tk, "dt"))))
		return PII_DOB;
	if (in_list(tk.compact, mrn_c) || has(&tk, "mrn") || (has(&tk, "medical") && has(&tk, "record")))
		return PII_MRN;
	if (in_list(tk.compact, name_c) || (has(&tk, "name") && has_any(&tk, name_q)) ||
	    has(&tk, "surname"))
		return PII_PERSON_NAME;
	if (has_any(&tk, zip_t) || in_list(tk.compact, zip_t))
		return PII_ZIP;
	if ((in_list(tk.compact, addr_c) || has(&tk, "address") || has(&tk, "street") ||
	     has(&tk, "addr")) && !has_any(&tk, addr_not))
		return PII_STREET_ADDRESS;
	return PII_NONE;
}

/* ---- value scanners ----------------------------------------------------- */

static size_t digits(const char *s, size_t *i)
{
	size_t n = 0;
	while (isdigit((unsigned char)s[*i])) {
		(*i)++;
		n++;
	}
	return n;
}

/* 123-45-6789 */
static bool is_ssn(const char *s)
{
	size_t i = 0;
	if (digits(s, &i) != 3 || s[i++] != '-')
		return false;
	if (digits(s, &i) != 2 || s[i++] != '-')
		return false;
	return digits(s, &i) == 4 && s[i] == 0;
}

static bool is_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@'))
		return false;
	for (const char *p = s; p < at; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._%+-'", *p))
			return false;
	const char *dom = at + 1, *dot = strrchr(dom, '.');
	if (!dot || dot == dom || strlen(dot + 1) < 2)
		return false;
	for (const char *p = dom; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
	for (const char *p = dot + 1; *p; p++)
		if (!isalpha((unsigned char)*p))
			return false;
	return true;
}

/*
 * A formatted phone number: only digits and " ()+.-" (an "x123"
 * extension allowed), 10 to 15 digits, and some punctuation: bare digit
 * runs (NPIs, account numbers) are not taken for phones.
 */
static bool is_phone(const char *s)
{
	size_t nd = 0, npunct = 0;
	const char *p = s;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p))
			nd++;
		else if (strchr(" ()+.-", *p))
			npunct++;
		else if (*p == 'x' || *p == 'X')
			break;
		else
			return false;
	}
	if (*p) { /* extension */
		p++;
		if (!*p)
			return false;
		for (; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return nd >= 10 && nd <= 15 && npunct >= 1 && !isspace((unsigned char)s[0]);
}

/* MRN1234567, MRN-00123, mrn:4455 */
static bool is_mrn(const char *s)
{
	if (strncasecmp(s, "mrn", 3))
		return false;
	size_t i = 3;
	if (s[i] == '-' || s[i] == ':' || s[i] == ' ' || s[i] == '#')
		i++;
	return digits(s, &i) >= 4 && s[i] == 0;
}

static bool is_zip(const char *s)
{
	size_t i = 0;
	if (digits(s, &i) != 5)
		return false;
	if (s[i] == '-') {
		i++;
		if (digits(s, &i) != 4)
			return false;
	}
	return s[i] == 0;
}

/* Next space-separated word of s at *i into w (lower-cased, trailing '.' ',' cut). */
static size_t next_word(const char *s, size_t *i, char *w, size_t wn)
{
	while (s[*i] == ' ')
		(*i)++;
	size_t n = 0;
	while (s[*i] && s[*i] != ' ') {
		if (n + 1 < wn)
			w[n++] = (char)tolower((unsigned char)s[*i]);
		(*i)++;
	}
	while (n && (w[n - 1] == '.' || w[n - 1] == ','))
		n--;
	w[n] = 0;
	return n;
}

/* "8558 Union Way", "12B North Oak Street Apt 4": a number, a name, a street type. */
static bool is_street(const char *s)
{
	static const char *const types[] = {
		"st", "street", "ave", "avenue", "av", "rd", "road", "blvd", "boulevard", "dr",
		"drive", "ln", "lane", "ct", "court", "way", "pl", "place", "ter", "terrace",
		"pkwy", "parkway", "hwy", "highway", "cir", "circle", "sq", "square", "trl",
		"trail", "loop", "row", "aly", "alley", "plz", "plaza", NULL,
	};
	char w[64];
	size_t i = 0, k;
	if (!next_word(s, &i, w, sizeof w))
		return false;
	k = 0;
	while (isdigit((unsigned char)w[k]))
		k++;
	if (k == 0 || k > 6 || (w[k] && (!isalpha((unsigned char)w[k]) || w[k + 1])))
		return false;
	for (int words = 0; words < 7; words++) {
		if (!next_word(s, &i, w, sizeof w))
			return false;
		if (words > 0 && in_list(w, types))
			return true;
	}
	return false;
}

/* Common given names (lower case), from many cultures; not exhaustive. */
static const char *const given_names[] = {
	"aarav", "aaliyah", "aaron", "abdul", "abigail", "adam", "adrian", "ahmed", "aisha", "alan",
	"albert", "alejandro", "alex", "alexander", "alexandra", "ali", "alice", "alicia",
	"allison", "amanda", "amber", "amelia", "amina", "amy", "ana", "andrea", "andrew",
	"angela", "anita", "ann", "anna", "anne", "anthony", "antonio", "arjun", "arthur",
	"ashley", "austin", "ava", "barbara", "benjamin", "betty", "beverly", "brandon",
	"brenda", "brian", "brittany", "bruce", "bryan", "camila", "carl", "carlos", "carmen",
	"carol", "caroline", "catherine", "charles", "charlotte", "chen", "cheryl", "chloe",
	"chris", "christian", "christina", "christine", "christopher", "cynthia", "daniel",
	"danielle", "darius", "david", "deborah", "debra", "denise", "dennis", "deshawn", "destiny", "diana",
	"diane", "diego", "donald", "donna", "dorothy", "douglas", "dylan", "edward",
	"elena", "elias", "elijah", "elizabeth", "ella", "emily", "emma", "eric", "ethan",
	"eugene", "evelyn", "fatima", "frances", "francisco", "frank", "gabriel", "gabriela",
	"gary", "george", "gerald", "gloria", "grace", "gregory", "guadalupe", "hana",
	"hannah", "harold", "harper", "hassan", "heather", "helen", "henry", "hiroshi",
	"ibrahim", "imani", "ingrid", "isabella", "isaiah", "ivan", "jack", "jackson",
	"jacob", "jacqueline", "jamal", "james", "jane", "janet", "janice", "jasmine",
	"jason", "javier", "jean", "jeffrey", "jennifer", "jeremy", "jerry", "jesse",
	"jessica", "jesus", "joan", "joe", "john", "jonathan", "jorge", "jose", "josé",
	"joseph", "joshua", "joyce", "juan", "judith", "judy", "julia", "julie", "justin",
	"karen", "katherine", "keisha", "kathleen", "kathryn", "kayla", "keith", "kelly", "kenji",
	"kenneth", "kevin", "kiara", "kimberly", "kwame", "kyle", "larry", "laura", "lauren",
	"lawrence", "leah", "leilani", "li", "liam", "linda", "linh", "lisa", "logan",
	"lucas", "lucia", "lucía", "luis", "madison", "malik", "manuel", "marco", "margaret",
	"maria", "mariana", "marie", "marilyn", "mark", "martha", "mary", "mason", "mateo",
	"matthew", "megan", "mei", "melissa", "mia", "michael", "michelle", "miguel", "minh",
	"mohamed", "mohammed", "muhammad", "nancy", "natalie", "nathan", "ngoc", "nguyen", "nia",
	"nicholas", "nicole", "noah", "olivia", "omar", "oliver", "pamela", "patricia",
	"patrick", "paul", "pedro", "peter", "philip", "priya", "rachel", "rafael", "rahul",
	"ralph", "randy", "raymond", "rebecca", "richard", "robert", "roger", "rohan", "ronald",
	"rose", "ruth", "ryan", "samantha", "samuel", "sandra", "santiago", "sara", "sarah",
	"scott", "sean", "sebastian", "sharon", "shirley", "sofia", "sofía", "sophia",
	"stephanie", "stephen", "steven", "susan", "teresa", "terry", "thomas", "timothy",
	"tyler", "tyrone", "valentina", "victoria", "vikram", "vincent", "virginia", "walter",
	"wei", "william", "ximena", "yusuf", "zachary", "zainab", "zoe", NULL,
};

/*
 * "Olivia Ortiz", "Mary J. Smith", "José Peña, RN": 2-4 words, each
 * starting with a capital (or a non-ASCII letter), the first a known
 * given name.  A single known given name also counts (first-name columns).
 */
static bool is_person_name(const char *s)
{
	static const char *const titles[] = { "dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.",
					      "miss", "mx", "mx.", "prof", "prof.", "rev", "rev.",
					      NULL };
	char w[64], first[64];
	size_t i = 0, words = 0;
	const char *comma = strchr(s, ',');
	size_t end = comma ? (size_t)(comma - s) : strlen(s);
	first[0] = 0;
	while (i < end) {
		while (i < end && s[i] == ' ')
			i++;
		if (i >= end)
			break;
		unsigned char c0 = (unsigned char)s[i];
		if (!(isupper(c0) || c0 >= 0x80))
			return false;
		size_t n = 0;
		while (i < end && s[i] != ' ') {
			unsigned char ch = (unsigned char)s[i];
			if (!(isalpha(ch) || ch >= 0x80 || ch == '\'' || ch == '-' || ch == '.'))
				return false;
			if (n + 1 < sizeof w)
				w[n++] = (char)tolower(ch);
			i++;
		}
		w[n] = 0;
		/* an honorific before the given name: "Dr. Elias Allen" */
		if (words == 0 && !first[0] && in_list(w, titles)) {
			first[0] = '.';
			continue;
		}
		if (words == 0)
			snprintf(first, sizeof first, "%s", w);
		if (++words > 4)
			return false;
	}
	return words >= 1 && in_list(first, given_names);
}

bool pii_value_matches(enum pii_kind k, const char *v)
{
	switch (k) {
	case PII_SSN: return is_ssn(v);
	case PII_EMAIL: return is_email(v);
	case PII_PHONE: return is_phone(v);
	case PII_MRN: return is_mrn(v);
	case PII_STREET_ADDRESS: return is_street(v);
	case PII_PERSON_NAME: return is_person_name(v);
	case PII_ZIP: return is_zip(v);
	default: return false;
	}
}

void pii_classify(const char *name, const char *const *vals, size_t n, struct pii_verdict *out)
{
	static const enum pii_kind by_value[] = { PII_SSN, PII_EMAIL, PII_PHONE, PII_MRN,
						  PII_STREET_ADDRESS, PII_PERSON_NAME };
	memset(out, 0, sizeof *out);
	size_t nonnull = 0;
	for (size_t i = 0; i < n; i++)
		if (vals[i] && vals[i][0])
			nonnull++;
	out->kind = name ? pii_by_name(name) : PII_NONE;
	if (out->kind != PII_NONE) {
		out->by_name = true;
		if (nonnull) {
			size_t hit = 0;
			for (size_t i = 0; i < n; i++)
				if (vals[i] && vals[i][0] && pii_value_matches(out->kind, vals[i]))
					hit++;
			out->share = (unsigned)(hit * 100 / nonnull);
		}
		return;
	}
	if (nonnull < PII_MIN_VALUES)
		return;
	for (size_t d = 0; d < sizeof by_value / sizeof by_value[0]; d++) {
		size_t hit = 0;
		for (size_t i = 0; i < n; i++)
			if (vals[i] && vals[i][0] && pii_value_matches(by_value[d], vals[i]))
				hit++;
		unsigned share = (unsigned)(hit * 100 / nonnull);
		unsigned need = by_value[d] == PII_PERSON_NAME ? PII_NAME_SHARE : PII_VALUE_SHARE;
		if (share >= need && share > out->share) {
			out->kind = by_value[d];
			out->share = share;
		}
	}
}
