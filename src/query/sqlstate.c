/*
 * sqlstate.c - the PostgreSQL SQLSTATE of a failed query: one table from
 * DuckDB's error classes (refined by their messages where one class covers
 * several conditions) and one from tarn's codes.  The README's "SQLSTATE"
 * table lists them.  Pure functions; any thread.
 */
#include <duckdb.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "query/query.h"
#include "query/query_int.h"
#include "core/banned.h"

void query_set_state(struct query_stats *st, const char *state)
{
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", state);
}

/* DuckDB's error classes as its messages name them ("Catalog Error: ..."). */
static const struct {
	const char *prefix;
	duckdb_error_type et;
} duck_classes[] = {
	{ "Parser Error: ", DUCKDB_ERROR_PARSER },
	{ "Syntax Error: ", DUCKDB_ERROR_SYNTAX },
	{ "Catalog Error: ", DUCKDB_ERROR_CATALOG },
	{ "Binder Error: ", DUCKDB_ERROR_BINDER },
	{ "Conversion Error: ", DUCKDB_ERROR_CONVERSION },
	{ "Out of Range Error: ", DUCKDB_ERROR_OUT_OF_RANGE },
	{ "Mismatch Type Error: ", DUCKDB_ERROR_MISMATCH_TYPE },
	{ "Invalid type Error: ", DUCKDB_ERROR_INVALID_TYPE },
	{ "Divide by Zero Error: ", DUCKDB_ERROR_DIVIDE_BY_ZERO },
	{ "Not implemented Error: ", DUCKDB_ERROR_NOT_IMPLEMENTED },
	{ "Invalid Input Error: ", DUCKDB_ERROR_INVALID_INPUT },
	{ "Decimal Error: ", DUCKDB_ERROR_DECIMAL },
	{ "IO Error: ", DUCKDB_ERROR_IO },
	{ "Parameter Not Resolved Error: ", DUCKDB_ERROR_PARAMETER_NOT_RESOLVED },
	{ "INTERRUPT Error: ", DUCKDB_ERROR_INTERRUPT },
	{ "Out of Memory Error: ", DUCKDB_ERROR_OUT_OF_MEMORY },
	{ "Permission Error: ", DUCKDB_ERROR_PERMISSION },
};

/* The class of a message that comes without one (a failed prepare). */
duckdb_error_type query_duck_class(const char *msg)
{
	for (size_t i = 0; i < sizeof duck_classes / sizeof duck_classes[0]; i++)
		if (!strncmp(msg, duck_classes[i].prefix, strlen(duck_classes[i].prefix)))
			return duck_classes[i].et;
	return DUCKDB_ERROR_INVALID;
}

/*
 * The SQLSTATE of a DuckDB error: its class, refined by the message
 * where one class covers several PostgreSQL conditions (a catalog error
 * names a table, a function, a schema or a type).
 */
const char *query_duck_sqlstate(duckdb_error_type et, const char *msg)
{
	if (strstr(msg, "Division by zero") || strstr(msg, "division by zero"))
		return "22012";
	if (strstr(msg, "expression depth limit"))
		return "54001";
	switch (et) {
	case DUCKDB_ERROR_PARSER:
	case DUCKDB_ERROR_SYNTAX:
		return "42601";
	case DUCKDB_ERROR_CATALOG:
		if (strstr(msg, "Function with name") || strstr(msg, "Macro Function with name"))
			return "42883";
		if (strstr(msg, "Schema with name") || strstr(msg, "Catalog with name") ||
		    strstr(msg, "Catalog \""))
			return "3F000";
		if (strstr(msg, "Type with name"))
			return "42704";
		return "42P01";
	case DUCKDB_ERROR_BINDER:
		if (strstr(msg, "Referenced column") || strstr(msg, "does not have a column") ||
		    strstr(msg, "not found in FROM clause"))
			return "42703";
		if (strstr(msg, "Referenced table"))
			return "42P01";
		if (strstr(msg, "No function matches") || strstr(msg, "best candidate function"))
			return "42883";
		if (strstr(msg, "GROUP BY"))
			return "42803";
		return "42000";
	case DUCKDB_ERROR_MISMATCH_TYPE:
	case DUCKDB_ERROR_INVALID_TYPE:
		return "42804";
	case DUCKDB_ERROR_CONVERSION:
		if (strstr(msg, "Unimplemented type for cast"))
			return "42846";
		if (strstr(msg, "field value out of range"))
			return "22008";
		if (strstr(msg, "out of range"))
			return "22003";
		return "22P02";
	case DUCKDB_ERROR_OUT_OF_RANGE:
	case DUCKDB_ERROR_DECIMAL:
		return "22003";
	case DUCKDB_ERROR_DIVIDE_BY_ZERO:
		return "22012";
	case DUCKDB_ERROR_NOT_IMPLEMENTED:
		return "0A000";
	case DUCKDB_ERROR_INVALID_INPUT:
		return "22023";
	case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
		return "42P18";
	case DUCKDB_ERROR_INTERRUPT:
		return "57014";
	case DUCKDB_ERROR_OUT_OF_MEMORY:
		return "53200";
	case DUCKDB_ERROR_PERMISSION:
		return "42501";
	case DUCKDB_ERROR_IO:
		return "58030";
	default:
		return "XX000";
	}
}

const char *query_sqlstate(int rc, const char *err)
{
	switch (rc) {
	case 0:
		return "00000";
	case TN_EINVAL:
		return err && strstr(err, "expression depth limit") ? "54001" : "42601";
	case TN_ENOTFOUND:
		return err && strstr(err, "database '") ? "3F000" : "42P01";
	case TN_EDENIED:
		return "42501";
	case TN_ECANCELED:
	case TN_ETIMEDOUT:
		return "57014";
	case TN_ETOOBIG:
		return err && strstr(err, "out of memory") ? "53200" : "54000";
	case TN_EAGAIN:
		return "53300";
	case TN_EUNSUPPORTED:
		return "0A000";
	case TN_ECONFLICT:
		return err && strstr(err, " exists") ? "42P07" : "55000";
	case TN_ENOSPC:
		return "53100";
	case TN_EIO:
		return "58030";
	default:
		return "XX000";
	}
}
