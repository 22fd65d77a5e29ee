import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import { isOpenPgpMessage } from '../../src/custody/backup-key.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Canaries } from '../../nmia/seed/canaries.ts';

const CHECK = 'no credential is readable from the artifact without a key';

/** The same encryption step in every corrected backup block (fixtures/runbooks/backup-restore.corrected.md). */
const ENCRYPT_TO_PARTIAL = [
  '  | gpg --batch --symmetric --cipher-algo AES256 \\',
  '      --passphrase-file /etc/nmia/backup.passphrase \\',
  '      --output "$BACKUP.partial" \\',
  '  || { rm -f "$BACKUP.partial"; false; }',
  'mv "$BACKUP.partial" "$BACKUP"',
];

const KEY_CUSTODY =
  'Keep the passphrase file (mode 600) on the backup host and a copy off it, apart from the backups (a password manager or vault): ' +
  'without it no backup restores. Restores decrypt on the way in: gpg --batch --decrypt --passphrase-file /etc/nmia/backup.passphrase <file>.gpg | docker compose exec -T db pg_restore …';

/** The corrected text of each backup section, as the corrected runbook has it (a test holds them to it). */
export const ENCRYPTED_BACKUP_FIXES = {
  full: [
    'set -o pipefail',
    'mkdir -p ./backups',
    'BACKUP=./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).dump.gpg',
    "# Written under a temporary name: a dump cut short or a full disk never leaves a file with a backup's name",
    'docker compose exec -T db pg_dump \\',
    '  -U nmia \\',
    '  -d nmia \\',
    '  -Fc \\',
    ...ENCRYPT_TO_PARTIAL,
  ].join('\n'),
  sql: [
    'set -o pipefail',
    'mkdir -p ./backups',
    'BACKUP=./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).sql.gpg',
    'docker compose exec -T db pg_dump \\',
    '  -U nmia \\',
    '  -d nmia \\',
    '  --format=plain \\',
    ...ENCRYPT_TO_PARTIAL,
  ].join('\n'),
  automated: [
    'PASSPHRASE_FILE="/etc/nmia/backup.passphrase"',
    '',
    'mkdir -p "$BACKUP_DIR"',
    '',
    '# Dump and encrypt to a partial file; it gets the backup name only once pg_dump and gpg succeeded',
    'PARTIAL="$BACKUP_DIR/.nmia_backup_${TIMESTAMP}.dump.gpg.partial"',
    'trap \'rm -f "$PARTIAL"\' EXIT',
    'docker compose -f /opt/nmia/docker-compose.yml exec -T db pg_dump \\',
    '  -U nmia \\',
    '  -d nmia \\',
    '  -Fc \\',
    '  | gpg --batch --symmetric --cipher-algo AES256 --passphrase-file "$PASSPHRASE_FILE" --output "$PARTIAL"',
    'mv "$PARTIAL" "$BACKUP_DIR/nmia_backup_${TIMESTAMP}.dump.gpg"',
    '',
    '# Remove backups older than retention period',
    'find "$BACKUP_DIR" -name "nmia_backup_*.dump.gpg" -mtime +${RETENTION_DAYS} -delete',
  ].join('\n'),
  volume: [
    'set -o pipefail',
    'mkdir -p ./backups',
    'BACKUP=./backups/pgdata_$(date +%Y%m%d_%H%M%S).tar.gz.gpg',
    'docker run --rm \\',
    '  -v nmia_pgdata:/data \\',
    '  alpine tar czf - -C /data . \\',
    ...ENCRYPT_TO_PARTIAL,
  ].join('\n'),
} as const;

/** How each format is read by anyone who holds the file: the tool that ships with it, no key. */
type ReadableFormat = 'custom' | 'plain' | 'tar.gz';

/**
 * The secrets scan of a backup artifact: every canary the drill planted (the connectors' bind passwords, the
 * admin password, SECRET_KEY, the database and backup passwords) is searched for in what anyone holding the file
 * reads without a key — pg_restore's SQL for a custom dump, the text of a plain one, the inflated bytes of a
 * tar.gz. An OpenPGP-encrypted artifact reads as nothing without its key. A canary found is a runbook finding
 * whose fix is the section's corrected, encrypting text.
 */
export async function checkSecretsProtected(context: ProcedureContext, path: string, format: ReadableFormat, fix: string): Promise<void> {
  const canaries = canaryList(context.drill.canaries);
  if (await isOpenPgpMessage(path)) {
    context.pass(
      'intent',
      CHECK,
      `${basename(path)} is OpenPGP-encrypted: none of ${canaries.length} canary secrets is readable without the key`,
    );
    return;
  }
  const found = await context.harnessAction(
    `check: search ${basename(path)} for the drill's canary secrets, as anyone holding the file reads it`,
    format === 'custom'
      ? `pg_restore -f - ${basename(path)} | search`
      : format === 'tar.gz'
        ? `gunzip < ${basename(path)} | search`
        : `search ${basename(path)}`,
    () =>
      searchStream(
        readableStream(context, path, format),
        canaries.map((canary) => canary.value),
      ),
  );
  const leaked = canaries.filter((canary) => found.has(canary.value));
  if (leaked.length === 0) {
    context.pass('intent', CHECK, `searched ${basename(path)} for ${canaries.length} canary secrets: none found`);
    return;
  }
  const names = [...new Set(leaked.map((canary) => canary.name))];
  context.fail('intent', CHECK, `${leaked.length} canary secret(s) readable in ${basename(path)}: ${names.join(', ')}`);
  context.finding({
    line: context.block(0).line,
    severity: 'high',
    title: `the backup holds ${names.join(' and ')} readable without any key: ${describe(format)} of ${basename(path)} shows them`,
    evidence: { artifact: context.relativeToProject(path), canariesFound: leaked.map((canary) => canary.name), format },
    whyItMatters:
      "NMIA stores each connector's config, bind password included, unencrypted in connector_instances.config; a backup written as the section writes it hands those directory credentials to anyone who can read ./backups, a copy of it, or off-host storage.",
    suggestedFix: `Encrypt the backup as it is written, so it never exists in clear text outside the database container:\n${fix}\n${KEY_CUSTODY}`,
  });
}

function describe(format: ReadableFormat): string {
  return format === 'custom' ? 'pg_restore' : format === 'tar.gz' ? 'gunzip' : 'the text';
}

/** Every secret the drill planted, named as a finding names it. */
export function canaryList(canaries: Canaries): Array<{ name: string; value: string }> {
  return [
    ...canaries.bindPasswords.map((value) => ({ name: 'connector bind passwords', value })),
    { name: 'the admin password', value: canaries.adminPassword },
    { name: 'SECRET_KEY', value: canaries.secretKey },
    { name: 'the database password', value: canaries.dbPassword },
    { name: 'the backup passphrase', value: canaries.backupPassphrase },
  ];
}

function readableStream(context: ProcedureContext, path: string, format: ReadableFormat): Readable {
  if (format === 'tar.gz') return createReadStream(path).pipe(createGunzip());
  if (format === 'plain') return createReadStream(path);
  const child = execa(context.stack.binaries.path('pg_restore'), ['-f', '-', path], { buffer: false, reject: false, stdin: 'ignore' });
  return child.stdout!;
}

/** Which of `needles` occur in the stream; streamed with an overlap, never the whole file in memory. */
export async function searchStream(stream: Readable, needles: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const patterns = needles.map((needle) => Buffer.from(needle));
  const overlap = Math.max(0, ...patterns.map((pattern) => pattern.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of stream) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    for (const [index, pattern] of patterns.entries()) if (window.includes(pattern)) found.add(needles[index]!);
    if (found.size === needles.length) {
      stream.destroy();
      break;
    }
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return found;
}
