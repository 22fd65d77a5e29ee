/**
 * Catalog queries behind the Manifest. They run with search_path = pg_catalog (set by
 * takeManifest), so every pg_get_*def / format_type / regproc output names user objects
 * schema-qualified and the text does not depend on the caller's search_path.
 *
 * Nothing here may carry an OID, an owner, a tablespace or a grantor: those legitimately
 * change across pg_dump → pg_restore --no-owner. Column positions are ranks among live
 * columns, not attnum, because dropped columns vanish in a restore.
 */

/** Schemas that hold user objects: everything but the system and temp schemas. */
const USER_SCHEMAS = `
  SELECT oid, nspname, nspowner, nspacl FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND nspname !~ '^pg_(toast_)?temp_'`;

/** Objects created by CREATE EXTENSION are the extension's business: we record its version instead. */
const EXTENSION_MEMBERS = `SELECT classid, objid FROM pg_depend WHERE deptype = 'e'`;

const COMMON_CTES = `
  nsp AS (${USER_SCHEMAS}),
  ext AS (${EXTENSION_MEMBERS}),
  rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relowner, c.relacl, c.reloptions, c.relispopulated,
           c.relispartition, c.relpartbound, c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.relam,
           n.nspname, format('%I.%I', n.nspname, c.relname) AS qname
    FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
      AND c.relpersistence <> 't'
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
  ),
  typ AS (
    SELECT t.oid, t.typname, t.typtype, t.typowner, t.typacl, t.typbasetype, t.typtypmod, t.typnotnull,
           t.typdefault, t.typcollation, format('%I.%I', n.nspname, t.typname) AS qname
    FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('b', 'd', 'e', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)
      AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
  ),
  fn AS (
    SELECT p.oid, p.prokind, p.proowner, p.proacl,
           CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
           format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS qname
    FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
    WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)
  ),
  relkind_name(relkind, name, acl_kind) AS (
    VALUES ('r', 'table', 'r'), ('p', 'table', 'r'), ('v', 'view', 'r'), ('m', 'materialized view', 'r'),
           ('f', 'foreign table', 'r'), ('S', 'sequence', 's'), ('c', 'composite type', 'T')
  )`;

/** Every structural and privilege object as (key, definition text). Keys starting with 'grant ' are privileges. */
export const SCHEMA_OBJECTS_SQL = `
WITH ${COMMON_CTES},
grantee_name AS (
  SELECT oid, quote_ident(rolname) AS name FROM pg_roles
)
SELECT key, value FROM (
  SELECT 'schema ' || quote_ident(nspname) AS key, 'schema' AS value
  FROM nsp
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_namespace'::regclass AND ext.objid = nsp.oid)

  UNION ALL
  SELECT 'extension ' || quote_ident(e.extname), 'version ' || e.extversion || ' in schema ' || quote_ident(n.nspname)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace

  UNION ALL
  SELECT k.name || ' ' || r.qname,
         concat_ws(E'\\n',
           'kind ' || r.relkind::text,
           CASE WHEN r.relpersistence = 'u' THEN 'unlogged' END,
           (SELECT 'access method ' || amname FROM pg_am WHERE oid = r.relam AND amname <> 'heap'),
           CASE WHEN r.relkind = 'p' THEN 'partition by ' || pg_get_partkeydef(r.oid) END,
           CASE WHEN r.relispartition THEN 'partition of ' ||
             (SELECT string_agg(p.qname, ', ') FROM pg_inherits i JOIN rel p ON p.oid = i.inhparent WHERE i.inhrelid = r.oid)
             || ' ' || pg_get_expr(r.relpartbound, r.oid) END,
           CASE WHEN NOT r.relispartition THEN 'inherits ' ||
             (SELECT string_agg(p.qname, ', ' ORDER BY i.inhseqno) FROM pg_inherits i JOIN rel p ON p.oid = i.inhparent WHERE i.inhrelid = r.oid) END,
           CASE WHEN r.reloptions IS NOT NULL THEN 'options ' || array_to_string(r.reloptions, ', ') END,
           CASE WHEN r.relrowsecurity THEN 'row level security' END,
           CASE WHEN r.relforcerowsecurity THEN 'force row level security' END,
           CASE WHEN r.relkind IN ('r', 'p') AND r.relreplident <> 'd' THEN 'replica identity ' || r.relreplident::text END,
           CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid, true) END,
           CASE WHEN r.relkind = 'm' THEN CASE WHEN r.relispopulated THEN 'populated' ELSE 'not populated' END END)
  FROM rel r JOIN relkind_name k ON k.relkind = r.relkind
  WHERE r.relkind <> 'S'

  UNION ALL
  SELECT 'column ' || r.qname || '.' || quote_ident(a.attname),
         concat_ws(' ',
           '#' || row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
           format_type(a.atttypid, a.atttypmod),
           CASE WHEN a.attnotnull THEN 'not null' END,
           CASE a.attidentity WHEN 'a' THEN 'generated always as identity' WHEN 'd' THEN 'generated by default as identity' END,
           CASE WHEN a.attgenerated = 's' THEN 'generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
                WHEN d.adbin IS NOT NULL THEN 'default ' || pg_get_expr(d.adbin, d.adrelid) END,
           CASE WHEN a.attcollation <> t.typcollation THEN 'collate ' ||
             (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
           CASE WHEN a.attstorage <> t.typstorage THEN 'storage ' || a.attstorage::text END,
           CASE WHEN coalesce(a.attstattarget, -1) >= 0 THEN 'statistics ' || a.attstattarget END,
           CASE WHEN a.attcompression <> '' THEN 'compression ' || a.attcompression::text END,
           -- Debian's PostgreSQL 17.12 stamps every column with its own pg_attver=<n> option: set by the server at
           -- CREATE, never dumped, different after any restore. Not schema: left out; options a person set stay.
           CASE WHEN EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%')
                THEN 'options ' || array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%'), ', ') END)
  FROM pg_attribute a
  JOIN rel r ON r.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind <> 'S'

  UNION ALL
  SELECT 'constraint ' || r.qname || '.' || quote_ident(con.conname), pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN rel r ON r.oid = con.conrelid

  UNION ALL
  SELECT 'domain constraint ' || t.qname || '.' || quote_ident(con.conname), pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN typ t ON t.oid = con.contypid

  UNION ALL
  SELECT 'index ' || format('%I.%I', r.nspname, ic.relname),
         pg_get_indexdef(i.indexrelid)
           || CASE WHEN i.indisclustered THEN ' [clustered]' ELSE '' END
           || CASE WHEN i.indisreplident THEN ' [replica identity]' ELSE '' END
           || CASE WHEN NOT i.indisvalid THEN ' [invalid]' ELSE '' END
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN rel r ON r.oid = i.indrelid

  UNION ALL
  SELECT f.kind || ' ' || f.qname,
         CASE WHEN f.prokind = 'a' THEN
           (SELECT concat_ws(' ',
              'returns ' || pg_get_function_result(f.oid),
              'kind ' || ag.aggkind::text,
              'sfunc ' || ag.aggtransfn::regproc::text,
              'stype ' || format_type(ag.aggtranstype, NULL),
              'finalfunc ' || nullif(ag.aggfinalfn, 0)::regproc::text,
              'combinefunc ' || nullif(ag.aggcombinefn, 0)::regproc::text,
              'initcond ' || quote_literal(ag.agginitval))
            FROM pg_aggregate ag WHERE ag.aggfnoid = f.oid)
         ELSE pg_get_functiondef(f.oid) END
  FROM fn f

  UNION ALL
  SELECT 'trigger ' || r.qname || '.' || quote_ident(tg.tgname),
         pg_get_triggerdef(tg.oid) || CASE WHEN tg.tgenabled <> 'O' THEN ' [enabled ' || tg.tgenabled::text || ']' ELSE '' END
  FROM pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid
  WHERE NOT tg.tgisinternal

  UNION ALL
  SELECT 'sequence ' || r.qname,
         concat_ws(' ',
           'as ' || format_type(s.seqtypid, NULL),
           'start ' || s.seqstart, 'increment ' || s.seqincrement,
           'min ' || s.seqmin, 'max ' || s.seqmax, 'cache ' || s.seqcache,
           CASE WHEN s.seqcycle THEN 'cycle' ELSE 'no cycle' END,
           (SELECT CASE dep.deptype WHEN 'i' THEN 'identity of ' ELSE 'owned by ' END || o.qname || '.' || quote_ident(a.attname)
              FROM pg_depend dep
              JOIN rel o ON o.oid = dep.refobjid
              JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
             WHERE dep.classid = 'pg_class'::regclass AND dep.objid = r.oid AND dep.refobjsubid > 0
               AND dep.deptype IN ('a', 'i')
             LIMIT 1))
  FROM pg_sequence s JOIN rel r ON r.oid = s.seqrelid

  UNION ALL
  SELECT 'type ' || t.qname,
         CASE t.typtype
           WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
           WHEN 'd' THEN concat_ws(' ', 'domain over ' || format_type(t.typbasetype, t.typtypmod),
                          CASE WHEN t.typnotnull THEN 'not null' END,
                          'default ' || t.typdefault,
                          CASE WHEN t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype) THEN 'collation ' ||
                            (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END)
           WHEN 'r' THEN (SELECT concat_ws(' ', 'range of ' || format_type(rg.rngsubtype, NULL),
                          'opclass ' || (SELECT opcname FROM pg_opclass WHERE oid = rg.rngsubopc),
                          'canonical ' || nullif(rg.rngcanonical, 0)::regproc::text,
                          'subdiff ' || nullif(rg.rngsubdiff, 0)::regproc::text)
                          FROM pg_range rg WHERE rg.rngtypid = t.oid)
           WHEN 'c' THEN 'composite type'
           ELSE 'base type'
         END
  FROM typ t

  UNION ALL
  SELECT 'policy ' || r.qname || '.' || quote_ident(po.polname),
         concat_ws(' ',
           CASE WHEN po.polpermissive THEN 'permissive' ELSE 'restrictive' END,
           'for ' || po.polcmd::text,
           'to ' || (SELECT string_agg(CASE WHEN ro = 0 THEN 'PUBLIC' ELSE (SELECT name FROM grantee_name WHERE oid = ro) END, ', ' ORDER BY 1)
                     FROM unnest(po.polroles) ro),
           'using (' || pg_get_expr(po.polqual, po.polrelid) || ')',
           'with check (' || pg_get_expr(po.polwithcheck, po.polrelid) || ')')
  FROM pg_policy po JOIN rel r ON r.oid = po.polrelid

  UNION ALL
  SELECT 'rule ' || r.qname || '.' || quote_ident(ru.rulename), pg_get_ruledef(ru.oid)
  FROM pg_rewrite ru JOIN rel r ON r.oid = ru.ev_class
  WHERE ru.rulename <> '_RETURN'

  UNION ALL
  SELECT 'statistics ' || format('%I.%I', n.nspname, st.stxname), pg_get_statisticsobjdef(st.oid)
  FROM pg_statistic_ext st JOIN nsp n ON n.oid = st.stxnamespace

  UNION ALL
  -- pg_identify_object names any commented object without OIDs ('table column', 'public.t.c').
  SELECT 'comment ' || o.type || ' ' || o.identity, d.description
  FROM pg_description d
  CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
  -- The first test only reads d, so it filters before pg_identify_object runs on ~5000 system comments.
  WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_namespace'::regclass AND d.objoid IN (SELECT oid FROM nsp)))
    AND (d.classoid = 'pg_namespace'::regclass OR o.schema IS NULL OR o.schema IN (SELECT nspname FROM nsp))
    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = d.classoid AND ext.objid = d.objoid)

  UNION ALL
  -- Privileges. A NULL acl means the default one, so both are exploded alike; the owner is
  -- '(owner)' and the grantor is dropped, since pg_restore --no-owner changes both.
  SELECT 'grant ' || g.object || ' to ' || CASE WHEN g.grantee = 0 THEN 'PUBLIC' WHEN g.grantee = g.owner THEN '(owner)'
                                                ELSE coalesce((SELECT name FROM grantee_name WHERE oid = g.grantee), 'unknown role') END,
         string_agg(DISTINCT g.privilege_type || CASE WHEN g.is_grantable THEN ' with grant option' ELSE '' END, ', ')
  FROM (
    SELECT k.name || ' ' || r.qname AS object, r.relowner AS owner, a.grantee, a.privilege_type, a.is_grantable
    FROM rel r JOIN relkind_name k ON k.relkind = r.relkind
    CROSS JOIN LATERAL aclexplode(coalesce(r.relacl, acldefault(k.acl_kind::"char", r.relowner))) a
    WHERE r.relkind <> 'c'
    UNION ALL
    SELECT 'column ' || r.qname || '.' || quote_ident(at.attname), r.relowner, a.grantee, a.privilege_type, a.is_grantable
    FROM pg_attribute at JOIN rel r ON r.oid = at.attrelid
    CROSS JOIN LATERAL aclexplode(at.attacl) a
    WHERE at.attnum > 0 AND NOT at.attisdropped AND at.attacl IS NOT NULL
    UNION ALL
    SELECT 'schema ' || quote_ident(n.nspname), n.nspowner, a.grantee, a.privilege_type, a.is_grantable
    FROM nsp n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
    WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_namespace'::regclass AND ext.objid = n.oid)
    UNION ALL
    SELECT f.kind || ' ' || f.qname, f.proowner, a.grantee, a.privilege_type, a.is_grantable
    FROM fn f CROSS JOIN LATERAL aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a
    UNION ALL
    SELECT 'type ' || t.qname, t.typowner, a.grantee, a.privilege_type, a.is_grantable
    FROM typ t CROSS JOIN LATERAL aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
    UNION ALL
    SELECT 'default privileges for role ' || coalesce((SELECT name FROM grantee_name WHERE oid = da.defaclrole), 'unknown role')
             || coalesce(' in schema ' || quote_ident(n.nspname), '') || ' on ' ||
             CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                   WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE da.defaclobjtype::text END,
           0::oid, a.grantee, a.privilege_type, a.is_grantable
    FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
    CROSS JOIN LATERAL aclexplode(da.defaclacl) a
  ) g
  GROUP BY g.object, g.grantee, g.owner
) objects`;

/** Ordinary and partitioned-leaf tables whose rows a dump carries, with the columns to hash. */
export const TABLE_COLUMNS_SQL = `
WITH ${COMMON_CTES}
SELECT r.qname AS table,
       quote_ident(a.attname) AS column,
       a.attname AS column_name,
       bt.typname AS base_type,
       bt.typnamespace = 'pg_catalog'::regnamespace AS base_is_builtin,
       et.typname AS element_type,
       coalesce(et.typnamespace = 'pg_catalog'::regnamespace AND et.typtype = 'b', false) AS element_is_builtin
FROM rel r
LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE r.relkind = 'r'
ORDER BY r.qname, a.attnum`;

/** Sequences with their owning column (serial or identity) and increment. */
export const SEQUENCES_SQL = `
WITH ${COMMON_CTES}
SELECT r.qname AS sequence,
       s.seqincrement::text AS increment,
       o.qname AS owner_table,
       o.relkind AS owner_relkind,
       quote_ident(a.attname) AS owner_column
FROM pg_sequence s
JOIN rel r ON r.oid = s.seqrelid
LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = r.oid
                       AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
LEFT JOIN rel o ON o.oid = dep.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
ORDER BY r.qname`;
