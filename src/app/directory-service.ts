import type { ComposeAddition } from './compose-override.ts';

export interface DirectoryServiceOptions {
  drillId: string;
  /** nmia-drill's own checkout (nmia/directory/main.ts runs from it, read-only). */
  repoRoot: string;
  /** The app database as the services see it on the compose network (the db service's own credentials). */
  databaseUrl: string;
  /** Every `server` the app's ad_ldap connectors dial: each becomes a network alias of the directory. */
  servers: readonly string[];
}

export const DIRECTORY_SERVICE = 'directory';
export const DIRECTORY_IMAGE = 'nmia-drill/node:20';

/**
 * The Active Directory the app's connectors scan is environment, not app: on the app's compose network it
 * is the harness's slapd with an AD schema (docs/directory.md), answering under every server name the
 * restored connectors dial, so the real worker's ldap3 resolves them inside the network as it would a DC.
 */
export function directoryServiceAdditions(options: DirectoryServiceOptions): ComposeAddition[] {
  const servers = [...new Set(options.servers)].sort();
  return [
    {
      path: `services.${DIRECTORY_SERVICE}`,
      value: {
        image: DIRECTORY_IMAGE,
        pull_policy: 'never',
        init: true,
        working_dir: '/repo',
        command: ['node', '--import', 'tsx', '/repo/nmia/directory/main.ts'],
        volumes: [`${options.repoRoot.replace(/\/$/, '')}:/repo:ro`],
        environment: { DATABASE_URL: options.databaseUrl, PORT: '389', TLS_PORT: '636' },
        depends_on: ['db'],
        labels: { 'org.nmia-drill.drill': options.drillId },
        networks: { default: { aliases: servers } },
      },
      reason: `the Active Directory the app's ad_ldap connectors scan (environment, not app): nmia-drill's slapd with an AD schema, built from the connectors in the database, answering on 389/636 as ${servers.length} server name(s) the connectors dial: ${servers.join(', ')}`,
    },
  ];
}

/** postgresql://user:password@db:5432/db from the db service's POSTGRES_* environment (the image's defaults otherwise). */
export function composeDatabaseUrl(environment: Record<string, string | undefined>): string {
  const user = environment.POSTGRES_USER ?? 'postgres';
  const password = environment.POSTGRES_PASSWORD ?? '';
  const database = environment.POSTGRES_DB ?? user;
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@db:5432/${encodeURIComponent(database)}`;
}
