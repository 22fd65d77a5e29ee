/** Images no registry can serve here, and the local stand-in each gets when the engine lacks it. */
export const IMAGE_SUBSTITUTES: Record<string, { image: string; why: string }> = {
  'postgres:16-alpine': {
    image: 'nmia-drill/postgres:17',
    why: 'no image registry is reachable here and Debian packages no PostgreSQL 16: the nearest local PostgreSQL image (trixie 17, the official image contract: POSTGRES_USER/PASSWORD/DB, pg_isready, data in /var/lib/postgresql/data)',
  },
};
