/*
 * TarnMeta - prints what pgjdbc's DatabaseMetaData answers, for the
 * PostgreSQL endpoint's catalog test (tests/integration/test_pg_catalog.py).
 *
 * usage: java -cp postgresql.jar:DIR TarnMeta URL USER PASSWORD TABLE_SCHEMA TABLE
 *
 * Output: one line per row, "section<TAB>value<TAB>value...", so the test
 * compares rows, not a rendering.  Sections: catalogs, tabletypes,
 * schemas, tables, columns (of TABLE_SCHEMA.TABLE), pkeys, types, prepared
 * (the tables of TABLE_SCHEMA through a catalog query with parameters),
 * rsmeta (the ResultSetMetaData of SELECT * FROM TABLE_SCHEMA.TABLE
 * LIMIT 0; rsmeta_error and the SQLSTATE when it is refused), product.
 * Exits 1 with the exception on any other failure.
 */
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class TarnMeta {
	private static void dump(String section, ResultSet rs, String... cols) throws Exception {
		while (rs.next()) {
			StringBuilder b = new StringBuilder(section);
			for (String c : cols) {
				b.append('\t');
				b.append(rs.getString(c));
			}
			System.out.println(b);
		}
		rs.close();
	}

	public static void main(String[] args) throws Exception {
		Properties p = new Properties();
		p.setProperty("user", args[1]);
		p.setProperty("password", args[2]);
		String schema = args[3], table = args[4];
		try (Connection c = DriverManager.getConnection(args[0], p)) {
			DatabaseMetaData md = c.getMetaData();
			System.out.println("product\t" + md.getDatabaseProductName() + "\t"
					   + md.getDatabaseProductVersion());
			dump("catalogs", md.getCatalogs(), "TABLE_CAT");
			dump("tabletypes", md.getTableTypes(), "TABLE_TYPE");
			dump("schemas", md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG");
			dump("tables", md.getTables(null, null, "%", new String[] { "TABLE", "VIEW" }),
			     "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS");
			dump("columns", md.getColumns(null, schema, table, "%"), "TABLE_SCHEM",
			     "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
			     "DECIMAL_DIGITS", "NULLABLE", "REMARKS", "ORDINAL_POSITION");
			dump("pkeys", md.getPrimaryKeys(null, schema, table), "COLUMN_NAME");
			dump("types", md.getTypeInfo(), "TYPE_NAME", "DATA_TYPE");
			/* a catalog query with a parameter ($1 on the wire), as newer drivers send */
			try (PreparedStatement ps = c.prepareStatement(
				     "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
				     + "ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname LIKE ? "
				     + "ORDER BY 1")) {
				ps.setString(1, schema);
				ps.setString(2, "%");
				dump("prepared", ps.executeQuery(), "relname");
			}
			try (Statement st = c.createStatement();
			     ResultSet rs = st.executeQuery("SELECT * FROM " + schema + "." + table
							    + " LIMIT 0")) {
				ResultSetMetaData m = rs.getMetaData();
				for (int i = 1; i <= m.getColumnCount(); i++)
					System.out.println("rsmeta\t" + m.getColumnName(i) + "\t"
							   + m.getColumnType(i) + "\t"
							   + m.getColumnTypeName(i));
			} catch (SQLException e) {
				System.out.println("rsmeta_error\t" + e.getSQLState());
			}
		}
	}
}
