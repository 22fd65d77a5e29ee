import { ComposeProject } from '../../docker/compose-file/compose-project.ts';

/** Images the runbook's own blocks use besides the services' (`docker run … alpine tar …`). */
export const BLOCK_IMAGES = ['alpine:latest'] as const;

/** Every image a compose drill of this file needs: its services' (interpolated as Compose would) and the blocks'. */
export function composeImages(composeFile: string, env: Record<string, string | undefined> = process.env): string[] {
  const project = ComposeProject.locate('/', composeFile, env);
  return [...new Set([...[...project.services.values()].map((service) => service.image), ...BLOCK_IMAGES])];
}
