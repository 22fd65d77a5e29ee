import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Finding, Rung } from '../../src/evidence/journal.ts';
import { EmulatedStack } from '../../src/stacks/emulated/emulated-stack.ts';
import { Workspace } from '../../src/stacks/workspace.ts';
import { checkSecretKeyReachesApi } from './secret-key-continuity.ts';

const RESTORED_KEY = 'the-original-key-step-2-restored';
const api = (secretKey: string) => `services:
  api:
    image: nmia-api
    environment:
      SECRET_KEY: ${secretKey}
    x-emulated:
      command: ["${process.execPath}", "-e", "setInterval(() => {}, 1000)"]
`;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
});

/** The check's verdict on a running api started from `compose`, with `.env` holding `envKey`. */
async function verdictFor(compose: string, envKey: string) {
  const scratch = await mkdtemp(join(tmpdir(), 'secret-key-'));
  await writeFile(join(scratch, 'docker-compose.yml'), compose);
  const stack = await EmulatedStack.create({
    workspace: await Workspace.create('secretkey'),
    composeFile: join(scratch, 'docker-compose.yml'),
    dotEnv: { SECRET_KEY: envKey },
    reason: 'test',
  });
  stops.push(async () => {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  expect((await stack.docker(['compose', 'up', '-d', 'api'])).exitCode).toBe(0);
  const rungs: Array<Pick<Rung, 'outcome' | 'summary'>> = [];
  const findings: Array<Partial<Finding>> = [];
  // The check's own surface: the running api container and the compose file; what it records is what is asserted.
  const context = {
    projectDir: stack.workspace.projectDir,
    harnessDocker: (_purpose: string, args: string[]) => stack.docker(args),
    block: () => ({ line: 42 }),
    pass: (_rung: string, _check: string, summary: string) => rungs.push({ outcome: 'passed', summary }),
    fail: (_rung: string, _check: string, summary: string) => rungs.push({ outcome: 'failed', summary }),
    rung: (rung: Rung) => rungs.push(rung),
    finding: (finding: Partial<Finding>) => findings.push(finding),
  } as unknown as ProcedureContext;
  await checkSecretKeyReachesApi(context, RESTORED_KEY);
  return { rungs, findings };
}

describe('checkSecretKeyReachesApi: does the key step 2 restored into .env reach the running api', () => {
  it('passes when the compose file takes SECRET_KEY from .env and .env holds the restored key', async () => {
    const { rungs, findings } = await verdictFor(api('${SECRET_KEY}'), RESTORED_KEY);
    expect(rungs).toEqual([{ outcome: 'passed', summary: 'the api container has the key from .env' }]);
    expect(findings).toEqual([]);
  });

  it('fails (seeded: .env holds another key) when the api runs with a key other than the restored one', async () => {
    const { rungs, findings } = await verdictFor(api('${SECRET_KEY}'), 'a-new-key-not-the-original');
    expect(rungs).toEqual([
      { outcome: 'failed', summary: expect.stringMatching(/different key than \.env holds, and docker-compose\.yml does not fix it/) },
    ]);
    expect(findings).toEqual([]);
  });

  it('makes an application finding, with the corrected compose text, when docker-compose.yml fixes the key', async () => {
    const { rungs, findings } = await verdictFor(api('dev-secret-key-change-in-prod'), RESTORED_KEY);
    expect(rungs).toEqual([expect.objectContaining({ outcome: 'skipped', summary: expect.stringMatching(/fixes SECRET_KEY for api/) })]);
    expect(findings).toEqual([
      expect.objectContaining({
        kind: 'application',
        suggestedFix: expect.stringContaining('SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY in .env}'),
      }),
    ]);
    // Neither value is recorded anywhere the check writes.
    expect(JSON.stringify({ rungs, findings })).not.toContain(RESTORED_KEY);
  });
});
