/*
 * cmd_audit.c - `tarn audit verify DIR` and `tarn audit tail DIR [-n N]`:
 * the audit trail of a lake, read from its files (no server needed; an
 * auditor may run it on a copy of log/audit/).
 */
#include "cli/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/os.h"
#include "policy/audit.h"
#include "store/store.h"
#include "core/banned.h"

static const char audit_usage[] =
	"usage: tarn audit verify DIR\n"
	"       tarn audit tail DIR [-n N]\n"
	"\n"
	"The lake's audit trail: log/audit/YYYY/MM/DD/audit.jsonl, one JSON event per\n"
	"line (authentications, denials, queries, user, role, key, grant, mask and tag\n"
	"changes), each carrying the SHA-256 of the line before it.  verify checks the\n"
	"whole chain and names the first line that was edited, inserted or removed\n"
	"(exit 1); tail prints the last N events (default 20).  Admins can also query\n"
	"the table log.audit once crawled.\n";

/* <lake>/<zones.log>/audit */
static int audit_dir(const char *lake, char *out, size_t n, char *err)
{
	struct tn_config cfg;
	char yaml[PATH_MAX];
	config_defaults(&cfg);
	snprintf(yaml, sizeof yaml, "%s/tarn.yaml", lake);
	if (!os_exists(yaml))
		return tn_fail(err, TN_ENOTFOUND, "'%s' is not a lake (no tarn.yaml)", lake);
	int rc = config_load(&cfg, yaml, err);
	if (rc)
		return rc;
	snprintf(out, n, "%s/%s/audit", lake, cfg.zone_dirs[ZONE_LOG]);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	char err[TN_ERRLEN], dir[PATH_MAX];
	if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(audit_usage, argc < 3 && !(argc == 2 && !strcmp(argv[1], "--help")) ? stderr
											   : stdout);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (audit_dir(argv[2], dir, sizeof dir, err))
		return cli_error("%s", err);
	if (!strcmp(argv[1], "verify") && argc == 3) {
		uint64_t lines = 0;
		if (audit_verify(dir, &lines, err)) {
			cli_error("audit trail broken: %s", err);
			return 1;
		}
		printf("audit trail intact: %llu events\n", (unsigned long long)lines);
		return 0;
	}
	if (!strcmp(argv[1], "tail")) {
		uint64_t n = 20;
		if (argc == 5 && !strcmp(argv[3], "-n")) {
			if (cli_parse_u64(argv[4], false, &n) || n == 0)
				return cli_usage_error(audit_usage, "-n takes a positive number");
		} else if (argc != 3) {
			return cli_usage_error(audit_usage, "tail takes DIR and -n N");
		}
		struct buf all = BUF_INIT(0);
		uint64_t lines = 0;
		if (audit_verify(dir, &lines, err))
			fprintf(stderr, "tarn: warning: %s\n", err);
		int rc = audit_tail(dir, (size_t)n, &all, err);
		if (rc) {
			buf_release(&all);
			return cli_error("%s", err);
		}
		fwrite(all.data, 1, all.len, stdout);
		buf_release(&all);
		return 0;
	}
	return cli_usage_error(audit_usage, "unknown verb '%s'", argv[1]);
}
