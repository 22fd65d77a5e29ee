import { CONFIG_FILE_NAMES } from '../config/config-file.ts';
import type { RunSettings, Setting } from '../config/drill-settings.ts';
import { PIN_COMMAND } from '../runbook/runbook-lock.ts';
import type { DrillPlan, PlannedRun } from './drill-plan.ts';

function from(setting: Setting<unknown>): string {
  return setting.source === 'default' ? '(default)' : `(${setting.from})`;
}

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

/** The plan for people: settings and where each came from, drift, then every procedure run in order. */
export function renderPlan(plan: DrillPlan, settings: RunSettings, cwd: string): string {
  const out: string[] = [];
  const line = (text = '') => out.push(text);
  line('nmia-drill plan — a dry run: nothing is started, written or contacted');
  line();
  line(`runbook     ${plan.runbook.path} (sha256 ${plan.runbook.sha256.slice(0, 12)}…) ${from(settings.runbook)}`);
  line(`lock        ${plan.runbook.lockPath}`);
  line(`config      ${settings.config ? settings.config.path : `none (no --config, ${CONFIG_FILE_NAMES.join(' or ')} in ${cwd})`}`);
  line(`app         ${plan.app.source} (${plan.app.kind}) ${from(settings.app)}`);
  for (const action of plan.app.harnessActions ?? []) line(`              · ${action}`);
  if (plan.app.unavailable) line(`              compose additions: not listed (${plan.app.unavailable})`);
  for (const addition of plan.app.composeAdditions ?? [])
    line(
      `              + ${addition.path}: ${JSON.stringify(addition.value)}${addition.replaces ? ` (instead of ${addition.replaces}, when the engine lacks it)` : ''} — ${addition.reason}`,
    );
  line(`stack       ${plan.stack.requested === 'auto' ? 'auto' : plan.stack.kind}: ${plan.stack.note} ${from(settings.stack)}`);
  line(`isolation   ${plan.isolation} ${from(settings.isolation)}`);
  line(`data        scale ${settings.scale.value} ${from(settings.scale)}, seed ${settings.seed.value} ${from(settings.seed)}`);
  line(
    `objectives  RTO ${settings.rtoSeconds.value} s ${from(settings.rtoSeconds)}, RPO ${settings.rpoSeconds.value} s ${from(settings.rpoSeconds)}`,
  );
  line(`reports     ${settings.reportDir.value}/<YYYYMMDD-HHMMSS>-<drill id>/ (plan creates nothing there) ${from(settings.reportDir)}`);
  if (settings.operator.value) line(`operator    ${settings.operator.value} ${from(settings.operator)}`);
  if (settings.only.value.length > 0) line(`only        ${settings.only.value.join(', ')} ${from(settings.only)}`);
  if (settings.skip.value.length > 0) line(`skip        ${settings.skip.value.join(', ')} ${from(settings.skip)}`);
  if (settings.probes.notes.length === 0)
    line(
      'probes      the reference stack: api :8000, ui :5173 (reference UI sign-in and selectors), the seeded admin, the first enabled ldap:// connector',
    );
  else for (const [index, note] of settings.probes.notes.entries()) line(`${index === 0 ? 'probes      ' : '            '}${note}`);
  line();
  if (plan.drift.length === 0) {
    line('drift       none: every block matches the lock');
  } else {
    const verdict = plan.allowDrift
      ? 'running anyway (--allow-drift): the drift is recorded as a finding'
      : `the drill would stop here and run nothing (exit 1); review the change, then ${PIN_COMMAND} (or --allow-drift)`;
    line(`DRIFT       ${plan.drift.length} block(s): ${verdict}`);
    for (const drift of plan.drift) line(`  - ${drift.kind}: ${drift.message}`);
  }
  for (const [position, run] of plan.runs.entries()) {
    line();
    renderRun(run, position + 1, line);
  }
  line();
  const order = plan.runs.filter((run) => run.mode === 'order').length;
  const alone = plan.runs.filter((run) => run.mode === 'alone').length;
  const counts = [order > 0 ? `${order} in runbook order` : '', alone > 0 ? `${alone} alone` : ''].filter(Boolean).join(' + ');
  line(
    plan.wouldRun
      ? `${plan.runs.length} procedure run(s) (${counts}) would execute; plan ran none of them.`
      : `${plan.runs.length} procedure run(s) (${counts}) planned, but the drift check would stop the drill before any of them.`,
  );
  return `${out.join('\n')}\n`;
}

function renderRun(run: PlannedRun, position: number, line: (text?: string) => void): void {
  line(`── ${position}. ${run.id} (${run.mode}) — ${run.section} — ${run.location}`);
  line(`   ${run.title}`);
  line(`   environment: ${run.environment}; stack: ${run.stack}`);
  for (const input of run.inputs) line(`   input (made by the harness): ${input.file} — ${input.purpose}`);
  line(`   disaster: ${run.disaster ?? 'none (the procedure runs against the healthy seeded environment)'}`);
  for (const note of run.undescribed ?? []) line(`   note: ${note}`);
  for (const block of run.blocks) {
    if (block.substitutions.length === 0) {
      line(`   block ${block.index} at ${block.location}: runs as written (no bindings)`);
    } else {
      line(`   block ${block.index} at ${block.location}: runs with ${block.substitutions.length} binding(s):`);
      for (const substitution of block.substitutions) {
        const when = substitution.secret ? ' [secret]' : substitution.runtime ? ` [known at run time: ${substitution.runtime}]` : '';
        line(
          `     ${substitution.placeholder} → ${substitution.value}${when} — ${substitution.reason}${substitution.occurrences > 1 ? ` (×${substitution.occurrences})` : ''}`,
        );
      }
    }
    line(indent(block.text, '     | '));
  }
  for (const check of run.checkedWithoutRunning) {
    line(`   block ${check.index} at ${check.location}: checked, not run — ${check.reason}`);
    line(indent(check.text, '     | '));
  }
  if (run.unusedBindings.length > 0) line(`   bindings for no block of this section (not applied): ${run.unusedBindings.join(', ')}`);
  for (const artifact of run.produces) line(`   leaves for later procedures: ${artifact.name} ${artifact.file}`);
}
