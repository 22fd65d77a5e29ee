#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npm install` is the only build step.
// This is where the engine meets the runbook's procedures: src/ never imports runbook/, the registry is handed in here.
import { register } from 'tsx/esm/api';

register();
const { PROCEDURES } = await import('../runbook/registry.ts');
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv, PROCEDURES);
