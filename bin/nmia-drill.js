#!/usr/bin/env node
// Runs the TypeScript CLI from a bundle of its sources (bin/cli-bundle.js), so `npm install` is the only build step.
import { pathToFileURL } from 'node:url';
import { cliBundle } from './cli-bundle.js';

process.setSourceMapsEnabled(true);
await import(pathToFileURL(await cliBundle()).href);
