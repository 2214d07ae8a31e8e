/*
 * test_objects.c - store listing and attributes, and the governed object
 * API: object grants, own folders, zone rules, ETags, audit lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "catalog/meta.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/os.h"
#include "policy/audit.h"
#include "policy/policy.h"
#include "store/objects.h"
#include "store/store.h"
#include "harness.h"

static void put(struct store *s, const char *key, const char *data)
{
	char err[TN_ERRLEN];
	struct iovec v = { (void *)data, strlen(data) };
	CHECK_INT(store_put(s, key, &v, 1, 0, err), 0);
}

struct collected {
	struct buf b;
};

static int collect(void *arg, const char *key, bool dir, const struct store_stat *st)
{
	struct collected *c = arg;
	(void)st;
	buf_puts(&c->b, key);
	buf_puts(&c->b, dir ? "(d) " : " ");
	return 0;
}

static const char *listing(struct store *s, const char *prefix, const char *after, bool folders)
{
	static struct collected c;
	char err[TN_ERRLEN];
	buf_release(&c.b);
	buf_init(&c.b, 0);
	CHECK_INT(store_list(s, prefix, after, folders, collect, &c, err), 0);
	buf_putc(&c.b, '\0');
	return c.b.data;
}

TEST(list_is_in_key_order_and_shows_only_zones)
{
	char err[TN_ERRLEN];
	struct store *s;
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	put(s, "04-user-drop-zone/a/x.csv", "1");
	put(s, "04-user-drop-zone/a-b.csv", "22");
	put(s, "04-user-drop-zone/a0.csv", "333");
	put(s, "04-user-drop-zone/b/c/d.csv", "4");
	/* "a-b.csv" (0x2D) < "a/x.csv" (0x2F) < "a0.csv" (0x30): bytewise key order */
	CHECK_STR(listing(s, "04-user-drop-zone/", NULL, false),
		  "04-user-drop-zone/a-b.csv 04-user-drop-zone/a/x.csv 04-user-drop-zone/a0.csv "
		  "04-user-drop-zone/b/c/d.csv ");
	CHECK_STR(listing(s, "04-user-drop-zone/", NULL, true),
		  "04-user-drop-zone/a-b.csv 04-user-drop-zone/a/(d) 04-user-drop-zone/a0.csv "
		  "04-user-drop-zone/b/(d) ");
	CHECK_STR(listing(s, "04-user-drop-zone/a", NULL, true),
		  "04-user-drop-zone/a-b.csv 04-user-drop-zone/a/(d) 04-user-drop-zone/a0.csv ");
	CHECK_STR(listing(s, "04-user-drop-zone/b/", NULL, false), "04-user-drop-zone/b/c/d.csv ");
	/* start_after: strictly after; a common prefix already returned is not repeated */
	CHECK_STR(listing(s, "04-user-drop-zone/", "04-user-drop-zone/a/x.csv", false),
		  "04-user-drop-zone/a0.csv 04-user-drop-zone/b/c/d.csv ");
	CHECK_STR(listing(s, "04-user-drop-zone/", "04-user-drop-zone/a/", true),
		  "04-user-drop-zone/a0.csv 04-user-drop-zone/b/(d) ");
	/* the root: zone folders only; tarn.yaml, .tarn and temp files never */
	char p[600];
	snprintf(p, sizeof p, "%s/tarn.yaml", test_tmpdir());
	CHECK_INT(os_write_file_atomic(p, "x", 1, 0600, err), 0);
	snprintf(p, sizeof p, "%s/.tarn", test_tmpdir());
	CHECK_INT(os_mkdir_p(p, 0700, err), 0);
	snprintf(p, sizeof p, "%s/04-user-drop-zone/%shalf", test_tmpdir(), OS_TMP_PREFIX);
	CHECK_INT(os_write_file_atomic(p, "x", 1, 0600, err), 0);
	snprintf(p, sizeof p, "%s/stray", test_tmpdir());
	CHECK_INT(os_mkdir_p(p, 0700, err), 0);
	const char *root = listing(s, "", NULL, true);
	CHECK(strstr(root, "01-raw-data-zone/(d)"));
	CHECK(strstr(root, "warehouse/(d)"));
	CHECK(strstr(root, "data/(d)"));
	CHECK(!strstr(root, "tarn.yaml") && !strstr(root, ".tarn") && !strstr(root, "stray"));
	CHECK(!strstr(listing(s, "", NULL, false), OS_TMP_PREFIX));
	/* malformed prefixes list nothing rather than walking elsewhere */
	CHECK_STR(listing(s, "04-user-drop-zone/../", NULL, false), "");
	CHECK_STR(listing(s, "04-user-drop-zone/../.tarn/", NULL, false), "");
	CHECK_STR(listing(s, "stray/", NULL, false), "");
	store_close(s);
}

TEST(attributes_travel_with_the_object)
{
	char err[TN_ERRLEN];
	struct store *s;
	struct store_writer *w;
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	CHECK_INT(store_writer_open(s, "04-user-drop-zone/t.csv", 0, &w, err), 0);
	CHECK_INT(store_writer_write(w, "a,b\n", 4, err), 0);
	CHECK_INT(store_writer_set_attr(w, "{\"etag\":\"x\"}", 12, err), 0);
	CHECK_INT(store_writer_commit(w, err), 0);
	CHECK_INT(store_attr_get(s, "04-user-drop-zone/t.csv", &b, err), 0);
	CHECK(b.len == 12 && !memcmp(b.data, "{\"etag\":\"x\"}", 12));
	/* a replacement without attributes has none: they never describe other bytes */
	put(s, "04-user-drop-zone/t.csv", "new");
	buf_reset(&b);
	CHECK_INT(store_attr_get(s, "04-user-drop-zone/t.csv", &b, err), TN_ENOTFOUND);
	CHECK_INT(store_attr_set(s, "04-user-drop-zone/t.csv", "y", 1, err), 0);
	CHECK_INT(store_attr_get(s, "04-user-drop-zone/t.csv", &b, err), 0);
	CHECK_INT(store_attr_get(s, "04-user-drop-zone/none", &b, err), TN_ENOTFOUND);
	buf_release(&b);
	store_close(s);
}

struct fix {
	struct store *s;
	struct meta *m;
	struct auth *a;
	struct policy *p;
	struct audit *au;
	struct objects *o;
};

static void fix_open(struct fix *f)
{
	char err[TN_ERRLEN], path[600], journal[600];
	uint8_t key[32] = { 1, 2, 3 };
	memset(f, 0, sizeof *f);
	CHECK_INT(store_open(test_tmpdir(), NULL, &f->s, err), 0);
	CHECK_INT(store_create_layout(f->s, err), 0);
	snprintf(path, sizeof path, "%s/meta.db", test_tmpdir());
	CHECK_INT(meta_open(path, &f->m, err), 0);
	CHECK_INT(auth_open(f->m, key, &f->a, err), 0);
	CHECK_INT(policy_open(f->m, key, &f->p, err), 0);
	snprintf(path, sizeof path, "%s/log/audit", test_tmpdir());
	snprintf(journal, sizeof journal, "%s/audit.journal", test_tmpdir());
	CHECK_INT(audit_open(path, journal, &f->au, err), 0);
	CHECK_INT(objects_open(f->s, f->p, f->au, &f->o, err), 0);
	CHECK_INT(auth_user_add(f->a, "alice", "alice-password", err), 0);
	CHECK_INT(auth_user_add(f->a, "bob", "bob-password", err), 0);
}

static void fix_close(struct fix *f)
{
	objects_close(f->o);
	audit_close(f->au);
	policy_close(f->p);
	auth_close(f->a);
	meta_close(f->m);
	store_close(f->s);
}

static void grant(struct fix *f, const char *who, enum grant_kind k, const char *target)
{
	char err[TN_ERRLEN];
	struct grant g = { .principal = (char *)who, .kind = k, .target = (char *)target };
	CHECK_INT(policy_grant(f->p, &g, err), 0);
}

static int put_obj(struct fix *f, const struct obj_caller *c, const char *key, const char *data,
		   struct obj_info *info, char *err)
{
	struct obj_writer *w;
	int rc = obj_writer_open(f->o, c, key, NULL, &w, err);
	if (rc)
		return rc;
	if ((rc = obj_writer_write(w, data, strlen(data), err))) {
		obj_writer_abort(w, err);
		return rc;
	}
	return obj_writer_commit(w, info, err);
}

TEST(object_grants_own_folders_and_zone_rules)
{
	struct fix f;
	char err[TN_ERRLEN];
	struct obj_info info;
	fix_open(&f);
	struct obj_caller root = { .name = "root", .admin = true, .via = "test" };
	struct obj_caller alice = { .name = "alice", .via = "test" };
	struct obj_caller bob = { .name = "bob", .via = "test" };
	/* deny by default */
	CHECK_INT(put_obj(&f, &alice, "04-user-drop-zone/team/a.csv", "x", NULL, err), TN_EDENIED);
	CHECK(strstr(err, "alice may not write '04-user-drop-zone/team/a.csv'"));
	/* a prefix grant, given in folder form, covers its prefix only */
	char target[600];
	obj_grant_target(f.s, "04-user-drop-zone/team/", target, sizeof target);
	CHECK_STR(target, "drop/team/");
	obj_grant_target(f.s, "warehouse/mart", target, sizeof target);
	CHECK_STR(target, "mart");
	grant(&f, "alice", GRANT_WRITE, "drop/team/");
	CHECK_INT(put_obj(&f, &alice, "04-user-drop-zone/team/a.csv", "id\n1\n", &info, err), 0);
	uint8_t md[16];
	char hex[33];
	crypto_md5("id\n1\n", 5, md);
	hex_encode(md, 16, hex);
	CHECK_STR(info.etag, hex);
	CHECK_STR(info.content_type, "application/octet-stream");
	obj_info_release(&info);
	CHECK_INT(put_obj(&f, &alice, "04-user-drop-zone/other/a.csv", "x", NULL, err), TN_EDENIED);
	/* reading needs read */
	int fd;
	CHECK_INT(obj_open(f.o, &alice, "04-user-drop-zone/team/a.csv", UINT64_MAX, &fd, &info, err),
		  TN_EDENIED);
	grant(&f, "alice", GRANT_READ, "drop");
	CHECK_INT(obj_open(f.o, &alice, "04-user-drop-zone/team/a.csv", UINT64_MAX, &fd, &info, err),
		  0);
	CHECK_STR(info.etag, hex);
	CHECK_INT(info.size, 5);
	close(fd);
	obj_info_release(&info);
	/* own folders: the sandbox and the query results, nobody else's */
	CHECK_INT(put_obj(&f, &alice, "data/user/alice/notes.txt", "mine", NULL, err), 0);
	CHECK_INT(obj_open(f.o, &bob, "data/user/alice/notes.txt", UINT64_MAX, &fd, &info, err),
		  TN_EDENIED);
	CHECK_INT(put_obj(&f, &bob, "data/user/alice/x", "y", NULL, err), TN_EDENIED);
	CHECK_INT(put_obj(&f, &bob, "data/user/alicex/x", "y", NULL, err), TN_EDENIED);
	CHECK_INT(put_obj(&f, &bob, "02-transient-zone/01-athena/bob/r.csv", "y", NULL, err), 0);
	/* raw: admins write new objects, nobody overwrites or deletes */
	CHECK_INT(put_obj(&f, &root, "01-raw-data-zone/s/1.json", "{}", NULL, err), 0);
	CHECK_INT(put_obj(&f, &root, "01-raw-data-zone/s/1.json", "{}", NULL, err), TN_ECONFLICT);
	CHECK(strstr(err, "immutable"));
	CHECK_INT(obj_delete(f.o, &root, "01-raw-data-zone/s/1.json", err), TN_EDENIED);
	CHECK(strstr(err, "immutable"));
	/* raw_reader reads and lists raw (built-in grants) */
	CHECK_INT(obj_open(f.o, &bob, "01-raw-data-zone/s/1.json", UINT64_MAX, &fd, &info, err),
		  TN_EDENIED);
	CHECK_INT(auth_role_grant(f.a, "raw_reader", "bob", true, err), 0);
	CHECK_INT(obj_open(f.o, &bob, "01-raw-data-zone/s/1.json", UINT64_MAX, &fd, &info, err), 0);
	close(fd);
	obj_info_release(&info);
	/* the audit trail is append-only, even for admins */
	CHECK_INT(put_obj(&f, &root, "log/audit/2026/x.jsonl", "{}", NULL, err), TN_EDENIED);
	CHECK(strstr(err, "append-only"));
	/* keys outside zones and malformed keys */
	CHECK_INT(put_obj(&f, &root, "tarn.yaml", "x", NULL, err), TN_EINVAL);
	CHECK_INT(put_obj(&f, &root, ".tarn/master.key", "x", NULL, err), TN_EINVAL);
	CHECK_INT(put_obj(&f, &root, "04-user-drop-zone/../tarn.yaml", "x", NULL, err), TN_EINVAL);
	/* delete needs delete */
	CHECK_INT(obj_delete(f.o, &alice, "04-user-drop-zone/team/a.csv", err), TN_EDENIED);
	grant(&f, "alice", GRANT_DELETE, "drop/team/");
	CHECK_INT(obj_delete(f.o, &alice, "04-user-drop-zone/team/a.csv", err), 0);
	CHECK_INT(obj_delete(f.o, &alice, "04-user-drop-zone/team/a.csv", err), TN_ENOTFOUND);
	fix_close(&f);
	/* every operation above left an audit line, and the chain verifies */
	char dir[600];
	uint64_t lines = 0;
	snprintf(dir, sizeof dir, "%s/log/audit", test_tmpdir());
	CHECK_INT(audit_verify(dir, &lines, err), 0);
	CHECK(lines >= 20);
}

TEST(listing_shows_only_what_list_grants_cover)
{
	struct fix f;
	char err[TN_ERRLEN];
	struct obj_list l;
	fix_open(&f);
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_caller alice = { .name = "alice" };
	put(f.s, "04-user-drop-zone/team/a.csv", "a");
	put(f.s, "04-user-drop-zone/team/b.csv", "b");
	put(f.s, "04-user-drop-zone/secret/c.csv", "c");
	put(f.s, "warehouse/mart/sales/x.parquet", "d");
	CHECK_INT(obj_list(f.o, &alice, "", "/", NULL, 100, false, &l, err), 0);
	/* nothing granted: only the way to her own folders */
	for (size_t i = 0; i < l.n; i++)
		CHECK(!strcmp(l.v[i].key, "data/") || !strcmp(l.v[i].key, "02-transient-zone/"));
	obj_list_release(&l);
	grant(&f, "alice", GRANT_LIST, "drop/team/");
	CHECK_INT(obj_list(f.o, &alice, "04-user-drop-zone/", "/", NULL, 100, false, &l, err), 0);
	CHECK_INT(l.n, 1);
	CHECK_STR(l.v[0].key, "04-user-drop-zone/team/");
	CHECK(l.v[0].dir);
	obj_list_release(&l);
	CHECK_INT(obj_list(f.o, &alice, "04-user-drop-zone/", NULL, NULL, 100, true, &l, err), 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.v[1].key, "04-user-drop-zone/team/b.csv");
	CHECK_INT(strlen(l.v[1].etag), 32); /* computed for a file written without one */
	obj_list_release(&l);
	/* pages: max entries, then from the marker */
	CHECK_INT(obj_list(f.o, &root, "04-user-drop-zone/", NULL, NULL, 2, false, &l, err), 0);
	CHECK_INT(l.n, 2);
	CHECK(l.truncated);
	CHECK_STR(l.next, "04-user-drop-zone/team/a.csv");
	char *next = strdup(l.next);
	obj_list_release(&l);
	CHECK_INT(obj_list(f.o, &root, "04-user-drop-zone/", NULL, next, 2, false, &l, err), 0);
	CHECK_INT(l.n, 1);
	CHECK(!l.truncated);
	CHECK_STR(l.v[0].key, "04-user-drop-zone/team/b.csv");
	obj_list_release(&l);
	free(next);
	CHECK_INT(obj_list(f.o, &root, "", ",", NULL, 2, false, &l, err), TN_EUNSUPPORTED);
	fix_close(&f);
}

TEST(copy_keeps_or_replaces_metadata_and_etag_tracks_appends)
{
	struct fix f;
	char err[TN_ERRLEN];
	struct obj_info info;
	struct obj_writer *w;
	fix_open(&f);
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_put_opts opts = { .content_type = "text/csv", .user_meta = "{\"owner\":\"ops\"}" };
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/a.csv", &opts, &w, err), 0);
	CHECK_INT(obj_writer_write(w, "x,y\n", 4, err), 0);
	CHECK_INT(obj_writer_commit(w, NULL, err), 0);
	CHECK_INT(obj_copy(f.o, &root, "04-user-drop-zone/a.csv", "04-user-drop-zone/b.csv", NULL,
			   &info, err), 0);
	obj_info_release(&info);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/b.csv", &info, err), 0);
	CHECK_STR(info.content_type, "text/csv");
	CHECK_STR(info.user_meta, "{\"owner\":\"ops\"}");
	obj_info_release(&info);
	struct obj_put_opts repl = { .content_type = "text/plain" };
	CHECK_INT(obj_copy(f.o, &root, "04-user-drop-zone/a.csv", "04-user-drop-zone/c.csv", &repl,
			   &info, err), 0);
	obj_info_release(&info);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/c.csv", &info, err), 0);
	CHECK_STR(info.content_type, "text/plain");
	CHECK(info.user_meta == NULL);
	obj_info_release(&info);
	/* a file appended in place (as the audit trail is) gets a fresh ETag */
	char first[OBJ_ETAG_LEN], path[600];
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/b.csv", &info, err), 0);
	snprintf(first, sizeof first, "%s", info.etag);
	obj_info_release(&info);
	snprintf(path, sizeof path, "%s/04-user-drop-zone/b.csv", test_tmpdir());
	FILE *fp = fopen(path, "a");
	fputs("more\n", fp);
	fclose(fp);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/b.csv", &info, err), 0);
	CHECK(strcmp(first, info.etag) != 0);
	CHECK_INT(info.size, 9);
	obj_info_release(&info);
	/* a blob of the default type fits in an ext4 inode (60 bytes); the old long form
	 * (below) is still read */
	struct buf blob_now = BUF_INIT(0);
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/d.bin", NULL, &w, err), 0);
	CHECK_INT(obj_writer_write(w, "0123456789", 10, err), 0);
	CHECK_INT(obj_writer_commit(w, NULL, err), 0);
	CHECK_INT(store_attr_get(f.s, "04-user-drop-zone/d.bin", &blob_now, err), 0);
	CHECK(blob_now.len <= 60);
	CHECK(strncmp(blob_now.data, "{\"e\":\"", 6) == 0);
	buf_release(&blob_now);
	/* attributes changed in place (same inode, size and mtime) are seen at once,
	 * though the ones before were cached */
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/c.csv", &info, err), 0);
	obj_info_release(&info);
	const char *blob = "{\"etag\":\"0123456789abcdef0123456789abcdef\",\"type\":\"text/tab-"
			   "separated-values\",\"size\":4}";
	CHECK_INT(store_attr_set(f.s, "04-user-drop-zone/c.csv", blob, strlen(blob), err), 0);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/c.csv", &info, err), 0);
	CHECK_STR(info.content_type, "text/tab-separated-values");
	CHECK_STR(info.etag, "0123456789abcdef0123456789abcdef");
	obj_info_release(&info);
	fix_close(&f);
}

TEST(delete_prunes_empty_folders_but_not_zones)
{
	char err[TN_ERRLEN], p[600];
	struct store *s;
	CHECK_INT(store_open(test_tmpdir(), NULL, &s, err), 0);
	CHECK_INT(store_create_layout(s, err), 0);
	put(s, "04-user-drop-zone/a/b/c.csv", "1");
	put(s, "04-user-drop-zone/a/keep.csv", "2");
	CHECK_INT(store_delete(s, "04-user-drop-zone/a/b/c.csv", err), 0);
	snprintf(p, sizeof p, "%s/04-user-drop-zone/a/b", test_tmpdir());
	CHECK(!os_exists(p));
	snprintf(p, sizeof p, "%s/04-user-drop-zone/a", test_tmpdir());
	CHECK(os_is_dir(p));
	CHECK_INT(store_delete(s, "04-user-drop-zone/a/keep.csv", err), 0);
	CHECK(!os_exists(p));
	snprintf(p, sizeof p, "%s/04-user-drop-zone", test_tmpdir());
	CHECK(os_is_dir(p));
	/* the fixed folders of the layout stay */
	put(s, "02-transient-zone/01-athena/x.csv", "3");
	CHECK_INT(store_delete(s, "02-transient-zone/01-athena/x.csv", err), 0);
	snprintf(p, sizeof p, "%s/02-transient-zone/01-athena", test_tmpdir());
	CHECK(os_is_dir(p));
	/* a folder is not an object */
	put(s, "04-user-drop-zone/d/e.csv", "4");
	CHECK_INT(store_delete(s, "04-user-drop-zone/d", err), TN_ENOTFOUND);
	store_close(s);
}

TEST(multipart_parts_complete_and_expire)
{
	struct fix f;
	char err[TN_ERRLEN], id[OBJ_UPLOAD_ID_LEN + 1], id2[OBJ_UPLOAD_ID_LEN + 1];
	struct obj_writer *w;
	struct obj_info info;
	enum obj_mpu_fail why;
	fix_open(&f);
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_caller bob = { .name = "bob" };
	CHECK_INT(obj_mpu_create(f.o, &bob, "04-user-drop-zone/m.bin", NULL, id, err), TN_EDENIED);
	CHECK_INT(obj_mpu_create(f.o, &root, "04-user-drop-zone/m.bin", NULL, id, err), 0);
	CHECK_INT(strlen(id), OBJ_UPLOAD_ID_LEN);
	CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/m.bin", id, 1, 0, &w, err), 0);
	CHECK_INT(obj_writer_write(w, "hello ", 6, err), 0);
	CHECK_INT(obj_writer_commit(w, &info, err), 0);
	char e1[OBJ_ETAG_LEN];
	snprintf(e1, sizeof e1, "%s", info.etag);
	obj_info_release(&info);
	/* another key cannot use this upload; an id that is not hex is no upload */
	CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/other", id, 2, 0, &w, err),
		  TN_ENOTFOUND);
	CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/m.bin", "../../x", 2, 0, &w, err),
		  TN_ENOTFOUND);
	CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/m.bin", id, 2, 0, &w, err), 0);
	CHECK_INT(obj_writer_write(w, "world", 5, err), 0);
	CHECK_INT(obj_writer_commit(w, &info, err), 0);
	char e2[OBJ_ETAG_LEN];
	snprintf(e2, sizeof e2, "%s", info.etag);
	obj_info_release(&info);
	/* part 1 is under 5 MiB and not last */
	struct obj_part_ref refs[2] = { { 1, e1 }, { 2, e2 } };
	CHECK_INT(obj_mpu_complete(f.o, &root, "04-user-drop-zone/m.bin", id, refs, 2, &info, &why,
				   err), TN_EINVAL);
	CHECK_INT(why, OBJ_MPU_TOO_SMALL);
	struct obj_part_ref bad[1] = { { 1, "0123" } };
	CHECK_INT(obj_mpu_complete(f.o, &root, "04-user-drop-zone/m.bin", id, bad, 1, &info, &why,
				   err), TN_EINVAL);
	CHECK_INT(why, OBJ_MPU_BAD_PART);
	CHECK_INT(obj_mpu_complete(f.o, &root, "04-user-drop-zone/m.bin", id, refs + 1, 1, &info,
				   &why, err), 0);
	CHECK_INT(info.size, 5);
	CHECK(strstr(info.etag, "-1") != NULL);
	obj_info_release(&info);
	struct obj_part_list pl;
	CHECK_INT(obj_mpu_parts(f.o, &root, "04-user-drop-zone/m.bin", id, &pl, err), TN_ENOTFOUND);
	/* an upload past its age is swept */
	CHECK_INT(obj_mpu_create(f.o, &root, "04-user-drop-zone/n.bin", NULL, id2, err), 0);
	struct obj_upload_list ul;
	CHECK_INT(obj_mpu_list(f.o, &root, "", &ul, err), 0);
	CHECK_INT(ul.n, 1);
	obj_upload_list_release(&ul);
	CHECK_INT(obj_mpu_sweep(f.o, 3600 * 1000), 0);
	CHECK_INT(obj_mpu_sweep(f.o, -1000), 1);
	CHECK_INT(obj_mpu_list(f.o, &root, "", &ul, err), 0);
	CHECK_INT(ul.n, 0);
	obj_upload_list_release(&ul);
	fix_close(&f);
}

/* The hex MD5 of p, for comparing ETags. */
static void md5_hex(const void *p, size_t n, char out[33])
{
	uint8_t md[16];
	crypto_md5(p, n, md);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Writes of a known size between OBJ_HOLD_MIN and OBJ_HOLD_MAX are held in
 * memory and hashed at commit: the ETag is the MD5 of the bytes whether the
 * digest is taken before the commit (Content-MD5) or not, a body longer
 * than announced spills to the disk and stays right, an abort leaves
 * nothing, and more held writes than the budget allows still all commit.
 */
TEST(held_writes_commit_the_right_etag)
{
	struct fix f;
	char err[TN_ERRLEN], want[33], path[700];
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_info info;
	size_t n = (3u << 20) + 77;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	md5_hex(data, n, want);
	fix_open(&f);
	struct obj_put_opts opts = { .size = n };
	struct obj_writer *w;
	/* in uneven pieces, nothing on disk before the commit */
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/held/a.bin", &opts, &w, err), 0);
	for (size_t off = 0, k; off < n; off += k) {
		k = n - off < 100003 ? n - off : 100003;
		CHECK_INT(obj_writer_write(w, data + off, k, err), 0);
	}
	CHECK_INT(obj_writer_size(w), n);
	snprintf(path, sizeof path, "%s/04-user-drop-zone/held", test_tmpdir());
	CHECK(!os_is_dir(path));
	memset(&info, 0, sizeof info);
	CHECK_INT(obj_writer_commit(w, &info, err), 0);
	CHECK_STR(info.etag, want);
	obj_info_release(&info);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/held/a.bin", &info, err), 0);
	CHECK_STR(info.etag, want);
	CHECK_INT(info.size, n);
	obj_info_release(&info);
	/* the digest asked for first (Content-MD5), then the commit */
	uint8_t md[16];
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/held/b.bin", &opts, &w, err), 0);
	CHECK_INT(obj_writer_write(w, data, n, err), 0);
	obj_writer_md5(w, md);
	memset(&info, 0, sizeof info);
	CHECK_INT(obj_writer_commit(w, &info, err), 0);
	CHECK_STR(info.etag, want);
	obj_info_release(&info);
	/* announced shorter than it is: the rest streams, the ETag still covers all */
	struct obj_put_opts shorter = { .size = 200u << 10 };
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/held/c.bin", &shorter, &w, err), 0);
	CHECK_INT(obj_writer_write(w, data, 150u << 10, err), 0);
	CHECK_INT(obj_writer_write(w, data + (150u << 10), n - (150u << 10), err), 0);
	memset(&info, 0, sizeof info);
	CHECK_INT(obj_writer_commit(w, &info, err), 0);
	CHECK_STR(info.etag, want);
	obj_info_release(&info);
	/* an abort leaves nothing, not even the folder */
	CHECK_INT(obj_writer_open(f.o, &root, "04-user-drop-zone/gone/d.bin", &opts, &w, err), 0);
	CHECK_INT(obj_writer_write(w, data, n, err), 0);
	obj_writer_abort(w, "test");
	snprintf(path, sizeof path, "%s/04-user-drop-zone/gone", test_tmpdir());
	CHECK(!os_is_dir(path));
	/* 30 open at once, 8 MiB announced each: past the budget they stream */
	struct obj_put_opts big = { .size = OBJ_HOLD_MAX };
	struct obj_writer *many[30];
	for (int i = 0; i < 30; i++) {
		char key[64];
		snprintf(key, sizeof key, "04-user-drop-zone/held/m%02d.bin", i);
		CHECK_INT(obj_writer_open(f.o, &root, key, &big, &many[i], err), 0);
		CHECK_INT(obj_writer_write(many[i], data, n, err), 0);
	}
	for (int i = 0; i < 30; i++) {
		memset(&info, 0, sizeof info);
		CHECK_INT(obj_writer_commit(many[i], &info, err), 0);
		CHECK_STR(info.etag, want);
		obj_info_release(&info);
	}
	fix_close(&f);
	free(data);
}

/*
 * A blob without an ETag (a held write's commit whose second blob a crash
 * lost) is completed by the first reader from the bytes.
 */
TEST(a_blob_without_etag_is_completed_by_a_reader)
{
	struct fix f;
	char err[TN_ERRLEN], want[33];
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_info info;
	struct buf b = BUF_INIT(0);
	fix_open(&f);
	put(f.s, "04-user-drop-zone/e.csv", "a,b\n1,2\n");
	md5_hex("a,b\n1,2\n", 8, want);
	const char *blob = "{\"s\":8,\"t\":\"text/csv\"}";
	CHECK_INT(store_attr_set(f.s, "04-user-drop-zone/e.csv", blob, strlen(blob), err), 0);
	CHECK_INT(obj_head(f.o, &root, "04-user-drop-zone/e.csv", &info, err), 0);
	CHECK_STR(info.etag, want);
	CHECK_STR(info.content_type, "text/csv");
	obj_info_release(&info);
	CHECK_INT(store_attr_get(f.s, "04-user-drop-zone/e.csv", &b, err), 0);
	CHECK(strstr(b.data, want) != NULL);
	buf_release(&b);
	fix_close(&f);
}

/* Parts of a known size are held too; their ETags are in their blobs before the
 * upload is completed, and the object is the parts end to end. */
TEST(held_parts_complete_with_their_etags)
{
	struct fix f;
	char err[TN_ERRLEN], id[OBJ_UPLOAD_ID_LEN + 1], e[2][33];
	struct obj_caller root = { .name = "root", .admin = true };
	struct obj_writer *w;
	struct obj_info info;
	enum obj_mpu_fail why;
	size_t sz[2] = { OBJ_MIN_PART_SIZE, (1u << 20) + 5 };
	char *data = malloc(sz[0] + sz[1]);
	for (size_t i = 0; i < sz[0] + sz[1]; i++)
		data[i] = (char)(i * 40503u >> 7);
	fix_open(&f);
	CHECK_INT(obj_mpu_create(f.o, &root, "04-user-drop-zone/hp.bin", NULL, id, err), 0);
	for (int p = 0; p < 2; p++) {
		const char *at = data + (p ? sz[0] : 0);
		CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/hp.bin", id, (unsigned)p + 1,
					sz[p], &w, err), 0);
		CHECK_INT(obj_writer_write(w, at, sz[p], err), 0);
		memset(&info, 0, sizeof info);
		CHECK_INT(obj_writer_commit(w, &info, err), 0);
		md5_hex(at, sz[p], e[p]);
		CHECK_STR(info.etag, e[p]);
		obj_info_release(&info);
	}
	struct obj_part_list pl;
	CHECK_INT(obj_mpu_parts(f.o, &root, "04-user-drop-zone/hp.bin", id, &pl, err), 0);
	CHECK_INT(pl.n, 2);
	CHECK_STR(pl.v[0].etag, e[0]);
	CHECK_STR(pl.v[1].etag, e[1]);
	obj_part_list_release(&pl);
	struct obj_part_ref refs[2] = { { 1, e[0] }, { 2, e[1] } };
	CHECK_INT(obj_mpu_complete(f.o, &root, "04-user-drop-zone/hp.bin", id, refs, 2, &info, &why,
				   err), 0);
	CHECK(strstr(info.etag, "-2") != NULL);
	obj_info_release(&info);
	struct buf b = BUF_INIT(0);
	CHECK_INT(store_get(f.s, "04-user-drop-zone/hp.bin", 8u << 20, &b, err), 0);
	CHECK(b.len == sz[0] + sz[1] && !memcmp(b.data, data, b.len));
	buf_release(&b);
	/* a held part whose upload is aborted while it arrives is refused, and the
	 * upload's folder does not come back */
	char path[700];
	CHECK_INT(obj_mpu_create(f.o, &root, "04-user-drop-zone/hq.bin", NULL, id, err), 0);
	CHECK_INT(obj_part_open(f.o, &root, "04-user-drop-zone/hq.bin", id, 1, sz[1], &w, err), 0);
	CHECK_INT(obj_writer_write(w, data, sz[1], err), 0);
	CHECK_INT(obj_mpu_abort(f.o, &root, "04-user-drop-zone/hq.bin", id, err), 0);
	CHECK_INT(obj_writer_commit(w, &info, err), TN_ENOTFOUND);
	snprintf(path, sizeof path, "%s/.tarn/uploads/%s", test_tmpdir(), id);
	CHECK(!os_is_dir(path));
	fix_close(&f);
	free(data);
}
