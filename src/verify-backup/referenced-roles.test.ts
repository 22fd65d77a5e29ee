import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rolesInLine, rolesInPlainDump } from './referenced-roles.ts';
import { withholdRowData } from './restore-backup.ts';

describe('roles a dump refers to', () => {
  it('reads owners, grantees, revokees and default-privilege roles; not PUBLIC or pg_ roles', () => {
    expect(rolesInLine('ALTER TABLE public.identities OWNER TO nmia_owner;')).toEqual(['nmia_owner']);
    expect(rolesInLine('GRANT SELECT(id,name) ON TABLE public.connectors TO nmia_readonly;')).toEqual(['nmia_readonly']);
    expect(rolesInLine('GRANT ALL ON TABLE public.x TO "Report Writer", auditor WITH GRANT OPTION;')).toEqual(['Report Writer', 'auditor']);
    expect(rolesInLine('REVOKE ALL ON SCHEMA public FROM PUBLIC;')).toEqual([]);
    expect(rolesInLine('GRANT ALL ON SCHEMA public TO pg_database_owner;')).toEqual([]);
    expect(rolesInLine('ALTER DEFAULT PRIVILEGES FOR ROLE app_admin IN SCHEMA public GRANT SELECT ON TABLES TO reader;')).toEqual([
      'app_admin',
      'reader',
    ]);
    expect(rolesInLine("SET SESSION AUTHORIZATION 'o''brien';")).toEqual(["o'brien"]);
    expect(rolesInLine('SELECT 1;')).toEqual([]);
  });

  it('skips COPY data in a plain dump', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nmia-roles-'));
    try {
      const file = join(dir, 'x.sql');
      await writeFile(
        file,
        'COPY public.notes (body) FROM stdin;\nGRANT ALL ON TABLE t TO not_a_role;\n\\.\nALTER TABLE public.t OWNER TO real_owner;\n',
      );
      expect(await rolesInPlainDump(file)).toEqual(['real_owner']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('withholdRowData', () => {
  it('keeps where a restore failed, never the row it quotes', () => {
    const stderr = [
      'psql:/x.sql:120: ERROR:  extra data after last expected column',
      'CONTEXT:  COPY connectors, line 1: "1\tad-main\t{"bind_password": "CANARY-bind-42-abc"}\tjunk"',
      'CONTEXT:  COPY users, line 2, column email: "secret@example.com"',
      'DETAIL:  Failing row contains (1, CANARY-x, y).',
      'DETAIL:  Key (username)=(CANARY-dup) already exists.',
    ].join('\n');
    const kept = withholdRowData(stderr);
    expect(kept).not.toMatch(/CANARY|secret@/);
    expect(kept).toMatch(/COPY connectors, line 1: \[row data withheld\]/);
    expect(kept).toMatch(/COPY users, line 2, column email: \[row data withheld\]/);
    expect(kept).toMatch(/Key \(username\)=\(\[withheld\]\) already exists/);
  });
});
