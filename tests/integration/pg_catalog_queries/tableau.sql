-- Tableau cannot be installed here.  Tableau's PostgreSQL connector runs pgjdbc
-- (jdbc.sql); older versions, through psqlODBC (odbc.sql), were reported to list
-- columns with the first statement below (treasure-data/prestogres issue 29).  The
-- rest are the connection probes BI tools send.
-- name: columns
select table_schema, table_name, column_name, is_nullable, data_type from information_schema.columns
-- name: version
SELECT version()
-- name: current_schema
SELECT current_schema()
-- name: current_database
SELECT current_database()
-- name: current_user
SELECT current_user
-- name: current_schemas
SELECT current_schemas(true)
-- name: tables
SELECT table_schema, table_name, table_type FROM information_schema.tables
-- name: schemata
SELECT schema_name FROM information_schema.schemata
