import { describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { buildAttestation, renderAttestationMarkdown } from './attestation.ts';
import { renderHtmlReport } from './html-report.ts';
import type { AppRecord } from './journal.ts';
import { renderMarkdownSummary } from './markdown-summary.ts';

const REAL_APP: AppRecord = {
  kind: 'repository',
  source: '../shared/nmia/nmia.bundle',
  commit: '3e1062f3eebb211cecd206eb30c149cb1e4a996b',
  substitutions: [
    {
      what: 'db image',
      written: 'postgres:16-alpine',
      used: 'nmia-drill/postgres:17',
      reason: 'no registry here: the nearest local PostgreSQL image',
    },
  ],
  serverVersion: '17.12 (Debian 17.12-0+deb13u1)',
};

/** Every reader of the bundle: the report, the summary and the attestation. */
const renderings = (app: AppRecord) => {
  const journal = syntheticJournal({ app });
  return {
    report: renderHtmlReport(journal),
    summary: renderMarkdownSummary(journal),
    attestation: renderAttestationMarkdown(buildAttestation(journal)),
  };
};

describe('the app under drill in the report, the summary and the attestation', () => {
  it('names the repository and its commit, and what ran instead of what its files name, with the real server version', () => {
    for (const [name, text] of Object.entries(renderings(REAL_APP))) {
      expect(text, name).toContain('repository ../shared/nmia/nmia.bundle at commit 3e1062f3eebb211cecd206eb30c149cb1e4a996b');
      expect(text, name).toMatch(/instead of as written: .*db image: postgres:16-alpine → nmia-drill\/postgres:17 \(no registry here/);
      expect(text, name).toContain('db server version 17.12');
    }
  });

  it('says nothing of a substitution when the app ran as written', () => {
    const { substitutions: _none, serverVersion: _unset, ...asWritten } = REAL_APP;
    for (const [name, text] of Object.entries(renderings(asWritten))) {
      expect(text, name).toContain('at commit 3e1062f3');
      expect(text, name).not.toContain('instead of as written');
    }
  });
});
