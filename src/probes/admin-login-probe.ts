import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, type ProbeVerdict } from './probe.ts';

/** "Admin can log in with existing credentials": POST /api/v1/auth/login (JSON) with the pre-disaster credentials → 200 + token. */
export class AdminLoginProbe implements ChecklistProbe {
  readonly id = 'admin-login' as const;

  item(session: ProbeSession): string {
    return `Admin (${session.target.admin.username}) can log in with existing credentials at ${session.apiUrl(NMIA_API_ROUTES.login)}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const login = await session.freshLogin();
    const evidence = {
      username: session.target.admin.username,
      ...(login.status !== undefined ? { status: login.status } : {}),
      ...(login.tokenType ? { tokenType: login.tokenType } : {}),
      ...(login.expiresIn !== undefined ? { expiresInS: login.expiresIn } : {}),
      tokenIssued: login.token !== undefined,
    };
    if (login.token === undefined) {
      const refused = login.status === 401 || login.status === 403;
      throw ProbeFailure.failed(
        `${login.failure ?? 'login failed'}${refused ? ' (the pre-disaster credentials were refused)' : ''}`,
        evidence,
      );
    }
    return {
      outcome: 'passed',
      summary: `${session.target.admin.username} logged in: HTTP 200 with a ${login.tokenType ?? 'bearer'} token`,
      evidence,
    };
  }
}
