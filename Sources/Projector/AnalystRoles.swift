import Postgres

/// PostgreSQL roles for analysts: they read the analytics and every read
/// model, but no column that holds personal data (a column whose comment is
/// `pii`, as `Projections/README.md` requires of every PII column), and no
/// view built on one. The roles are listed in `careerlog.analyst_roles`;
/// every schema the projector creates (live, shadow, as-of) is granted to
/// them when it is created, so a rebuild's swap keeps the grants.
public enum AnalystRoles {
    /// PostgreSQL's identifier limit (NAMEDATALEN - 1).
    public static let nameBytesMax = 63

    static let ddl = """

        CREATE TABLE IF NOT EXISTS careerlog.analyst_roles (
            role_name text PRIMARY KEY,
            granted_at timestamptz NOT NULL DEFAULT now()
        );
        -- Grants SELECT on the non-PII columns of every table, view and
        -- materialized view of target_schema to every analyst role that
        -- exists. A view that reads any PII column gets no grant at all.
        CREATE OR REPLACE FUNCTION careerlog.grant_analyst_reads(target_schema text) RETURNS void
        LANGUAGE plpgsql AS $grant$
        DECLARE
            analyst record;
            relation record;
            readable text;
        BEGIN
            FOR analyst IN SELECT a.role_name FROM careerlog.analyst_roles a
                           JOIN pg_roles r ON r.rolname = a.role_name ORDER BY 1 LOOP
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', target_schema, analyst.role_name);
                FOR relation IN SELECT c.oid, c.relname, c.relkind FROM pg_class c
                                JOIN pg_namespace n ON n.oid = c.relnamespace
                                WHERE n.nspname = target_schema AND c.relkind IN ('r', 'p', 'v', 'm') LOOP
                    IF relation.relkind IN ('v', 'm') AND EXISTS (
                        SELECT 1 FROM pg_rewrite rw
                        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                        WHERE rw.ev_class = relation.oid AND d.refclassid = 'pg_class'::regclass
                          AND d.refobjsubid > 0 AND col_description(d.refobjid, d.refobjsubid) = 'pii') THEN
                        CONTINUE;
                    END IF;
                    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO readable
                    FROM pg_attribute a
                    WHERE a.attrelid = relation.oid AND a.attnum > 0 AND NOT a.attisdropped
                      AND coalesce(col_description(relation.oid, a.attnum), '') <> 'pii';
                    IF readable IS NOT NULL THEN
                        EXECUTE format('GRANT SELECT (%s) ON %I.%I TO %I', readable, target_schema, relation.relname, analyst.role_name);
                    END IF;
                END LOOP;
            END LOOP;
        END
        $grant$;
        """

    /// Why `name` cannot be an analyst role; nil when it can. Lower-case
    /// letters, digits and `_`, starting with a letter or `_`, so it needs
    /// no quoting in psql; never a `pg_` role or the projector's own.
    public static func problem(name: String, owner: String?) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= nameBytesMax else {
            return "a role name is 1 to \(nameBytesMax) bytes, got \(bytes.count)"
        }
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z"), digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard lower.contains(bytes[0]) || bytes[0] == UInt8(ascii: "_"),
              bytes.allSatisfy({ lower.contains($0) || digit.contains($0) || $0 == UInt8(ascii: "_") }) else {
            return "'\(name)' is not a role name: use a-z, 0-9 and '_', starting with a letter or '_'"
        }
        if name.hasPrefix("pg_") { return "'\(name)' is reserved: PostgreSQL's own roles start with pg_" }
        if name == owner { return "'\(name)' is the role the projector connects as; an analyst role must be another one" }
        return nil
    }

    /// What `grant` did.
    public struct Outcome: Sendable, Equatable {
        /// The role did not exist and was created (LOGIN, no password).
        public var created: Bool
        /// The schemas it may now read (besides `careerlog`'s status table).
        public var schemas: [String]
    }

    /// Makes `name` an analyst role: creates it when missing (LOGIN, no
    /// password: the server's pg_hba.conf decides how it signs in), lets it
    /// read the projector's status table and the non-PII columns of every
    /// schema the projector holds now, and records it so that every schema
    /// made later is granted too. Idempotent.
    public static func grant(_ connection: PostgresConnection, name: String) throws -> Outcome {
        let owner = try connection.query("SELECT current_user").first?[0] ?? nil
        if let problem = problem(name: name, owner: owner) {
            throw ProjectorError(code: .roleInvalid, location: name, reason: problem)
        }
        try ProjectionStore.prepare(connection)
        return try connection.transaction { c in
            // Serialized with the projector's DDL (ProjectionStore.prepare).
            _ = try c.query("SELECT pg_advisory_xact_lock(7400001)")
            let exists = try c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]).count > 0
            if !exists { try c.execute("CREATE ROLE \(quoteIdentifier(name)) LOGIN") }
            _ = try c.query("INSERT INTO careerlog.analyst_roles (role_name) VALUES ($1) ON CONFLICT DO NOTHING", [name])
            try c.execute("GRANT USAGE ON SCHEMA careerlog TO \(quoteIdentifier(name))")
            try c.execute("GRANT SELECT ON careerlog.projection_targets TO \(quoteIdentifier(name))")
            let schemas = try c.query("""
                SELECT t.schema_name FROM careerlog.projection_targets t
                JOIN pg_namespace n ON n.nspname = t.schema_name ORDER BY 1
                """).compactMap { $0[0] }
            for schema in schemas { _ = try c.query("SELECT careerlog.grant_analyst_reads($1)", [schema]) }
            return Outcome(created: !exists, schemas: schemas)
        }
    }
}
