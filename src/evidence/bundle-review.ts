import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DrillError } from '../errors/drill-error.ts';
import { SUMS_FILE, verifyEvidence } from './evidence-bundle.ts';
import { fingerprintOf, signingKeyFor } from './signing-key.ts';

/*
 * A reviewer's approval of a finished bundle: a statement, their name, and their ed25519 signature over the
 * exact SHA256SUMS they reviewed. It lives in `reviews/`, outside what SHA256SUMS covers, so approving a
 * bundle never changes what was measured; a later edit to the bundle makes every review stale.
 */

export const REVIEWS_DIR = 'reviews';

const ReviewSchema = z.object({
  reviewer: z.string().min(1),
  statement: z.string().min(1),
  at: z.string(),
  drillId: z.string(),
  sumsSha256: z.string(),
  key: z.object({ fingerprint: z.string(), publicKeyPem: z.string() }),
});
export type Review = z.infer<typeof ReviewSchema>;

async function sumsHash(dir: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(join(dir, SUMS_FILE)))
    .digest('hex');
}

/** Adds a signed review to an intact bundle; refuses a bundle that does not verify. */
export async function signBundle(
  dir: string,
  options: { reviewer: string; statement: string; env?: NodeJS.ProcessEnv; now?: Date },
): Promise<{ path: string; review: Review }> {
  const env = options.env ?? process.env;
  const check = await verifyEvidence(dir, { env });
  if (!check.ok)
    throw new DrillError(
      `${dir} does not verify (signature ${check.signature}, ${check.changed.length + check.missing.length + check.added.length} file problem(s)): it cannot be approved`,
      {
        fix: 'run nmia-drill verify-evidence on it and review what changed',
      },
    );
  const key = await signingKeyFor(env);
  if (!key)
    throw new DrillError('signing is off or no key directory can be named: a review must be signed', {
      fix: 'unset NMIA_DRILL_SIGNING=off, or set NMIA_DRILL_SIGNING_KEY',
    });
  const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as { drillId: string };
  const at = (options.now ?? new Date()).toISOString();
  const review: Review = {
    reviewer: options.reviewer,
    statement: options.statement,
    at,
    drillId: journal.drillId,
    sumsSha256: await sumsHash(dir),
    key: { fingerprint: key.fingerprint, publicKeyPem: key.publicPem },
  };
  await mkdir(join(dir, REVIEWS_DIR), { recursive: true });
  const name = `${at.replace(/[-:.]/g, '')}-${options.reviewer.replace(/[^A-Za-z0-9_.@-]+/g, '_')}`;
  const content = Buffer.from(`${JSON.stringify(review, null, 2)}\n`);
  const path = join(dir, REVIEWS_DIR, `${name}.json`);
  await writeFile(path, content);
  await writeFile(`${path}.sig`, sign(null, content, key.key));
  return { path, review };
}

export interface ReviewCheck {
  file: string;
  reviewer?: string;
  at?: string;
  fingerprint?: string;
  /** The signature matches the review and the key it names. */
  signed: boolean;
  /** The review covers the bundle's SHA256SUMS as it is now. */
  current: boolean;
}

/** Every review in the bundle: whether it is signed by the key it names and covers the bundle as it is now. */
export async function checkReviews(dir: string): Promise<ReviewCheck[]> {
  const names = (await readdir(join(dir, REVIEWS_DIR)).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
  const current = await sumsHash(dir).catch(() => undefined);
  const checks: ReviewCheck[] = [];
  for (const name of names) {
    const content = await readFile(join(dir, REVIEWS_DIR, name));
    const signature = await readFile(join(dir, REVIEWS_DIR, `${name}.sig`)).catch(() => undefined);
    let parsed: Review | undefined;
    try {
      parsed = ReviewSchema.parse(JSON.parse(content.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    let signed = false;
    if (parsed && signature) {
      const key = createPublicKey(parsed.key.publicKeyPem);
      signed = fingerprintOf(key) === parsed.key.fingerprint && verify(null, content, key, signature);
    }
    checks.push({
      file: `${REVIEWS_DIR}/${name}`,
      ...(parsed ? { reviewer: parsed.reviewer, at: parsed.at, fingerprint: parsed.key.fingerprint } : {}),
      signed,
      current: parsed?.sumsSha256 === current,
    });
  }
  return checks;
}

export function describeReviews(checks: ReviewCheck[]): string {
  if (checks.length === 0) return 'reviews: none (approve with: nmia-drill sign <dir> --reviewer <name>)\n';
  return `${checks
    .map(
      (check) =>
        `review: ${check.reviewer ?? '?'} at ${check.at ?? '?'} (key ${check.fingerprint ?? '?'}): ${check.signed ? 'signature valid' : 'signature INVALID'}, ${check.current ? 'covers this bundle as it is' : 'STALE: the bundle changed after the review'} (${check.file})`,
    )
    .join('\n')}\n`;
}
