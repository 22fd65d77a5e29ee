import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describeApp } from './app-description.ts';
import { type Attestation, buildAttestation } from './attestation.ts';
import { assessControls, type ControlMap, type ControlResult, controlMap } from './control-mapping.ts';
import { procedureAnchor } from './html-report.ts';
import { type Journal, type Outcome, outcomeSymbol, type ProcedureRecord } from './journal.ts';

/*
 * The drill as an OSCAL assessment-results document (oscal-assessment-results.json in the bundle), for GRC
 * tools that read OSCAL: one observation per procedure run, per rung check, per measured RTO/RPO and per
 * checklist item, each linking to the bundle files that hold its evidence; one finding per control of
 * controls/control-map.yaml, satisfied only when assessControls found evidence for every requirement.
 * Validated against NIST's published JSON Schema, vendored in ./oscal/ (see its README.md).
 */

export const OSCAL_FILE = 'oscal-assessment-results.json';
/** The OSCAL version of the vendored schema ($id http://csrc.nist.gov/ns/oscal/1.0.4/oscal-ar-schema.json). */
export const OSCAL_VERSION = '1.0.4';
export const OSCAL_SCHEMA_PATH = fileURLToPath(new URL('./oscal/oscal_assessment-results_schema.json', import.meta.url));
/** Namespace of this project's own property names, so none is mistaken for an OSCAL-defined one. */
export const OSCAL_PROPERTY_NS = 'urn:nmia-drill:oscal';

// UUIDv5 namespace for every uuid of the export: the same journal always gives the same document.
const UUID_NAMESPACE = Buffer.from('61169f9fbafc43ea8dcc96febf574f05', 'hex');
const SHA256 = /^[0-9a-f]{64}$/;

export interface OscalProperty {
  name: string;
  value: string;
  ns?: string;
}

export interface OscalLink {
  href: string;
  text?: string;
}

export interface OscalObservation {
  uuid: string;
  title: string;
  description: string;
  props?: OscalProperty[];
  methods: ('TEST' | 'INTERVIEW' | 'EXAMINE')[];
  origins: { actors: { type: 'tool'; 'actor-uuid': string }[] }[];
  subjects: { 'subject-uuid': string; type: 'component'; title: string }[];
  'relevant-evidence'?: { href: string; description: string }[];
  collected: string;
}

export interface OscalFinding {
  uuid: string;
  title: string;
  description: string;
  props?: OscalProperty[];
  origins: { actors: { type: 'tool'; 'actor-uuid': string }[] }[];
  target: {
    type: 'objective-id';
    'target-id': string;
    description: string;
    status: { state: 'satisfied' | 'not-satisfied'; reason: 'pass' | 'fail' | 'other'; remarks?: string };
  };
  'related-observations'?: { 'observation-uuid': string }[];
  links?: OscalLink[];
}

interface OscalComponent {
  uuid: string;
  type: string;
  title: string;
  description: string;
  props?: OscalProperty[];
  status: { state: 'operational' };
}

export interface OscalResult {
  uuid: string;
  title: string;
  description: string;
  start: string;
  end?: string;
  props?: OscalProperty[];
  'local-definitions': { components: OscalComponent[] };
  'reviewed-controls': { description: string; 'control-selections': { 'include-controls': { 'control-id': string }[] }[] };
  observations?: OscalObservation[];
  findings?: OscalFinding[];
  remarks: string;
}

export interface OscalAssessmentResults {
  'assessment-results': {
    uuid: string;
    metadata: { title: string; 'last-modified': string; version: string; 'oscal-version': string; remarks: string };
    'import-ap': { href: string; remarks: string };
    results: OscalResult[];
    'back-matter': {
      resources: {
        uuid: string;
        title: string;
        description: string;
        props?: OscalProperty[];
        rlinks?: { href: string; hashes?: { algorithm: 'SHA-256'; value: string }[] }[];
      }[];
    };
  };
}

export function uuidV5(name: string): string {
  const bytes = createHash('sha1').update(UUID_NAMESPACE).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** OSCAL's token for a control id, in NIST's catalog style: lower case, enhancement `(4)` as `.4` (CP-4(4) → cp-4.4). */
export function controlToken(id: string): string {
  const token = id
    .replace(/\((\w+)\)/g, '.$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/\.-|-\./g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return /^(\p{L}|_)/u.test(token) ? token : `_${token}`;
}

/** A property value is one trimmed line (the schema's StringDatatype); one that would be empty is left out. */
function prop(name: string, value: string | undefined): OscalProperty[] {
  const line = value?.replace(/\s+/g, ' ').trim();
  return line ? [{ name, value: line, ns: OSCAL_PROPERTY_NS }] : [];
}

/** OSCAL arrays hold at least one item: no properties, no `props`. */
function withProps(...lists: OscalProperty[][]): { props?: OscalProperty[] } {
  const props = lists.flat();
  return props.length > 0 ? { props } : {};
}

/** Likewise: evidence links only when the bundle has a file to link to. */
function withEvidence(...lists: { href: string; description: string }[][]): Pick<OscalObservation, 'relevant-evidence'> {
  const evidence = lists.flat();
  return evidence.length > 0 ? { 'relevant-evidence': evidence } : {};
}

function isoTime(...candidates: (string | number | undefined)[]): string {
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    const time = new Date(candidate);
    if (!Number.isNaN(time.getTime())) return time.toISOString();
  }
  throw new Error('internal error: the journal has no valid time for an OSCAL timestamp');
}

/** A path as a URI reference, each segment percent-encoded (no ':' or '#' in a name can make it another URI). */
function pathHref(path: string, fragment?: string): string {
  return `${path.split('/').map(encodeURIComponent).join('/')}${fragment ? `#${encodeURIComponent(fragment)}` : ''}`;
}

function ran(outcome: Outcome): boolean {
  return outcome !== 'not-run' && outcome !== 'skipped';
}

interface Evidence {
  has(path: string): boolean;
  under(prefix: string): string[];
}

function evidenceIn(bundleFiles: readonly string[]): Evidence {
  const files = new Set(bundleFiles);
  return {
    has: (path) => files.has(path),
    under: (prefix) => bundleFiles.filter((path) => path.startsWith(prefix)),
  };
}

function journalEvidence(evidence: Evidence, where: string): { href: string; description: string }[] {
  return evidence.has('journal.json') ? [{ href: pathHref('journal.json'), description: `journal.json, ${where}` }] : [];
}

function reportEvidence(evidence: Evidence, anchor: string, what: string): { href: string; description: string }[] {
  return evidence.has('report.html') ? [{ href: pathHref('report.html', anchor), description: `report.html: ${what}` }] : [];
}

function procedureEnd(procedure: ProcedureRecord, journal: Journal): string {
  const start = procedure.startedAt ? Date.parse(procedure.startedAt) : Number.NaN;
  return isoTime(Number.isNaN(start) ? undefined : start + (procedure.durationMs ?? 0), journal.finishedAt, journal.startedAt);
}

/** Which observations back which kind of requirement: filled while the observations are made. */
interface ObservationIndex {
  procedures: { procedure: ProcedureRecord; uuid: string }[];
  rungs: { rung: string; uuid: string }[];
  timing: { rto?: string; rpo?: string };
  checklist: string[];
}

function observationsOf(
  journal: Journal,
  measures: Attestation['measures'],
  evidence: Evidence,
  common: Pick<OscalObservation, 'origins' | 'subjects'>,
): { observations: OscalObservation[]; index: ObservationIndex } {
  const observations: OscalObservation[] = [];
  const index: ObservationIndex = { procedures: [], rungs: [], timing: {}, checklist: [] };
  journal.procedures.forEach((procedure, procedureIndex) => {
    if (!ran(procedure.outcome)) return;
    const name = `${procedure.mode}/${procedure.id}`;
    const key = `${journal.drillId}/procedure/${procedureIndex}/${name}`;
    const anchor = procedureAnchor(procedure);
    const collected = procedureEnd(procedure, journal);
    const uuid = uuidV5(key);
    observations.push({
      uuid,
      title: `${name}: ${procedure.title}`,
      description: `The runbook section "${procedure.section}"${procedure.line ? ` (line ${procedure.line})` : ''} ran as written, ${
        procedure.mode === 'alone' ? 'alone in a fresh workspace' : 'in runbook order'
      }: ${outcomeSymbol(procedure.outcome)}${procedure.reason ? ` (${procedure.reason})` : ''}.${
        procedure.findings.length > 0 ? ` Findings: ${procedure.findings.join(', ')}.` : ''
      }`,
      ...withProps(prop('procedure', procedure.id), prop('mode', procedure.mode), prop('outcome', procedure.outcome)),
      methods: ['TEST'],
      ...common,
      ...withEvidence(
        journalEvidence(evidence, `procedures[${procedureIndex}] (${name})`),
        reportEvidence(evidence, anchor, `the card of ${name}`),
        evidence.under(`procedures/${procedure.mode}-${procedure.id}/`).map((path) => ({
          href: pathHref(path),
          description: `what ${name} ran and printed: ${path}`,
        })),
      ),
      collected,
    });
    index.procedures.push({ procedure, uuid });
    procedure.rungs.forEach((rung, rungIndex) => {
      if (!ran(rung.outcome)) return;
      const rungUuid = uuidV5(`${key}/rung/${rungIndex}`);
      observations.push({
        uuid: rungUuid,
        title: `${name}: ${rung.rung}: ${rung.check}`,
        description: `${rung.check}: ${outcomeSymbol(rung.outcome)}: ${rung.summary}`,
        ...withProps(prop('procedure', procedure.id), prop('mode', procedure.mode), prop('rung', rung.rung), prop('outcome', rung.outcome)),
        methods: ['TEST'],
        ...common,
        ...withEvidence(
          journalEvidence(evidence, `procedures[${procedureIndex}].rungs[${rungIndex}] (${name}, ${rung.rung})`),
          reportEvidence(evidence, anchor, `the rungs of ${name}`),
        ),
        collected,
      });
      index.rungs.push({ rung: rung.rung, uuid: rungUuid });
    });
  });
  for (const measure of measures) {
    if (measure.verdict === 'not-measured') continue;
    const uuid = uuidV5(`${journal.drillId}/timing/${measure.name}`);
    observations.push({
      uuid,
      title: `${measure.name} measured`,
      description: `${measure.name}: ${measure.text}`,
      ...withProps(prop('measure', measure.name), prop('verdict', measure.verdict)),
      methods: ['TEST'],
      ...common,
      ...withEvidence(journalEvidence(evidence, 'timing'), reportEvidence(evidence, 'timing', 'RTO and RPO')),
      collected: isoTime(journal.finishedAt, journal.startedAt),
    });
    index.timing[measure.name === 'RTO' ? 'rto' : 'rpo'] = uuid;
  }
  (journal.checklist ?? []).forEach((item, itemIndex) => {
    if (!ran(item.outcome)) return;
    const uuid = uuidV5(`${journal.drillId}/checklist/${itemIndex}`);
    const byPerson = item.attestation?.method === 'human';
    observations.push({
      uuid,
      title: `checklist: ${item.item}`,
      description: `${item.item}: ${outcomeSymbol(item.outcome)}${item.summary ? `: ${item.summary}` : ''}${
        item.attestation ? ` (${byPerson ? 'attested by' : 'probed by'} ${item.attestation.by}: ${item.attestation.statement})` : ''
      }`,
      ...withProps(prop('outcome', item.outcome), prop('attested-by', item.attestation?.by)),
      // A person's sign-off is their statement, not a test the drill ran.
      methods: [byPerson ? 'INTERVIEW' : 'TEST'],
      ...common,
      ...withEvidence(
        journalEvidence(evidence, `checklist[${itemIndex}]`),
        reportEvidence(evidence, 'checklist', 'the checklist and its sign-offs'),
      ),
      collected: isoTime(item.attestation?.at, journal.finishedAt, journal.startedAt),
    });
    index.checklist.push(uuid);
  });
  return { observations, index };
}

type Requirement = ControlMap['controls'][number]['requirements'][number];

/** The observations a requirement's state was judged from (the same kinds of record assessControls reads). */
function observationsFor(requirement: Requirement, index: ObservationIndex): string[] {
  if (requirement.journal) return index.procedures.map(({ uuid }) => uuid);
  if (requirement.procedures)
    return index.procedures
      .filter(
        ({ procedure }) => requirement.procedures!.includes(procedure.id) && (!requirement.mode || procedure.mode === requirement.mode),
      )
      .map(({ uuid }) => uuid);
  if (requirement.rung) return index.rungs.filter(({ rung }) => rung === requirement.rung).map(({ uuid }) => uuid);
  if (requirement.timing) return index.timing[requirement.timing] ? [index.timing[requirement.timing]!] : [];
  return index.checklist;
}

const REASON: Record<ControlResult['status'], 'pass' | 'fail' | 'other'> = {
  evidence: 'pass',
  failed: 'fail',
  partial: 'other',
  missing: 'other',
};

function findingOf(
  journal: Journal,
  control: ControlResult,
  requirements: readonly Requirement[],
  index: ObservationIndex,
  evidence: Evidence,
  origins: OscalFinding['origins'],
): OscalFinding {
  const related = [...new Set(requirements.flatMap((requirement) => observationsFor(requirement, index)))];
  const satisfied = control.status === 'evidence';
  const lines = control.requirements.map((requirement) => `${requirement.id}: ${requirement.state}: ${requirement.detail}`);
  return {
    uuid: uuidV5(`${journal.drillId}/finding/${control.framework}/${control.id}`),
    title: `${control.id} (${control.framework})`,
    description: `Evidence this drill produced for ${control.id}, per requirement of controls/control-map.yaml: ${lines.join('; ')}.`,
    ...withProps(prop('control-id', control.id), prop('framework', control.framework), prop('evidence-status', control.status)),
    origins,
    target: {
      type: 'objective-id',
      'target-id': `${controlToken(control.id)}_obj`,
      description: control.requirements.map((requirement) => `${requirement.id}: ${requirement.description}`).join('; '),
      status: {
        state: satisfied ? 'satisfied' : 'not-satisfied',
        reason: REASON[control.status],
        ...(satisfied
          ? {}
          : {
              remarks: `Not satisfied: ${control.requirements
                .filter((requirement) => requirement.state !== 'produced')
                .map((requirement) => `${requirement.id} ${requirement.state}`)
                .join(', ')}. A failed, errored or not-run check never counts as evidence.`,
            }),
      },
    },
    ...(related.length > 0 ? { 'related-observations': related.map((uuid) => ({ 'observation-uuid': uuid })) } : {}),
    ...(evidence.has('attestation.md') ? { links: [{ href: pathHref('attestation.md'), text: 'the attestation: controls' }] } : {}),
  };
}

/**
 * The OSCAL assessment-results document of one drill. `bundleFiles` are the bundle's files (posix paths
 * relative to the report dir) that observations may link to; only those listed are linked.
 */
export function oscalAssessmentResults(
  journal: Journal,
  bundleFiles: readonly string[],
  map: ControlMap = controlMap(),
): OscalAssessmentResults {
  const evidence = evidenceIn(bundleFiles);
  const harnessUuid = uuidV5('component/nmia-drill');
  const appUuid = uuidV5(`component/app/${journal.app?.kind ?? 'unrecorded'}/${journal.app?.source ?? ''}`);
  const appTitle = `NMIA: ${describeApp(journal.app)}`;
  const origins = [{ actors: [{ type: 'tool' as const, 'actor-uuid': harnessUuid }] }];
  const attestation = buildAttestation(journal);
  const { observations, index } = observationsOf(journal, attestation.measures, evidence, {
    origins,
    subjects: [{ 'subject-uuid': appUuid, type: 'component', title: appTitle }],
  });
  const controls = assessControls(journal, map);
  const findings = controls.map((control, position) =>
    findingOf(journal, control, map.controls[position]!.requirements, index, evidence, origins),
  );
  const runbookUuid = uuidV5(`runbook/${journal.runbook.sha256 || journal.runbook.path}`);
  // A recorded path that is no path (verify-backup drills none) cannot be a link.
  const runbookIsFile = !journal.runbook.path.startsWith('(');
  return {
    'assessment-results': {
      uuid: uuidV5(`${journal.drillId}/assessment-results`),
      metadata: {
        title: `nmia-drill DR drill ${journal.drillId}: assessment results`,
        'last-modified': isoTime(journal.finishedAt, journal.startedAt),
        version: '1.0',
        'oscal-version': OSCAL_VERSION,
        remarks: `Exported by nmia-drill ${journal.harness.version} from journal.json of this bundle; SHA256SUMS (and its signature, when signed) covers this file.`,
      },
      'import-ap': {
        href: `#${runbookUuid}`,
        remarks:
          'No OSCAL assessment plan exists for a drill: its plan is the runbook it executed (none for verify-backup), described by path and sha256 in the back-matter resource this href points to, and the control mapping in controls/control-map.yaml.',
      },
      results: [
        {
          uuid: uuidV5(`${journal.drillId}/result`),
          title: `DR drill ${journal.drillId}`,
          description: attestation.verdict,
          start: isoTime(journal.startedAt),
          ...(journal.finishedAt ? { end: isoTime(journal.finishedAt) } : {}),
          ...withProps(
            prop('drill-id', journal.drillId),
            prop('outcome', journal.outcome),
            prop('runbook-sha256', journal.runbook.sha256),
            prop('runbook-lock', journal.runbook.lockState),
            prop('stack', journal.stack?.kind),
          ),
          'local-definitions': {
            components: [
              {
                uuid: appUuid,
                type: 'software',
                title: appTitle,
                description: 'The application whose backup and recovery the drill exercised.',
                status: { state: 'operational' },
              },
              {
                uuid: harnessUuid,
                type: 'software',
                title: 'nmia-drill',
                description: "The drill harness: it executed the runbook's shell blocks and checked each result.",
                ...withProps(prop('version', journal.harness.version), prop('commit', journal.harness.commit)),
                status: { state: 'operational' },
              },
            ],
          },
          'reviewed-controls': {
            description: "The controls of controls/control-map.yaml (cited by id only; their texts are their publishers').",
            'control-selections': [{ 'include-controls': controls.map((control) => ({ 'control-id': controlToken(control.id) })) }],
          },
          ...(observations.length > 0 ? { observations } : {}),
          ...(findings.length > 0 ? { findings } : {}),
          remarks:
            'One finding per control: satisfied only when every requirement of the control has evidence from a check that passed; a failed, errored, skipped or not-run check never counts.',
        },
      ],
      'back-matter': {
        resources: [
          {
            uuid: runbookUuid,
            title: runbookIsFile ? `Runbook drilled: ${journal.runbook.path}` : `No runbook drilled: ${journal.runbook.path}`,
            description: runbookIsFile
              ? `The runbook the drill executed as written (lock ${journal.runbook.lockState}${journal.runbook.allowDrift ? ', --allow-drift' : ''}).`
              : 'This drill executed no runbook.',
            ...withProps(prop('sha256', journal.runbook.sha256)),
            ...(runbookIsFile
              ? {
                  rlinks: [
                    {
                      href: pathHref(journal.runbook.path),
                      ...(SHA256.test(journal.runbook.sha256)
                        ? { hashes: [{ algorithm: 'SHA-256' as const, value: journal.runbook.sha256 }] }
                        : {}),
                    },
                  ],
                }
              : {}),
          },
        ],
      },
    },
  };
}

let validator: ValidateFunction | undefined;

/** ajv (draft-07, strict, with formats) compiled from the vendored NIST schema; compiled once. */
export function oscalValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ strict: true, allErrors: true });
    addFormatsModule.default(ajv);
    validator = ajv.compile(JSON.parse(readFileSync(OSCAL_SCHEMA_PATH, 'utf8')) as Record<string, unknown>);
  }
  return validator;
}

/** Where the document breaks NIST's schema (JSON pointer and ajv's message); empty when it is valid. */
export function oscalSchemaErrors(document: unknown): { path: string; message: string }[] {
  const validate = oscalValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => ({ path: error.instancePath || '/', message: error.message ?? error.keyword }));
}

/** The document's text as written into the bundle; one the schema rejects is a bug in this file, never written. */
export function oscalDocumentText(document: OscalAssessmentResults): string {
  const [first] = oscalSchemaErrors(document);
  if (first) throw new Error(`internal error: the OSCAL export does not match NIST's schema at ${first.path}: ${first.message}`);
  return `${JSON.stringify(document, null, 2)}\n`;
}

export function renderOscalAssessmentResults(journal: Journal, bundleFiles: readonly string[]): string {
  return oscalDocumentText(oscalAssessmentResults(journal, bundleFiles));
}
