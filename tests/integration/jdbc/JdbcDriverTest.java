/*
 * JdbcDriverTest - drives a PostgreSQL-protocol server with pgjdbc (Debian's
 * libpostgresql-jdbc-java) the way a Java application or BI tool does:
 * SCRAM login, PreparedStatement parameters of the common Java types,
 * ResultSetMetaData, binary transfer on server-prepared statements,
 * cursor-style fetching with setFetchSize, errors on a live connection, and
 * a governed user refused a table.
 *
 * tests/integration/test_pg_jdbc.py compiles and runs it against tarn.  It
 * also passes unchanged against PostgreSQL 15 (given the same two tables
 * and users), whose answers its expectations are: type names, precision,
 * scale, which columns pgjdbc 42.5 receives in binary.
 *
 * Configuration, from the environment:
 *   PG_URL            jdbc:postgresql://127.0.0.1:PORT/DB
 *   PG_USER, PG_PASSWORD                   a user who may read every table
 *   PG_DENIED_USER, PG_DENIED_PASSWORD     a user granted PG_BIG_TABLE only
 *   PG_BIG_TABLE      SCHEMA.TABLE of PG_BIG_ROWS rows: id BIGINT 0..N-1,
 *                     label VARCHAR 'row <id>'
 *   PG_BIG_ROWS       its row count
 *   PG_DENIED_TABLE   SCHEMA.TABLE the denied user has no grant on
 *
 *   JDBC_WIRE         if set, every protocol message pgjdbc logs goes to stderr
 *
 * Output: one line "ok CHECK" per check passed, then "ALL OK".  The first
 * mismatch prints "MISMATCH CHECK: what" and exits 1; any other exception
 * prints "ERROR CHECK: ..." and exits 2.
 */
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.sql.Types;
import java.text.MessageFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.postgresql.PGResultSetMetaData;
import org.postgresql.PGStatement;

public class JdbcDriverTest {
    static class Mismatch extends RuntimeException {
        Mismatch(String m) { super(m); }
    }

    /* pgjdbc logs every protocol message at FINEST: the checks read them. */
    static final List<String> wire = new ArrayList<>();
    static final Logger pgLogger = Logger.getLogger("org.postgresql");

    static String check = "setup";
    /* JDBC_WIRE=1 prints every protocol message pgjdbc logs, on stderr. */
    static final boolean TRACE = System.getenv("JDBC_WIRE") != null;

    static void eq(Object got, Object want, String what) {
        boolean same = got == null ? want == null
                : (got instanceof byte[] && want instanceof byte[])
                        ? Arrays.equals((byte[]) got, (byte[]) want) : got.equals(want);
        if (!same)
            throw new Mismatch(what + ": got " + show(got) + ", want " + show(want));
    }

    static void that(boolean cond, String what) {
        if (!cond)
            throw new Mismatch(what);
    }

    static String show(Object o) {
        if (o instanceof byte[])
            return Arrays.toString((byte[]) o);
        return o == null ? "null" : "'" + o + "' (" + o.getClass().getSimpleName() + ")";
    }

    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty())
            throw new IllegalArgumentException("environment variable " + name + " is not set");
        return v;
    }

    static int wireCount(String needle) {
        int n = 0;
        synchronized (wire) {
            for (String s : wire)
                if (s.contains(needle))
                    n++;
        }
        return n;
    }

    static void wireReset() {
        synchronized (wire) {
            wire.clear();
        }
    }

    static Connection connect(String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        /* Named server statements from the first use, binary results after. */
        p.setProperty("prepareThreshold", "1");
        p.setProperty("binaryTransfer", "true");
        p.setProperty("ApplicationName", "tarn-jdbc-test");
        p.setProperty("connectTimeout", "20");
        p.setProperty("socketTimeout", "120");
        return DriverManager.getConnection(env("PG_URL"), p);
    }

    static String sqlState(SQLException e) {
        return e.getSQLState() == null ? "(none)" : e.getSQLState();
    }

    /* ---- SCRAM login, and a wrong password refused ---------------------- */

    static void checkLogin() throws SQLException {
        check = "scram_login";
        wireReset();
        try (Connection c = connect(env("PG_USER"), env("PG_PASSWORD"));
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1 AS one")) {
            that(rs.next(), "SELECT 1 returned no row");
            eq(rs.getInt(1), 1, "SELECT 1");
        }
        that(wireCount("<=BE AuthenticationSASLContinue") >= 1 && wireCount("<=BE AuthenticationSASLFinal") == 1,
             "the login was not a SCRAM exchange: " + authLines());
        that(wireCount("AuthenticationReqPassword") == 0 && wireCount("AuthenticationReqMD5") == 0,
             "the server asked for a cleartext or MD5 password");
        that(wireCount("<=BE AuthenticationOk") == 1, "no AuthenticationOk after SCRAM");
        System.out.println("ok " + check);

        check = "wrong_password";
        try (Connection c = connect(env("PG_USER"), env("PG_PASSWORD") + "-wrong")) {
            throw new Mismatch("a wrong password was accepted");
        } catch (SQLException e) {
            eq(sqlState(e), "28P01", "SQLState of a wrong password (" + e.getMessage() + ")");
        }
        System.out.println("ok " + check);
    }

    static String authLines() {
        StringBuilder b = new StringBuilder();
        synchronized (wire) {
            for (String s : wire)
                if (s.contains("Authentication") || s.contains("ErrorMessage"))
                    b.append(s.trim()).append("; ");
        }
        return b.toString();
    }

    /* ---- PreparedStatement parameters and ResultSetMetaData ------------- */

    static final String TYPES_SQL = "SELECT CAST(? AS INTEGER) AS c_int, CAST(? AS BIGINT) AS c_long, "
            + "CAST(? AS DOUBLE PRECISION) AS c_double, CAST(? AS NUMERIC(18,4)) AS c_numeric, "
            + "CAST(? AS BOOLEAN) AS c_bool, CAST(? AS VARCHAR) AS c_text, CAST(? AS DATE) AS c_date, "
            + "CAST(? AS TIME) AS c_time, CAST(? AS TIMESTAMP) AS c_ts, CAST(? AS UUID) AS c_uuid, "
            + "CAST(? AS BYTEA) AS c_bytes";

    /*
     * What PostgreSQL 15 answers for TYPES_SQL through pgjdbc 42.5: column
     * name, java.sql.Types, type name, precision, scale, and whether pgjdbc
     * receives the column in binary once the statement is server-prepared.
     */
    static final Object[][] TYPES_META = {
        {"c_int", Types.INTEGER, "int4", 10, 0, true},
        {"c_long", Types.BIGINT, "int8", 19, 0, true},
        {"c_double", Types.DOUBLE, "float8", 17, 17, true},
        {"c_numeric", Types.NUMERIC, "numeric", 18, 4, true},
        {"c_bool", Types.BIT, "bool", 1, 0, false},
        {"c_text", Types.VARCHAR, "varchar", 2147483647, 0, false},
        {"c_date", Types.DATE, "date", 13, 0, true},
        {"c_time", Types.TIME, "time", 15, 6, true},
        {"c_ts", Types.TIMESTAMP, "timestamp", 29, 6, true},
        {"c_uuid", Types.OTHER, "uuid", 2147483647, 0, true},
        {"c_bytes", Types.BINARY, "bytea", 2147483647, 0, true},
    };

    static class Row {
        int i; long l; double d; BigDecimal n; boolean b; String s;
        Date date; Time time; Timestamp ts; UUID uuid; byte[] bytes;
    }

    static Row row(int k) {
        Row r = new Row();
        r.i = k % 2 == 0 ? 2147483600 + k : -17 * k;
        r.l = k % 2 == 0 ? 9_007_199_254_740_993L + k : -5_000_000_000L * k;
        r.d = k % 2 == 0 ? 3.141592653589793 * (k + 1) : -1.0e-300 * (k + 1);
        r.n = new BigDecimal(k % 2 == 0 ? "12345678901234.5678" : "-0.0001").add(BigDecimal.valueOf(k));
        r.n = r.n.setScale(4);
        r.b = k % 2 == 0;
        r.s = "naïve café ☕ 'quoted' \"double\" \\ line" + k;
        r.date = Date.valueOf(k % 2 == 0 ? "2024-02-29" : "1999-12-31");
        r.time = Time.valueOf(k % 2 == 0 ? "23:59:58" : "00:00:01");
        r.ts = Timestamp.valueOf(k % 2 == 0 ? "2026-04-16 15:55:40.123456" : "1970-01-01 00:00:00");
        r.uuid = UUID.fromString(String.format("eebd114b-d872-46d1-b50c-3ff1e7d7e8%02x", k));
        r.bytes = new byte[] {0, 1, (byte) 0xff, (byte) 0x80, 'x', (byte) k, '\\', 0};
        return r;
    }

    static void checkTypes(Connection c) throws SQLException {
        check = "prepared_parameters";
        wireReset();
        try (PreparedStatement ps = c.prepareStatement(TYPES_SQL)) {
            for (int k = 0; k < 5; k++) {
                Row r = row(k);
                int p = 1;
                ps.setInt(p++, r.i);
                ps.setLong(p++, r.l);
                ps.setDouble(p++, r.d);
                ps.setBigDecimal(p++, r.n);
                ps.setBoolean(p++, r.b);
                ps.setString(p++, r.s);
                ps.setDate(p++, r.date);
                ps.setTime(p++, r.time);
                ps.setTimestamp(p++, r.ts);
                ps.setObject(p++, r.uuid);
                ps.setBytes(p++, r.bytes);
                try (ResultSet rs = ps.executeQuery()) {
                    that(rs.next(), "execution " + k + ": no row");
                    String at = "execution " + k + " ";
                    eq(rs.getInt("c_int"), r.i, at + "int");
                    eq(rs.getLong("c_long"), r.l, at + "long");
                    eq(rs.getDouble("c_double"), r.d, at + "double");
                    eq(rs.getBigDecimal("c_numeric"), r.n, at + "BigDecimal");
                    eq(rs.getBoolean("c_bool"), r.b, at + "boolean");
                    eq(rs.getString("c_text"), r.s, at + "String");
                    eq(rs.getDate("c_date").toString(), r.date.toString(), at + "Date");
                    eq(rs.getTime("c_time").toString(), r.time.toString(), at + "Time");
                    eq(rs.getTimestamp("c_ts"), r.ts, at + "Timestamp");
                    eq(rs.getObject("c_uuid", UUID.class), r.uuid, at + "UUID");
                    eq(rs.getBytes("c_bytes"), r.bytes, at + "byte[]");
                    checkMeta(rs.getMetaData(), at, k >= 2);
                    that(!rs.next(), at + "more than one row");
                }
            }
            /* NULL of every type, through the same (now binary) statement. */
            int[] sqlTypes = {Types.INTEGER, Types.BIGINT, Types.DOUBLE, Types.NUMERIC, Types.BOOLEAN,
                              Types.VARCHAR, Types.DATE, Types.TIME, Types.TIMESTAMP, Types.OTHER,
                              Types.BINARY};
            for (int p = 0; p < sqlTypes.length; p++)
                ps.setNull(p + 1, sqlTypes[p]);
            try (ResultSet rs = ps.executeQuery()) {
                that(rs.next(), "NULL parameters: no row");
                for (int p = 1; p <= sqlTypes.length; p++) {
                    eq(rs.getObject(p), null, "NULL parameter " + p);
                    that(rs.wasNull(), "wasNull after NULL parameter " + p);
                }
            }
            System.out.println("ok " + check);

            check = "binary_transfer";
            that(ps.unwrap(PGStatement.class).isUseServerPrepare(),
                 "pgjdbc did not switch to a server-prepared statement");
            that(wireCount("FE=> Parse(stmt=S_") >= 1, "no Parse of a named statement was sent");
        }
        System.out.println("ok " + check);
    }

    static void checkMeta(ResultSetMetaData md, String at, boolean binary) throws SQLException {
        eq(md.getColumnCount(), TYPES_META.length, at + "column count");
        PGResultSetMetaData pmd = md.unwrap(PGResultSetMetaData.class);
        for (int i = 0; i < TYPES_META.length; i++) {
            Object[] m = TYPES_META[i];
            int col = i + 1;
            String w = at + "column " + m[0] + " ";
            eq(md.getColumnLabel(col), m[0], w + "label");
            eq(md.getColumnType(col), m[1], w + "getColumnType");
            String name = md.getColumnTypeName(col);
            /* A string column may be described as text or varchar. */
            if (m[0].equals("c_text"))
                that(name.equals("varchar") || name.equals("text"),
                     w + "getColumnTypeName: got '" + name + "', want varchar or text");
            else
                eq(name, m[2], w + "getColumnTypeName");
            if (!m[0].equals("c_text"))
                eq(md.getPrecision(col), m[3], w + "getPrecision");
            eq(md.getScale(col), m[4], w + "getScale");
            if (binary)
                eq(pmd.getFormat(col), (Boolean) m[5] ? 1 : 0,
                   w + "format (1 binary, 0 text) on a server-prepared statement");
        }
    }

    /* ---- parameters against a table, and cursor-style fetching ---------- */

    static void checkTableParams(Connection c, String big, long rows) throws SQLException {
        check = "table_parameters";
        String sql = "SELECT id, label FROM " + big + " WHERE id >= ? AND id < ? AND label <> ? ORDER BY id";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int k = 0; k < 4; k++) {
                long lo = (rows / 7) * k, hi = lo + 50 + k;
                ps.setLong(1, lo);
                ps.setLong(2, hi);
                ps.setString(3, "row " + (lo + 3));
                long want = lo, n = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (want == lo + 3)
                            want++;
                        eq(rs.getLong(1), want, "execution " + k + " id");
                        eq(rs.getString(2), "row " + want, "execution " + k + " label");
                        want++;
                        n++;
                    }
                }
                eq(n, hi - lo - 1, "execution " + k + " rows");
            }
        }
        System.out.println("ok " + check);
    }

    static void checkFetchSize(Connection c, String big, long rows) throws SQLException {
        check = "fetch_size_cursor";
        final int fetch = 1000;
        c.setAutoCommit(false);
        /* A plain Statement, then a PreparedStatement run twice (binary rows). */
        for (int run = 0; run < 3; run++) {
            wireReset();
            String sql = "SELECT id, label FROM " + big + " ORDER BY id";
            Statement st = run == 0 ? c.createStatement() : c.prepareStatement(sql);
            st.setFetchSize(fetch);
            long n = 0;
            try (ResultSet rs = run == 0 ? st.executeQuery(sql) : ((PreparedStatement) st).executeQuery()) {
                that(rs.getFetchSize() == fetch, "fetch size not kept");
                while (rs.next()) {
                    if (rs.getLong(1) != n)
                        eq(rs.getLong(1), n, "run " + run + " id at row " + n);
                    if (n % 997 == 0)
                        eq(rs.getString(2), "row " + n, "run " + run + " label at row " + n);
                    n++;
                }
            } finally {
                st.close();
            }
            eq(n, rows, "run " + run + " rows fetched");
            long suspended = wireCount("<=BE PortalSuspended");
            long limited = wireCount("FE=> Execute(portal=C_");
            long wantBatches = (rows + fetch - 1) / fetch;
            that(suspended >= wantBatches - 1,
                 "run " + run + ": " + suspended + " PortalSuspended for " + rows + " rows in batches of "
                 + fetch + " (want at least " + (wantBatches - 1) + "): rows did not come in batches");
            that(limited >= wantBatches,
                 "run " + run + ": " + limited + " Execute messages on a named portal, want at least "
                 + wantBatches);
            that(wireCount(",limit=" + fetch + ")") >= wantBatches,
                 "run " + run + ": Execute did not carry the row limit " + fetch);
        }
        c.commit();
        c.setAutoCommit(true);
        System.out.println("ok " + check);
    }

    /* ---- errors leave the connection usable ----------------------------- */

    static void checkErrors(Connection c, String big) throws SQLException {
        check = "error_then_good_statement";
        String[][] bad = {
            {"SELECT * FROM " + big.substring(0, big.indexOf('.') + 1) + "no_such_table_x", "42P01"},
            {"SELEC 1", "42601"},
        };
        for (String[] b : bad) {
            for (int prepared = 0; prepared < 2; prepared++) {
                try {
                    if (prepared == 1) {
                        try (PreparedStatement ps = c.prepareStatement(b[0])) {
                            ps.executeQuery();
                        }
                    } else {
                        try (Statement st = c.createStatement()) {
                            st.executeQuery(b[0]);
                        }
                    }
                    throw new Mismatch("'" + b[0] + "' did not fail");
                } catch (SQLException e) {
                    eq(sqlState(e), b[1], "SQLState of '" + b[0] + "' (" + e.getMessage() + ")");
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + big + " WHERE id < ?")) {
                    ps.setInt(1, 10);
                    try (ResultSet rs = ps.executeQuery()) {
                        that(rs.next(), "no row after an error");
                        eq(rs.getLong(1), 10L, "count after an error");
                    }
                }
            }
        }
        /* Inside a transaction: the error, a rollback, then a good statement. */
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            try {
                st.executeQuery("SELECT 1 / 0 AS x, * FROM no_such_table_y");
                throw new Mismatch("a statement on a missing table did not fail");
            } catch (SQLException e) {
                that(e.getSQLState() != null && !e.getSQLState().isEmpty(), "an error without an SQLState");
            }
            c.rollback();
            try (ResultSet rs = st.executeQuery("SELECT 42 AS answer")) {
                that(rs.next(), "no row after a rollback");
                eq(rs.getInt(1), 42, "after a rollback");
            }
            c.commit();
        }
        c.setAutoCommit(true);
        System.out.println("ok " + check);
    }

    /* ---- governance: a user denied a table ------------------------------ */

    static void checkDenied(String big, long rows) throws SQLException {
        check = "denied_table_42501";
        String denied = env("PG_DENIED_TABLE");
        try (Connection c = connect(env("PG_DENIED_USER"), env("PG_DENIED_PASSWORD"))) {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + big)) {
                that(rs.next(), "the granted table gave no row");
                eq(rs.getLong(1), rows, "the denied user's count of the granted table");
            }
            for (int prepared = 0; prepared < 2; prepared++) {
                try {
                    if (prepared == 1) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM " + denied + " WHERE 1 = ?")) {
                            ps.setInt(1, 1);
                            ps.executeQuery();
                        }
                    } else {
                        try (Statement st = c.createStatement()) {
                            st.executeQuery("SELECT * FROM " + denied);
                        }
                    }
                    throw new Mismatch("the denied user read " + denied);
                } catch (SQLException e) {
                    eq(sqlState(e), "42501", "SQLState of a denied read (" + e.getMessage() + ")");
                }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 7 AS seven")) {
                that(rs.next(), "no row after a denied read");
                eq(rs.getInt(1), 7, "after a denied read");
            }
        }
        System.out.println("ok " + check);
    }

    public static void main(String[] args) {
        pgLogger.setUseParentHandlers(false);
        pgLogger.setLevel(Level.FINEST);
        pgLogger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                String m = r.getMessage();
                if (m == null)
                    return;
                Object[] params = r.getParameters();
                if (params != null && params.length > 0) {
                    Object[] plain = new Object[params.length];
                    for (int i = 0; i < params.length; i++)
                        plain[i] = String.valueOf(params[i]);   /* 1000, not 1,000 */
                    try {
                        m = MessageFormat.format(m, plain);
                    } catch (IllegalArgumentException e) {
                        /* keep the raw message */
                    }
                }
                if (TRACE)
                    System.err.println(m);
                synchronized (wire) {
                    if (wire.size() < 2_000_000)
                        wire.add(m);
                }
            }
            @Override public void flush() {}
            @Override public void close() {}
        });
        try {
            String big = env("PG_BIG_TABLE");
            long rows = Long.parseLong(env("PG_BIG_ROWS"));
            checkLogin();
            try (Connection c = connect(env("PG_USER"), env("PG_PASSWORD"))) {
                checkTypes(c);
                checkTableParams(c, big, rows);
                checkFetchSize(c, big, rows);
                checkErrors(c, big);
            }
            checkDenied(big, rows);
            System.out.println("ALL OK");
            System.exit(0);
        } catch (Mismatch m) {
            System.out.println("MISMATCH " + check + ": " + m.getMessage());
            System.exit(1);
        } catch (Exception e) {
            System.out.println("ERROR " + check + ": " + e);
            e.printStackTrace(System.out);
            System.exit(2);
        }
    }
}
