import { EmulatedStack } from './emulated/emulated-stack.ts';
import type { StackSelection } from './stack-selector.ts';
import type { StartedStack } from './stack.ts';
import type { Workspace } from './workspace.ts';
import type { AppCheckout } from '../app/app-checkout.ts';

export interface StackRequest {
  workspace: Workspace;
  composeFile: string;
  dotEnv: Record<string, string>;
  /** An app repository cloned as the project directory (compose stack only). */
  app?: { checkout: AppCheckout; mounts: readonly string[] };
  /** Told of long set-up work (the compose stack building the app's images). */
  onStep?: (message: string) => void;
}

/** Whether this build can run the runbook against a real Docker Compose project. */
export const COMPOSE_SUPPORTED = true;

/** Prepares the selected stack in the workspace; services are started by the caller. */
export async function createStack(selection: StackSelection, request: StackRequest): Promise<StartedStack> {
  switch (selection.kind) {
    case 'emulated':
      return EmulatedStack.create({
        workspace: request.workspace,
        composeFile: request.composeFile,
        dotEnv: request.dotEnv,
        reason: selection.reason,
      });
    case 'compose': {
      // Loaded on demand: testcontainers is a large module graph an emulated drill never needs.
      const { ComposeStack } = await import('./compose/compose-stack.ts');
      return ComposeStack.create({ ...request, reason: selection.reason });
    }
  }
}
