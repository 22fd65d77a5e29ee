import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DockerCli } from '../src/docker/docker-cli.ts';
import {
  createAppSchema,
  directoryContainerArgs,
  must,
  startDatabase,
  testDocker,
  waitForDirectory,
  withClient,
  workerContainerArgs,
} from './real-app-containers.ts';

export interface RealWorkerStackOptions {
  /** A checkout of the real NMIA (cloneRealNmia): its worker/src and api/src are mounted as its compose file does. */
  appDir: string;
  /** The AD connector's config; `server` is given to the directory container as a network alias. */
  connector: { server: string; bind_dn: string; bind_password: string; search_base: string; port?: number };
  /** Jobs present before the worker first starts (a restored database), by status. */
  jobs?: readonly string[];
  /** svc_acct identities already in the enclave (normalized_data as the app's AD normaliser writes it). */
  identities?: ReadonlyArray<{ sam: string; sid: string; spn: string[]; enabled: boolean }>;
}

/**
 * The real NMIA worker (image nmia-worker, the app's own worker/src and api/src mounted as in its
 * docker-compose.yml) on a private Docker network with PostgreSQL 15, the schema its own models
 * create, one ad_ldap connector instance, and the fixture directory answering as that connector's
 * `server`. Not a compose project: nothing here touches project `nmia`.
 */
export class RealWorkerStack {
  readonly enclaveId: string;
  readonly connectorId: string;
  private readonly names: { network: string; db: string; directory: string; worker: string };

  private constructor(
    private readonly docker: DockerCli,
    private readonly options: RealWorkerStackOptions,
    readonly database: pg.ClientConfig,
    ids: { enclaveId: string; connectorId: string; suffix: string },
  ) {
    this.enclaveId = ids.enclaveId;
    this.connectorId = ids.connectorId;
    const s = ids.suffix;
    this.names = {
      network: `nmia-drill-rw-${s}`,
      db: `nmia-drill-rw-db-${s}`,
      directory: `nmia-drill-rw-dir-${s}`,
      worker: `nmia-drill-rw-worker-${s}`,
    };
  }

  static async start(options: RealWorkerStackOptions): Promise<RealWorkerStack> {
    const docker = testDocker();
    const suffix = randomBytes(4).toString('hex');
    const label = ['--label', `org.nmia-drill.test=nmia-drill-rw-${suffix}`];
    const names = { network: `nmia-drill-rw-${suffix}`, db: `nmia-drill-rw-db-${suffix}` };
    await must(docker, ['network', 'create', ...label, names.network]);
    let stack: RealWorkerStack | undefined;
    try {
      const database = await startDatabase(docker, { name: names.db, network: names.network, label });
      await createAppSchema(docker, { network: names.network, label, appDir: options.appDir });
      const ids = await RealWorkerStack.seed(database, options);
      stack = new RealWorkerStack(docker, options, database, { ...ids, suffix });
      await stack.startDirectory();
      return stack;
    } catch (error) {
      if (stack) await stack.stop();
      else {
        await docker.run(['rm', '-f', '-v', names.db]);
        await docker.run(['network', 'rm', names.network]);
      }
      throw error;
    }
  }

  /** One enclave, the ad_ldap type, one connector instance (no cron), and any restored jobs. */
  private static async seed(
    database: pg.ClientConfig,
    options: RealWorkerStackOptions,
  ): Promise<{ enclaveId: string; connectorId: string }> {
    const client = new pg.Client(database);
    await client.connect();
    try {
      const enclave = await client.query<{ id: string }>(
        `INSERT INTO enclaves (id, name, description, created_at, updated_at) VALUES (gen_random_uuid(), 'drill enclave', NULL, now(), now()) RETURNING id`,
      );
      const type = await client.query<{ id: string }>(
        `INSERT INTO connector_types (id, code, name, description, created_at, updated_at)
         VALUES (gen_random_uuid(), 'ad_ldap', 'Active Directory (LDAP)', NULL, now(), now()) RETURNING id`,
      );
      const enclaveId = enclave.rows[0]?.id as string;
      const config = { port: 389, use_ssl: false, ...options.connector };
      const connector = await client.query<{ id: string }>(
        `INSERT INTO connector_instances (id, connector_type_id, enclave_id, name, config, cron_expression, is_enabled, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, 'AD drill', $3::json, NULL, true, now(), now()) RETURNING id`,
        [type.rows[0]?.id, enclaveId, JSON.stringify(config)],
      );
      const connectorId = connector.rows[0]?.id as string;
      for (const status of options.jobs ?? []) await RealWorkerStack.insertJob(client, connectorId, status);
      for (const i of options.identities ?? []) {
        const data = {
          sam_account_name: i.sam,
          dn: `CN=${i.sam},OU=Service Accounts,${options.connector.search_base}`,
          object_sid: i.sid,
          spn: i.spn,
          enabled: i.enabled,
          password_last_set: '2025-06-01T08:00:00+00:00',
          last_logon: null,
        };
        await client.query(
          `INSERT INTO identities (id, enclave_id, identity_type, display_name, fingerprint, normalized_data, risk_score, first_seen, last_seen, finding_ids, created_at, updated_at)
           VALUES (gen_random_uuid(), $1, 'svc_acct', $2, $3, $4::json, 0, now() - interval '30 days', now() - interval '30 days', '[]', now(), now())`,
          [enclaveId, i.sam, i.sid, JSON.stringify(data)],
        );
      }
      return { enclaveId, connectorId };
    } finally {
      await client.end();
    }
  }

  private static async insertJob(client: pg.Client, connectorId: string, status: string): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO jobs (id, connector_instance_id, status, records_found, records_ingested, triggered_by, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, 0, 0, 'manual', clock_timestamp(), clock_timestamp()) RETURNING id`,
      [connectorId, status],
    );
    return rows[0]?.id as string;
  }

  private async startDirectory(): Promise<void> {
    await must(this.docker, [
      'run',
      '-d',
      ...['--name', this.names.directory, '--label', `org.nmia-drill.test=${this.names.network}`],
      ...directoryContainerArgs(this.names.network, [this.options.connector.server]),
    ]);
    await waitForDirectory(() => this.logs('directory'));
  }

  /** Starts the real worker as its compose service does (python -m nmia_worker.main); again after stopWorker(). */
  async startWorker(): Promise<void> {
    const existing = await this.docker.run(['inspect', this.names.worker]);
    if (existing.exitCode === 0) {
      await must(this.docker, ['start', this.names.worker]);
      return;
    }
    await must(this.docker, [
      'run',
      '-d',
      ...['--name', this.names.worker, '--label', `org.nmia-drill.test=${this.names.network}`],
      ...workerContainerArgs(this.names.network, this.options.appDir),
    ]);
  }

  async stopWorker(): Promise<void> {
    await must(this.docker, ['stop', '-t', '10', this.names.worker]);
  }

  /** `docker logs` of a service: what `docker compose logs <service>` shows for it. */
  async logs(service: 'worker' | 'directory'): Promise<string> {
    const result = await this.docker.run(['logs', service === 'worker' ? this.names.worker : this.names.directory]);
    return result.stdout + result.stderr;
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return withClient(this.database, async (client) => (await client.query<T>(sql, params)).rows);
  }

  async queueJob(status = 'pending'): Promise<string> {
    return withClient(this.database, (client) => RealWorkerStack.insertJob(client, this.connectorId, status));
  }

  /** Changes the connector's bind password in the database only (the directory keeps the old one). */
  async rotateBindPassword(password: string): Promise<void> {
    await this.query(
      `UPDATE connector_instances SET config = jsonb_set(config::jsonb, '{bind_password}', to_jsonb($2::text))::json WHERE id = $1`,
      [this.connectorId, password],
    );
  }

  async stop(): Promise<void> {
    await this.docker.run(['rm', '-f', '-v', this.names.worker, this.names.directory, this.names.db], { timeoutMs: 60_000 });
    await this.docker.run(['network', 'rm', this.names.network]);
  }
}
