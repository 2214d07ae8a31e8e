/*
 * gen.c - deterministic synthetic immunization events (see gen.h).
 *
 * Design.  The event stream is a sequence of visits.  A visit picks a
 * patient (new, or one seen recently), a time in the window, a facility
 * near the patient's home and a provider there, then the vaccines due at
 * the patient's age with the dose numbers of the US childhood schedule (or
 * a plausible adult choice).  Each vaccine is one event line.
 *
 * Determinism.  Everything random comes from gen->s (xoshiro256**, seeded
 * through splitmix64).  A patient's identity (name, birth date, SSN,
 * address...) is not stored: it is recomputed from splitmix64(seed,
 * patient index), so a returning patient has the same identity without
 * keeping a table of patients, and memory stays constant however many
 * events are asked for.  Facilities and providers are derived the same way
 * from (seed, location, facility type, provider number).  The clock is
 * never read.
 *
 * Invariants.  Every line is one JSON object followed by '\n'; strings go
 * through buf_json_str; SSNs never start with 000, 666 or 9xx; NPIs carry a
 * valid Luhn check digit (with the 80840 prefix, as CMS defines it);
 * phone numbers and e-mails are made up, never looked up.
 */
#include "cli/gen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/timeutil.h"
#include "core/banned.h"

#define DAY_MS 86400000LL
#define YEAR_DAYS 365

/* ---- randomness ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A hash of a few numbers: one splitmix64 step per number. */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t x = a;
	uint64_t h = splitmix64(&x);
	x ^= b;
	h ^= splitmix64(&x);
	x ^= c + h;
	h ^= splitmix64(&x);
	x ^= d + (h << 1);
	return h ^ splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t gen_next(struct gen *g)
{
	uint64_t *s = g->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* A sub-stream for derived things (a patient, a facility): splitmix64. */
struct rng {
	uint64_t x;
};

static uint64_t rng_next(struct rng *r)
{
	return splitmix64(&r->x);
}

/* Uniform in [0, n) (n > 0); the bias of the modulo is below 2^-40 here. */
static uint64_t below(uint64_t r, uint64_t n)
{
	return n ? r % n : 0;
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return below(rng_next(r), n);
}

static uint64_t g_below(struct gen *g, uint64_t n)
{
	return below(gen_next(g), n);
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- reference data -------------------------------------------------- */

static const char *const female_names[] = {
	"Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia",
	"Harper", "Evelyn", "Abigail", "Emily", "Madison", "Aaliyah", "Zoe", "Chloe",
	"Camila", "Sofía", "Valentina", "Ximena", "Mariana", "Guadalupe", "Lucía", "Maria",
	"Fatima", "Aisha", "Amina", "Zainab", "Priya", "Ananya", "Aaradhya", "Mei",
	"Yuna", "Hana", "Linh", "Huong", "Ngoc", "Kiara", "Imani", "Jasmine",
	"Destiny", "Nia", "Keisha", "Hannah", "Grace", "Leah", "Rachel", "Sarah",
	"Aiyana", "Winona", "Leilani", "Ingrid",
};

static const char *const male_names[] = {
	"Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas",
	"Henry", "Alexander", "Mason", "Michael", "Ethan", "Daniel", "Jacob", "Logan",
	"Jackson", "Sebastian", "Mateo", "Santiago", "José", "Diego", "Carlos", "Luis",
	"Miguel", "Juan", "Alejandro", "Mohammed", "Omar", "Ahmed", "Ali", "Yusuf",
	"Arjun", "Rohan", "Aarav", "Vikram", "Wei", "Hiroshi", "Kenji", "Minh",
	"Duc", "Jamal", "DeShawn", "Malik", "Darius", "Tyrone", "Isaiah", "Elias",
	"Kwame", "Chidi", "Dakota", "Keoni",
};

static const char *const last_names[] = {
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
	"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
	"White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
	"Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
	"Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
	"Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
	"Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
	"Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
	"Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward",
	"Richardson", "Patel", "Shah", "Singh", "Khan", "Chen", "Wang", "Li",
	"Zhang", "Tran", "Pham", "Le", "Yamamoto", "Tanaka", "Park", "Choi",
	"Okafor", "Adeyemi", "Mensah", "O'Brien", "Muñoz", "Peña", "Begay", "Yazzie",
	"Kowalski", "Novak", "Johansson", "Olson", "Abdi", "Hassan", "Kealoha",
};

static const char *const street_names[] = {
	"Maple", "Oak", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
	"Main", "Church", "Spring", "Highland", "Lincoln", "Jefferson", "Franklin",
	"River", "Sunset", "Ridge", "Meadow", "Willow", "Birch", "Chestnut", "Walnut",
	"Madison", "Forest", "Valley", "Prairie", "Cherry", "Harbor", "Mill", "Union",
};

static const char *const street_types[] = {
	"St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Way", "Pl", "Ter",
};

static const char *const email_domains[] = {
	"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com",
	"protonmail.com", "comcast.net",
};

/* A city with its county, state, ZIP prefix and telephone area code. */
struct loc {
	const char *city, *county, *state, *zip3, *area;
};

static const struct loc locs[] = {
	{ "Minneapolis", "Hennepin", "MN", "554", "612" },
	{ "Saint Paul", "Ramsey", "MN", "551", "651" },
	{ "Rochester", "Olmsted", "MN", "559", "507" },
	{ "Duluth", "St. Louis", "MN", "558", "218" },
	{ "Bloomington", "Hennepin", "MN", "554", "952" },
	{ "Houston", "Harris", "TX", "770", "713" },
	{ "Dallas", "Dallas", "TX", "752", "214" },
	{ "Austin", "Travis", "TX", "787", "512" },
	{ "San Antonio", "Bexar", "TX", "782", "210" },
	{ "El Paso", "El Paso", "TX", "799", "915" },
	{ "Los Angeles", "Los Angeles", "CA", "900", "213" },
	{ "San Diego", "San Diego", "CA", "921", "619" },
	{ "Fresno", "Fresno", "CA", "937", "559" },
	{ "Oakland", "Alameda", "CA", "946", "510" },
	{ "Sacramento", "Sacramento", "CA", "958", "916" },
	{ "Buffalo", "Erie", "NY", "142", "716" },
	{ "Rochester", "Monroe", "NY", "146", "585" },
	{ "Albany", "Albany", "NY", "122", "518" },
	{ "Syracuse", "Onondaga", "NY", "132", "315" },
	{ "Brooklyn", "Kings", "NY", "112", "718" },
	{ "Atlanta", "Fulton", "GA", "303", "404" },
	{ "Savannah", "Chatham", "GA", "314", "912" },
	{ "Augusta", "Richmond", "GA", "309", "706" },
	{ "Macon", "Bibb", "GA", "312", "478" },
	{ "Athens", "Clarke", "GA", "306", "706" },
	{ "Seattle", "King", "WA", "981", "206" },
	{ "Spokane", "Spokane", "WA", "992", "509" },
	{ "Tacoma", "Pierce", "WA", "984", "253" },
	{ "Vancouver", "Clark", "WA", "986", "360" },
	{ "Bellevue", "King", "WA", "980", "425" },
	{ "Phoenix", "Maricopa", "AZ", "850", "602" },
	{ "Tucson", "Pima", "AZ", "857", "520" },
	{ "Flagstaff", "Coconino", "AZ", "860", "928" },
	{ "Honolulu", "Honolulu", "HI", "968", "808" },
	{ "Hilo", "Hawaii", "HI", "967", "808" },
};

/*
 * Vaccines: CVX code and CDC short description, the manufacturer of a
 * common US product, and the route (IM intramuscular, SC subcutaneous, PO
 * oral).
 */
struct vax {
	const char *cvx, *name, *maker, *route;
};

enum {
	V_HEPB_PED, V_DTAP, V_IPV, V_HIB, V_PCV13, V_ROTA, V_MMR, V_VAR, V_HEPA_PED,
	V_FLU, V_FLU_PF, V_TDAP, V_MENACWY, V_HPV9, V_HPV4, V_COVID_PFR, V_COVID_MOD,
	V_ZOSTER, V_PPSV23, V_HEPB_ADULT, V_HEPA_ADULT, V_DTAP_HEPB_IPV, V_NVAX
};

#define MSD "Merck Sharp & Dohme"
#define GSK "GlaxoSmithKline"
#define SANOFI "Sanofi Pasteur"
#define PFIZER "Pfizer, Inc"

static const struct vax vaxes[V_NVAX] = {
	[V_HEPB_PED] = { "08", "Hep B, adolescent or pediatric", GSK, "IM" },
	[V_DTAP] = { "20", "DTaP", SANOFI, "IM" },
	[V_IPV] = { "10", "IPV", SANOFI, "IM" },
	[V_HIB] = { "48", "Hib (PRP-T)", SANOFI, "IM" },
	[V_PCV13] = { "133", "Pneumococcal conjugate PCV 13", PFIZER, "IM" },
	[V_ROTA] = { "116", "rotavirus, pentavalent", MSD, "PO" },
	[V_MMR] = { "03", "MMR", MSD, "SC" },
	[V_VAR] = { "21", "varicella", MSD, "SC" },
	[V_HEPA_PED] = { "83", "Hep A, ped/adol, 2 dose", GSK, "IM" },
	[V_FLU] = { "141", "Influenza, seasonal, injectable", "Seqirus", "IM" },
	[V_FLU_PF] = { "150", "Influenza, injectable, quadrivalent, preservative free", SANOFI,
		       "IM" },
	[V_TDAP] = { "115", "Tdap", GSK, "IM" },
	[V_MENACWY] = { "114", "meningococcal MCV4P", SANOFI, "IM" },
	[V_HPV9] = { "165", "HPV9", MSD, "IM" },
	[V_HPV4] = { "62", "HPV, quadrivalent", MSD, "IM" },
	[V_COVID_PFR] = { "208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose", PFIZER, "IM" },
	[V_COVID_MOD] = { "207",
			  "COVID-19, mRNA, LNP-S, PF, 100 mcg/0.5mL dose or 50 mcg/0.25mL dose",
			  "Moderna US, Inc.", "IM" },
	[V_ZOSTER] = { "187", "zoster recombinant", GSK, "IM" },
	[V_PPSV23] = { "33", "pneumococcal polysaccharide PPV23", MSD, "IM" },
	[V_HEPB_ADULT] = { "43", "Hep B, adult", GSK, "IM" },
	[V_HEPA_ADULT] = { "52", "Hep A, adult", GSK, "IM" },
	[V_DTAP_HEPB_IPV] = { "110", "DTaP-Hep B-IPV", GSK, "IM" },
};

/* Facility kinds; children go to the first four, adults to the last five. */
enum { F_PEDS, F_HEALTH_DEPT, F_FAMILY, F_CHC, F_PHARMACY_A, F_PHARMACY_B, F_NKIND };

static const char *const facility_types[F_NKIND] = {
	"pediatric clinic", "public health department", "primary care clinic",
	"community health center", "pharmacy", "pharmacy",
};

/* ---- small formatting helpers --------------------------------------- */

/* A JSON object writer with a sticky error. */
struct jw {
	struct buf *b;
	int rc;
	bool first;
};

/*
 * A JSON string.  Nearly every string here needs no escaping and is copied
 * in one append (buf_json_str appends byte by byte, which was half of the
 * generator's time); the others go through buf_json_str.
 */
static int json_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return buf_json_str(b, s, n);
	}
	char q[256];
	if (n + 2 > sizeof q)
		return buf_json_str(b, s, n);
	q[0] = '"';
	memcpy(q + 1, s, n);
	q[n + 1] = '"';
	return buf_append(b, q, n + 2);
}

static void jw_key(struct jw *w, const char *key)
{
	if (w->rc)
		return;
	if (!w->first)
		w->rc = buf_putc(w->b, ',');
	w->first = false;
	if (!w->rc)
		w->rc = json_text(w->b, key);
	if (!w->rc)
		w->rc = buf_putc(w->b, ':');
}

static void jw_str(struct jw *w, const char *key, const char *val)
{
	jw_key(w, key);
	if (!w->rc)
		w->rc = val ? json_text(w->b, val) : buf_append(w->b, "null", 4);
}

static void jw_int(struct jw *w, const char *key, long long v)
{
	jw_key(w, key);
	if (!w->rc)
		w->rc = buf_printf(w->b, "%lld", v);
}

static void jw_open(struct jw *w, const char *key)
{
	if (key)
		jw_key(w, key);
	if (!w->rc)
		w->rc = buf_putc(w->b, '{');
	w->first = true;
}

static void jw_close(struct jw *w)
{
	if (!w->rc)
		w->rc = buf_putc(w->b, '}');
	w->first = false;
}

static void fmt_date(int64_t ms, char *out, size_t n)
{
	struct utc u;
	time_utc(ms, &u);
	snprintf(out, n, "%04d-%02d-%02d", u.year, u.month, u.day);
}

static void fmt_ts(int64_t ms, char *out, size_t n)
{
	struct utc u;
	time_utc(ms, &u);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", u.year, u.month, u.day, u.hour, u.min,
		 u.sec);
}

/*
 * Lowercase ASCII letters of a name for an e-mail address: Latin-1 accents
 * of the name lists (U+00E0..U+00FF, two bytes in UTF-8) lose their
 * accent, anything else that is not a letter is dropped.
 */
static size_t email_part(const char *s, char *out, size_t n)
{
	/* U+00E0 .. U+00FF */
	static const char latin1[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < n; p++) {
		char c = 0;
		if (*p >= 'a' && *p <= 'z')
			c = (char)*p;
		else if (*p >= 'A' && *p <= 'Z')
			c = (char)(*p - 'A' + 'a');
		else if (*p == 0xc3 && p[1] >= 0xa0 && p[1] <= 0xbf) {
			c = latin1[p[1] - 0xa0];
			p++;
		}
		if (c >= 'a' && c <= 'z')
			out[k++] = c;
	}
	out[k] = 0;
	return k;
}

/* ---- patients -------------------------------------------------------- */

struct patient {
	char id[16];
	char mrn[16];
	const char *first, *last, *sex;
	int64_t dob_ms;
	char ssn[16];
	unsigned loc;
	char street[64];
	char unit[16];
	char zip[8];
	char phone[20];
	char email[96];
	const char *race, *ethnicity;
	const char *guardian_first;  /* minors: a parent's first name, or NULL */
};

static const char *const races[] = {
	"White", "White", "White", "White", "White", "Black or African American",
	"Black or African American", "Asian", "Asian", "American Indian or Alaska Native",
	"Native Hawaiian or Other Pacific Islander", "Other Race", "Unknown",
};

/*
 * Age at the start of the window, in days, weighted to children: a
 * registry feed is mostly the infant and school schedules.
 */
static int64_t patient_age_days(struct rng *r)
{
	static const struct {
		unsigned pct;        /* cumulative percent */
		int lo, hi;          /* days */
	} bands[] = {
		{ 8, 0, 41 },                /* newborns: Hep B dose 1 */
		{ 16, 42, 104 },             /* 2-month visit */
		{ 23, 105, 165 },            /* 4-month visit */
		{ 30, 166, 300 },            /* 6-month visit */
		{ 36, 365, 455 },            /* 12-month visit */
		{ 41, 456, 730 },            /* 15-18 months */
		{ 45, 731, 1460 },           /* toddlers */
		{ 52, 1461, 2555 },          /* 4-6 years: school entry */
		{ 55, 2556, 3284 },
		{ 65, 3285, 6939 },          /* 9-18 years: adolescent platform */
		{ 85, 19 * 365, 50 * 365 - 1 },
		{ 93, 50 * 365, 65 * 365 - 1 },
		{ 100, 65 * 365, 95 * 365 },
	};
	unsigned p = (unsigned)rng_below(r, 100);
	for (size_t i = 0; i < NELEM(bands); i++)
		if (p < bands[i].pct)
			return bands[i].lo + (int64_t)rng_below(r, (uint64_t)(bands[i].hi - bands[i].lo + 1));
	return 30 * 365;
}

static void patient_make(const struct gen *g, uint64_t idx, struct patient *p)
{
	struct rng r = { mix(g->seed, 0x50415449454e54ULL, idx, 0) };
	/* An affine bijection on [0, 10^8) keeps ids unique and scattered. */
	uint64_t perm = (idx * 7919993ULL + below(mix(g->seed, 0x4944, 0, 0), 100000000ULL)) %
			100000000ULL;
	snprintf(p->id, sizeof p->id, "P%08llu", (unsigned long long)perm);
	snprintf(p->mrn, sizeof p->mrn, "MRN%07llu", (unsigned long long)rng_below(&r, 10000000));
	bool female = rng_below(&r, 100) < 51;
	p->sex = female ? "F" : "M";
	p->first = female ? female_names[rng_below(&r, NELEM(female_names))]
			  : male_names[rng_below(&r, NELEM(male_names))];
	p->last = last_names[rng_below(&r, NELEM(last_names))];
	int64_t age = patient_age_days(&r);
	p->dob_ms = (g->start_ms / DAY_MS - age) * DAY_MS;

	unsigned area = 1 + (unsigned)rng_below(&r, 899);
	if (area == 666)
		area = 665;
	snprintf(p->ssn, sizeof p->ssn, "%03u-%02u-%04u", area, 1 + (unsigned)rng_below(&r, 99),
		 1 + (unsigned)rng_below(&r, 9999));

	p->loc = (unsigned)rng_below(&r, NELEM(locs));
	const struct loc *L = &locs[p->loc];
	snprintf(p->street, sizeof p->street, "%u %s %s", 100 + (unsigned)rng_below(&r, 9900),
		 street_names[rng_below(&r, NELEM(street_names))],
		 street_types[rng_below(&r, NELEM(street_types))]);
	p->unit[0] = 0;
	if (rng_below(&r, 100) < 25)
		snprintf(p->unit, sizeof p->unit, "Apt %u%c", 1 + (unsigned)rng_below(&r, 30),
			 (char)('A' + rng_below(&r, 6)));
	snprintf(p->zip, sizeof p->zip, "%s%02u", L->zip3, (unsigned)rng_below(&r, 100));
	unsigned exch = 200 + (unsigned)rng_below(&r, 800);
	if (exch % 100 == 11)  /* N11 codes are service numbers */
		exch++;
	snprintf(p->phone, sizeof p->phone, "(%s) %03u-%04u", L->area, exch,
		 (unsigned)rng_below(&r, 10000));

	char f[32], l[32];
	email_part(p->first, f, sizeof f);
	email_part(p->last, l, sizeof l);
	const char *dom = email_domains[rng_below(&r, NELEM(email_domains))];
	switch (rng_below(&r, 4)) {
	case 0: snprintf(p->email, sizeof p->email, "%s.%s@%s", f, l, dom); break;
	case 1: snprintf(p->email, sizeof p->email, "%c%s%u@%s", f[0], l,
			 (unsigned)rng_below(&r, 100), dom); break;
	case 2: snprintf(p->email, sizeof p->email, "%s_%s%u@%s", f, l,
			 1950 + (unsigned)rng_below(&r, 60), dom); break;
	default: snprintf(p->email, sizeof p->email, "%s%s@%s", f, l, dom); break;
	}

	p->race = races[rng_below(&r, NELEM(races))];
	unsigned e = (unsigned)rng_below(&r, 100);
	p->ethnicity = e < 19 ? "Hispanic or Latino" : e < 95 ? "Not Hispanic or Latino" : "Unknown";
	p->guardian_first = NULL;
	if (age < 18 * YEAR_DAYS) {
		bool mother = rng_below(&r, 100) < 70;
		do {
			p->guardian_first = mother ? female_names[rng_below(&r, NELEM(female_names))]
						   : male_names[rng_below(&r, NELEM(male_names))];
		} while (p->guardian_first == p->first);
	}
}

/* ---- facilities and providers -------------------------------------- */

struct facility {
	char id[12];
	char name[96];
	const char *type;
	uint64_t key;
};

static void facility_make(const struct gen *g, unsigned loc, unsigned kind, struct facility *f)
{
	const struct loc *L = &locs[loc];
	f->key = mix(g->seed, 0x464143ULL, loc, kind);
	snprintf(f->id, sizeof f->id, "F%06llu", (unsigned long long)(f->key % 1000000));
	unsigned store = 1000 + (unsigned)((f->key >> 20) % 9000);
	f->type = facility_types[kind];
	switch (kind) {
	case F_PEDS:
		snprintf(f->name, sizeof f->name, "%s Children's Clinic", L->city);
		break;
	case F_HEALTH_DEPT:
		snprintf(f->name, sizeof f->name, "%s County Public Health", L->county);
		break;
	case F_FAMILY:
		snprintf(f->name, sizeof f->name, "%s Family Medicine", L->city);
		break;
	case F_CHC:
		snprintf(f->name, sizeof f->name, "%s Community Health Center", L->city);
		break;
	case F_PHARMACY_A:
		snprintf(f->name, sizeof f->name, "Northside Pharmacy #%u", store);
		break;
	default:
		snprintf(f->name, sizeof f->name, "Valley Drug #%u", store);
		break;
	}
}

struct provider {
	char npi[12];
	char name[96];
	const char *credential;
};

/* The NPI check digit: Luhn over "80840" followed by the first 9 digits. */
static int npi_check_digit(const char *nine)
{
	char d[16];
	snprintf(d, sizeof d, "80840%s", nine);
	int sum = 0;
	size_t n = strlen(d);
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i % 2 == 0) {  /* rightmost of the payload is doubled */
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return (10 - sum % 10) % 10;
}

static void provider_make(const struct gen *g, const struct facility *f, unsigned k,
			  struct provider *pr)
{
	struct rng r = { mix(g->seed, 0x50524f56ULL, f->key, k) };
	char nine[10];
	snprintf(nine, sizeof nine, "%c%08llu", rng_below(&r, 2) ? '1' : '2',
		 (unsigned long long)rng_below(&r, 100000000));
	snprintf(pr->npi, sizeof pr->npi, "%s%d", nine, npi_check_digit(nine));
	bool female = rng_below(&r, 100) < 60;
	const char *first = female ? female_names[rng_below(&r, NELEM(female_names))]
				   : male_names[rng_below(&r, NELEM(male_names))];
	const char *last = last_names[rng_below(&r, NELEM(last_names))];
	static const char *const clinic[] = { "MD", "MD", "DO", "NP", "NP", "PA-C", "RN", "RN" };
	static const char *const pharm[] = { "PharmD", "PharmD", "RPh" };
	bool pharmacy = strcmp(f->type, "pharmacy") == 0;
	pr->credential = pharmacy ? pharm[rng_below(&r, NELEM(pharm))]
				  : clinic[rng_below(&r, NELEM(clinic))];
	if (!strcmp(pr->credential, "MD") || !strcmp(pr->credential, "DO"))
		snprintf(pr->name, sizeof pr->name, "Dr. %s %s", first, last);
	else
		snprintf(pr->name, sizeof pr->name, "%s %s, %s", first, last, pr->credential);
}

/* ---- the schedule ---------------------------------------------------- */

struct plan {
	unsigned n;
	unsigned short vax[GEN_MAX_VISIT];
	unsigned char dose[GEN_MAX_VISIT];
};

static void plan_add(struct plan *p, unsigned v, unsigned dose)
{
	if (p->n < GEN_MAX_VISIT) {
		p->vax[p->n] = (unsigned short)v;
		p->dose[p->n] = (unsigned char)(dose ? dose : 1);
		p->n++;
	}
}

static unsigned covid(struct gen *g)
{
	return g_below(g, 100) < 60 ? V_COVID_PFR : V_COVID_MOD;
}

/*
 * The vaccines of one visit at age `days`, after the ACIP schedules:
 * infant visits give the whole set due; older children and adults get one
 * to three of what fits their age.
 */
static void plan_visit(struct gen *g, int64_t days, struct plan *p)
{
	p->n = 0;
	int64_t years = days / YEAR_DAYS;
	if (days < 42) {
		plan_add(p, V_HEPB_PED, 1);
	} else if (days < 105) {
		if (g_below(g, 4) == 0) {
			plan_add(p, V_DTAP_HEPB_IPV, 1);
		} else {
			plan_add(p, V_DTAP, 1);
			plan_add(p, V_IPV, 1);
			plan_add(p, V_HEPB_PED, 2);
		}
		plan_add(p, V_HIB, 1);
		plan_add(p, V_PCV13, 1);
		plan_add(p, V_ROTA, 1);
	} else if (days < 166) {
		plan_add(p, V_DTAP, 2);
		plan_add(p, V_IPV, 2);
		plan_add(p, V_HIB, 2);
		plan_add(p, V_PCV13, 2);
		plan_add(p, V_ROTA, 2);
	} else if (days < 365) {
		plan_add(p, V_DTAP, 3);
		plan_add(p, V_HEPB_PED, 3);
		plan_add(p, V_HIB, 3);
		plan_add(p, V_PCV13, 3);
		if (days < 243)  /* the last rotavirus dose is due by 8 months */
			plan_add(p, V_ROTA, 3);
		if (days >= 180)
			plan_add(p, V_FLU_PF, 1 + (unsigned)g_below(g, 2));
		if (g_below(g, 2))
			plan_add(p, V_IPV, 3);
	} else if (days < 456) {
		plan_add(p, V_MMR, 1);
		plan_add(p, V_VAR, 1);
		plan_add(p, V_HEPA_PED, 1);
		plan_add(p, V_PCV13, 4);
		plan_add(p, V_HIB, 4);
	} else if (days < 731) {
		plan_add(p, V_DTAP, 4);
		if (days >= 540)
			plan_add(p, V_HEPA_PED, 2);
		if (g_below(g, 2))
			plan_add(p, V_FLU_PF, 1 + (unsigned)g_below(g, 2));
	} else if (years < 4) {
		plan_add(p, V_FLU_PF, 1 + (unsigned)g_below(g, 2));
		if (g_below(g, 3) == 0)
			plan_add(p, V_HEPA_PED, 2);
	} else if (years < 7) {
		plan_add(p, V_DTAP, 5);
		plan_add(p, V_IPV, 4);
		plan_add(p, V_MMR, 2);
		plan_add(p, V_VAR, 2);
		if (g_below(g, 3) == 0)
			plan_add(p, V_FLU_PF, 1);
	} else if (years < 11) {
		if (g_below(g, 3))
			plan_add(p, V_FLU, 1);
		else
			plan_add(p, V_COVID_PFR, 1 + (unsigned)g_below(g, 3));
	} else if (years < 13) {
		plan_add(p, V_TDAP, 1);
		plan_add(p, V_MENACWY, 1);
		plan_add(p, V_HPV9, 1 + (unsigned)g_below(g, 2));
		if (g_below(g, 2))
			plan_add(p, V_FLU, 1);
	} else if (years < 19) {
		unsigned k = (unsigned)g_below(g, 4);
		if (years >= 16 && k == 0)
			plan_add(p, V_MENACWY, 2);
		else if (k == 1)
			plan_add(p, V_HPV9, 1 + (unsigned)g_below(g, 3));
		else if (k == 2)
			plan_add(p, V_COVID_PFR, 1 + (unsigned)g_below(g, 4));
		plan_add(p, V_FLU, 1);
	} else {
		/* Adults: a flu shot mostly, with what their age calls for. */
		unsigned k = (unsigned)g_below(g, 100);
		if (k < 55) {
			plan_add(p, g_below(g, 3) ? V_FLU : V_FLU_PF, 1);
			if (g_below(g, 3) == 0)
				plan_add(p, covid(g), 1 + (unsigned)g_below(g, 6));
		} else if (k < 75) {
			plan_add(p, covid(g), 1 + (unsigned)g_below(g, 6));
		} else if (years >= 50 && k < 88) {
			plan_add(p, V_ZOSTER, 1 + (unsigned)g_below(g, 2));
		} else if (years >= 65 && k < 95) {
			plan_add(p, g_below(g, 2) ? V_PPSV23 : V_PCV13, 1);
		} else if (years < 27 && k < 90) {
			plan_add(p, g_below(g, 10) ? V_HPV9 : V_HPV4, 1 + (unsigned)g_below(g, 3));
		} else {
			switch (g_below(g, 3)) {
			case 0: plan_add(p, V_TDAP, 1); break;
			case 1: plan_add(p, V_HEPB_ADULT, 1 + (unsigned)g_below(g, 3)); break;
			default: plan_add(p, V_HEPA_ADULT, 1 + (unsigned)g_below(g, 2)); break;
			}
		}
	}
}

/* ---- events ---------------------------------------------------------- */

int64_t gen_default_end_ms(uint64_t seed)
{
	/* 2025-07-01T00:00:00Z plus up to a year, by the seed. */
	uint64_t x = seed;
	return 1751328000000LL + (int64_t)(splitmix64(&x) % YEAR_DAYS) * DAY_MS;
}

void gen_init(struct gen *g, uint64_t seed, int64_t start_ms, int64_t span_ms)
{
	memset(g, 0, sizeof *g);
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&x);
	g->seed = seed;
	g->start_ms = start_ms;
	g->span_ms = span_ms > 0 ? span_ms : DAY_MS;
}

static void visit_start(struct gen *g)
{
	/* A quarter of the visits are by a recently seen patient. */
	if (g->patients > 0 && g_below(g, 4) == 0) {
		uint64_t window = g->patients < 5000 ? g->patients : 5000;
		g->visit_patient = g->patients - 1 - g_below(g, window);
	} else {
		g->visit_patient = g->patients++;
	}
	/* Clinic hours, 13:00-23:00 UTC (daytime in the US), when the window allows. */
	int64_t t = g->start_ms + (int64_t)g_below(g, (uint64_t)g->span_ms);
	int64_t day = t - ((t % DAY_MS) + DAY_MS) % DAY_MS;
	int64_t t2 = day + 13 * 3600000LL + (int64_t)g_below(g, 10 * 3600000ULL);
	if (t2 >= g->start_ms && t2 < g->start_ms + g->span_ms)
		t = t2;
	g->visit_ms = t - t % 1000;
	g->visit_site = (unsigned)g_below(g, 1000);
	g->visit_i = 0;
	g->visit_n = 0;
}

int gen_immunization(struct gen *g, struct buf *out)
{
	struct patient p;
	while (g->visit_i >= g->visit_n) {
		visit_start(g);
		patient_make(g, g->visit_patient, &p);
		struct plan plan;
		int64_t age_days = (g->visit_ms - p.dob_ms) / DAY_MS;
		plan_visit(g, age_days < 0 ? 0 : age_days, &plan);
		g->visit_n = plan.n;
		memcpy(g->visit_vax, plan.vax, sizeof plan.vax);
		memcpy(g->visit_dose, plan.dose, sizeof plan.dose);
	}
	patient_make(g, g->visit_patient, &p);
	const struct loc *L = &locs[p.loc];
	int64_t age_days = (g->visit_ms - p.dob_ms) / DAY_MS;
	bool minor = age_days < 19 * YEAR_DAYS;

	/* Children go to clinics; adults to clinics or pharmacies. */
	unsigned kind = minor ? g->visit_site % 4 : 1 + g->visit_site % 5;
	struct facility f;
	facility_make(g, p.loc, kind, &f);
	struct provider pr;
	provider_make(g, &f, (g->visit_site / 8) % 4, &pr);

	const struct vax *v = &vaxes[g->visit_vax[g->visit_i]];
	unsigned dose = g->visit_dose[g->visit_i];
	int64_t at = g->visit_ms + (int64_t)g->visit_i * (30 + (int64_t)g_below(g, 150)) * 1000;
	int64_t recorded = at + (60 + (int64_t)g_below(g, 2 * 86400)) * 1000;
	g->visit_i++;
	g->events++;

	/* The same lot is used at a facility for a few weeks. */
	uint64_t lot = mix(g->seed, f.key, g->visit_vax[g->visit_i - 1],
			   (uint64_t)(at / (21 * DAY_MS)));
	char lot_s[12];
	snprintf(lot_s, sizeof lot_s, "%c%c%04u", (char)('A' + lot % 26), (char)('A' + (lot >> 8) % 26),
		 (unsigned)((lot >> 16) % 10000));
	int64_t expires = (at / (30 * DAY_MS)) * 30 * DAY_MS + (120 + (int64_t)((lot >> 32) % 600)) * DAY_MS;

	/* HL7 table 0163 sites: thighs for small children, arms after; none by mouth. */
	const char *site = NULL;
	if (strcmp(v->route, "PO") != 0)
		site = age_days < 3 * YEAR_DAYS ? (g_below(g, 2) ? "LT" : "RT")
						: (g_below(g, 2) ? "LA" : "RA");

	const char *vfc = NULL, *funding;
	if (minor) {
		static const char *const codes[] = { "V01", "V02", "V02", "V02", "V03", "V04", "V05" };
		vfc = codes[g_below(g, NELEM(codes))];
		funding = !strcmp(vfc, "V01") ? "private" : "VFC";
	} else {
		static const char *const adult[] = { "private", "private", "private", "Medicaid",
						     "self-pay" };
		funding = age_days >= 65 * YEAR_DAYS ? "Medicare" : adult[g_below(g, NELEM(adult))];
	}

	/* event_id: a version-4 UUID from the PRNG. */
	uint64_t hi = gen_next(g), lo = gen_next(g);
	hi = (hi & ~0xf000ULL) | 0x4000ULL;
	lo = (lo & ~(3ULL << 62)) | (2ULL << 62);
	char uuid[40];
	snprintf(uuid, sizeof uuid, "%08llx-%04llx-%04llx-%04llx-%012llx",
		 (unsigned long long)(hi >> 32), (unsigned long long)((hi >> 16) & 0xffff),
		 (unsigned long long)(hi & 0xffff), (unsigned long long)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffULL));

	char dob[16], at_s[32], rec_s[32], exp_s[16], guardian[96];
	fmt_date(p.dob_ms, dob, sizeof dob);
	fmt_ts(at, at_s, sizeof at_s);
	fmt_ts(recorded, rec_s, sizeof rec_s);
	fmt_date(expires, exp_s, sizeof exp_s);
	if (p.guardian_first)
		snprintf(guardian, sizeof guardian, "%s %s", p.guardian_first, p.last);

	size_t start = out->len;
	struct jw w = { out, 0, true };
	jw_open(&w, NULL);
	jw_str(&w, "event_id", uuid);
	jw_str(&w, "patient_id", p.id);
	jw_str(&w, "mrn", p.mrn);
	jw_str(&w, "first_name", p.first);
	jw_str(&w, "last_name", p.last);
	jw_str(&w, "sex", p.sex);
	jw_str(&w, "date_of_birth", dob);
	jw_str(&w, "race", p.race);
	jw_str(&w, "ethnicity", p.ethnicity);
	jw_str(&w, "ssn", p.ssn);
	jw_open(&w, "address");
	jw_str(&w, "street", p.street);
	jw_str(&w, "unit", p.unit[0] ? p.unit : NULL);
	jw_str(&w, "city", L->city);
	jw_str(&w, "county", L->county);
	jw_str(&w, "state", L->state);
	jw_str(&w, "zip", p.zip);
	jw_close(&w);
	jw_str(&w, "phone", p.phone);
	jw_str(&w, "email", p.email);
	jw_str(&w, "guardian_name", p.guardian_first ? guardian : NULL);
	jw_str(&w, "cvx_code", v->cvx);
	jw_str(&w, "vaccine_name", v->name);
	jw_str(&w, "manufacturer", v->maker);
	jw_int(&w, "dose_number", dose);
	jw_str(&w, "route", v->route);
	jw_str(&w, "site", site);
	jw_str(&w, "lot_number", lot_s);
	jw_str(&w, "lot_expiration", exp_s);
	jw_str(&w, "administered_at", at_s);
	jw_str(&w, "recorded_at", rec_s);
	jw_open(&w, "provider");
	jw_str(&w, "npi", pr.npi);
	jw_str(&w, "name", pr.name);
	jw_str(&w, "credential", pr.credential);
	jw_close(&w);
	jw_str(&w, "facility_id", f.id);
	jw_str(&w, "facility", f.name);
	jw_str(&w, "county", L->county);
	jw_str(&w, "state", L->state);
	jw_str(&w, "vfc_eligibility", vfc);
	jw_str(&w, "funding_source", funding);
	jw_close(&w);
	if (!w.rc)
		w.rc = buf_putc(out, '\n');
	if (w.rc) {
		buf_truncate(out, start);
		return w.rc;
	}
	return 0;
}

/* ---- tarn gen ---------------------------------------------------------- */

static const char gen_usage[] =
	"usage: tarn gen immunizations --count N [--seed S] [--start DATE] [--days D]\n"
	"\n"
	"Prints N synthetic immunization events as NDJSON on standard output: patients\n"
	"(names, birth dates, SSNs, addresses, phones, e-mails: all fabricated),\n"
	"vaccines with real CVX codes and schedule-consistent dose numbers, lots,\n"
	"providers with valid-looking NPIs, and facilities in a few US states.  The\n"
	"output depends only on the arguments: the same seed prints the same bytes.\n"
	"\n"
	"options:\n"
	"  --count N       events to print (required)\n"
	"  --seed S        random seed, a number (default 1)\n"
	"  --start DATE    start of the administered_at window (ISO-8601, e.g. 2026-01-15);\n"
	"                  \"now\" makes it the last D days before now.  Default: a fixed\n"
	"                  30-day window chosen by the seed (never the clock)\n"
	"  --days D        length of the window in days (default 30)\n"
	"  -h, --help      this help\n"
	"\n"
	"example:\n"
	"  tarn gen immunizations --count 100000 --seed 7 | tarn ingest immunizations\n";

/* Output is written in chunks of this size. */
#define GEN_CHUNK (256u << 10)

int cmd_gen(int argc, char **argv)
{
	struct cli_args a;
	const char *kind = NULL, *v, *start = NULL;
	uint64_t count = 0, seed = 1, days = 30;
	bool have_count = false;
	cli_args_init(&a, argc, argv);
	while (cli_next(&a)) {
		if (cli_is_help(&a)) {
			fputs(gen_usage, stdout);
			return 0;
		} else if (cli_value(&a, "--count", &v)) {
			if (cli_parse_u64(v, false, &count))
				return cli_usage_error(gen_usage, "--count '%s': expected a number", v);
			have_count = true;
		} else if (cli_value(&a, "--seed", &v)) {
			if (cli_parse_u64(v, false, &seed))
				return cli_usage_error(gen_usage, "--seed '%s': expected a number", v);
		} else if (cli_value(&a, "--days", &v)) {
			if (cli_parse_u64(v, false, &days) || days < 1 || days > 36500)
				return cli_usage_error(gen_usage, "--days '%s': expected 1 to 36500", v);
		} else if (cli_value(&a, "--start", &v)) {
			start = v;
		} else if (a.positional && !kind) {
			kind = a.arg;
		} else {
			return cli_bad_arg(&a, gen_usage);
		}
	}
	if (a.error)
		return cli_bad_arg(&a, gen_usage);
	if (!kind)
		return cli_usage_error(gen_usage, "missing the kind of data (immunizations)");
	if (strcmp(kind, "immunizations") != 0)
		return cli_usage_error(gen_usage, "unknown kind of data '%s': tarn knows immunizations",
				       kind);
	if (!have_count)
		return cli_usage_error(gen_usage, "missing --count N");

	int64_t span = (int64_t)days * DAY_MS, start_ms;
	if (!start) {
		start_ms = gen_default_end_ms(seed) - span;
	} else if (!strcmp(start, "now")) {
		start_ms = time_now_ms() - span;
	} else if (time_parse(start, strlen(start), &start_ms) != 0) {
		return cli_usage_error(gen_usage,
				       "--start '%s': expected a date like 2026-01-15 or "
				       "2026-01-15T08:00:00Z, or \"now\"", start);
	}

	struct gen g;
	gen_init(&g, seed, start_ms, span);
	struct buf out = BUF_INIT(0);
	int rc = 0;
	for (uint64_t i = 0; i < count && !rc; i++) {
		if (gen_immunization(&g, &out) != 0)
			TN_BUG("generator buffer full");
		if (out.len >= GEN_CHUNK || i + 1 == count) {
			if (fwrite(out.data, 1, out.len, stdout) != out.len)
				rc = 1;
			buf_reset(&out);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = 1;
	buf_release(&out);
	if (rc)
		return cli_error("cannot write to standard output: %s", strerror(errno));
	return 0;
}
