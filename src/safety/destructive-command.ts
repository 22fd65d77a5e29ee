/**
 * Reads a `docker …` argv for what it would destroy or create, before it runs. Pure: the guard
 * (compose stack) and the shim (emulated stack) act on the result.
 */
import { basename } from 'node:path';

/** A client tool run inside a compose service: where it lands and how it connects. */
export interface ServiceExec {
  /** `docker compose` options before the subcommand (-f, -p, --project-directory, …). */
  composeArgs: string[];
  /** exec options that shape the environment (-e, -u, --index), repeated for the guard's own query. */
  execArgs: string[];
  service: string;
  /** libpq connection options of the tool (-h, -p, -U, -w), for the ownership query. */
  connectionArgs: string[];
  /** The database the ownership query connects to (the tool's maintenance database). */
  maintenanceDb: string;
}

export type GuardedAction =
  | { kind: 'drop-database'; database: string; exec: ServiceExec; command: string }
  | { kind: 'create-database'; database: string; exec: ServiceExec }
  | { kind: 'remove-volumes'; volumes: string[] }
  | { kind: 'remove-project-volumes'; composeArgs: string[] }
  | { kind: 'remove-containers'; containers: string[] }
  /** Named volumes the command creates if missing (`docker run -v x:/p`, `docker volume create x`). */
  | { kind: 'create-volumes'; volumes: string[] }
  | { kind: 'unverifiable'; what: string; why: string };

const COMPOSE_GLOBALS_WITH_VALUE = [
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--project-directory',
  '--env-file',
  '--profile',
  '--ansi',
  '--progress',
  '--parallel',
];
const EXEC_WITH_VALUE = ['-e', '--env', '-u', '--user', '-w', '--workdir', '--index'];
const EXEC_KEPT = ['-e', '--env', '-u', '--user', '--index'];
const RUN_WITH_VALUE = [
  '-v',
  '--volume',
  '-e',
  '--env',
  '-w',
  '--workdir',
  '--name',
  '--mount',
  '-l',
  '--label',
  '--network',
  '--entrypoint',
  '-u',
  '--user',
  '-p',
  '--publish',
  '--env-file',
  '--platform',
  '--pull',
  '-h',
  '--hostname',
];
const LIBPQ_WITH_VALUE = ['-h', '--host', '-p', '--port', '-U', '--username'];
const LIBPQ_FLAGS = ['-w', '--no-password'];
const DROPDB_WITH_VALUE = [...LIBPQ_WITH_VALUE, '--maintenance-db'];
const CREATEDB_WITH_VALUE = [
  ...LIBPQ_WITH_VALUE,
  '--maintenance-db',
  '-D',
  '--tablespace',
  '-E',
  '--encoding',
  '-l',
  '--locale',
  '--lc-collate',
  '--lc-ctype',
  '--icu-locale',
  '--icu-rules',
  '--locale-provider',
  '-O',
  '--owner',
  '-S',
  '--strategy',
  '-T',
  '--template',
  '--builtin-locale',
];
const PSQL_WITH_VALUE = [
  ...LIBPQ_WITH_VALUE,
  '-c',
  '--command',
  '-d',
  '--dbname',
  '-f',
  '--file',
  '-v',
  '--set',
  '--variable',
  '-o',
  '--output',
  '-L',
  '--log-file',
  '-P',
  '--pset',
  '-F',
  '--field-separator',
  '-R',
  '--record-separator',
  '-T',
  '--table-attr',
];
const DROP_DATABASE = /\bDROP\s+DATABASE\s+(?:IF\s+EXISTS\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/gi;

interface ParsedArgs {
  values: Map<string, string[]>;
  flags: string[];
  positional: string[];
}

/** getopt-style: `-Xvalue`, `-X value`, `--long=value`, `--long value`; stops at the first positional when asked. */
function parseArgs(args: readonly string[], withValue: readonly string[], stopAtPositional = false): ParsedArgs & { rest: string[] } {
  const values = new Map<string, string[]>();
  const flags: string[] = [];
  const positional: string[] = [];
  const add = (name: string, value: string) => values.set(name, [...(values.get(name) ?? []), value]);
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      i = args.length;
      break;
    }
    if (arg.startsWith('--') && arg.includes('=')) {
      const name = arg.slice(0, arg.indexOf('='));
      if (withValue.includes(name)) add(name, arg.slice(arg.indexOf('=') + 1));
      else flags.push(arg);
    } else if (withValue.includes(arg)) {
      add(arg, args[++i] ?? '');
    } else if (/^-[A-Za-z]./.test(arg) && withValue.includes(arg.slice(0, 2))) {
      add(arg.slice(0, 2), arg.slice(2));
    } else if (arg.startsWith('-') && arg !== '-') {
      flags.push(arg);
    } else {
      positional.push(arg);
      if (stopAtPositional) {
        i++;
        break;
      }
    }
  }
  return { values, flags, positional, rest: args.slice(i) as string[] };
}

function first(parsed: ParsedArgs, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = parsed.values.get(name)?.at(-1);
    if (value !== undefined) return value;
  }
  return undefined;
}

function connectionArgs(parsed: ParsedArgs): string[] {
  const args: string[] = [];
  for (const [names, short] of [
    [['-h', '--host'], '-h'],
    [['-p', '--port'], '-p'],
    [['-U', '--username'], '-U'],
  ] as const) {
    const value = first(parsed, ...names);
    if (value !== undefined) args.push(short, value);
  }
  if (parsed.flags.some((flag) => LIBPQ_FLAGS.includes(flag))) args.push('-w');
  return args;
}

function unquoteIdentifier(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token.toLowerCase();
}

/** What a PostgreSQL client tool run in a service would drop or create. */
function clientToolActions(
  tool: string,
  toolArgs: string[],
  exec: Omit<ServiceExec, 'connectionArgs' | 'maintenanceDb'>,
  label: string,
): GuardedAction[] {
  switch (basename(tool)) {
    case 'dropdb': {
      const parsed = parseArgs(toolArgs, DROPDB_WITH_VALUE);
      const database = parsed.positional[0];
      if (!database) return [];
      return [
        {
          kind: 'drop-database',
          database,
          command: label,
          exec: { ...exec, connectionArgs: connectionArgs(parsed), maintenanceDb: first(parsed, '--maintenance-db') ?? 'postgres' },
        },
      ];
    }
    case 'createdb': {
      const parsed = parseArgs(toolArgs, CREATEDB_WITH_VALUE);
      const database = parsed.positional[0];
      if (!database) return [];
      return [
        {
          kind: 'create-database',
          database,
          exec: { ...exec, connectionArgs: connectionArgs(parsed), maintenanceDb: first(parsed, '--maintenance-db') ?? 'postgres' },
        },
      ];
    }
    case 'psql': {
      const parsed = parseArgs(toolArgs, PSQL_WITH_VALUE);
      const sql = [...(parsed.values.get('-c') ?? []), ...(parsed.values.get('--command') ?? [])].join(';\n');
      const databases = [...sql.matchAll(DROP_DATABASE)].map((match) => unquoteIdentifier(match[1]!));
      // Connecting to a database being dropped fails anyway; the shared catalog answers from any database.
      const full = { ...exec, connectionArgs: connectionArgs(parsed), maintenanceDb: 'postgres' };
      return databases.map((database) => ({ kind: 'drop-database' as const, database, command: label, exec: full }));
    }
    case 'pg_restore': {
      const parsed = parseArgs(toolArgs, [
        ...LIBPQ_WITH_VALUE,
        '-d',
        '--dbname',
        '-f',
        '--file',
        '-F',
        '--format',
        '-j',
        '--jobs',
        '-L',
        '--use-list',
        '-n',
        '--schema',
        '-N',
        '--exclude-schema',
        '-t',
        '--table',
        '-T',
        '--trigger',
        '-I',
        '--index',
        '-P',
        '--function',
        '-S',
        '--superuser',
        '--role',
      ]);
      const cluster = (letter: string) => parsed.flags.some((flag) => /^-[A-Za-z]+$/.test(flag) && flag.includes(letter));
      const clean = parsed.flags.includes('--clean') || cluster('c');
      const create = parsed.flags.includes('--create') || cluster('C');
      return clean && create
        ? [
            {
              kind: 'unverifiable',
              what: `to run "${label}"`,
              why: 'with --clean --create it drops the database named inside the archive, which cannot be checked before it runs',
            },
          ]
        : [];
    }
    case 'sh':
    case 'bash': {
      const script = toolArgs.join(' ');
      return /\bdropdb\b|\bDROP\s+DATABASE\b/i.test(script)
        ? [
            {
              kind: 'unverifiable',
              what: `to run "${label}"`,
              why: 'a shell script that drops databases cannot be checked before it runs; call dropdb or psql -c directly',
            },
          ]
        : [];
    }
    default:
      return [];
  }
}

function composeActions(args: string[]): GuardedAction[] {
  const globals = parseArgs(args, COMPOSE_GLOBALS_WITH_VALUE, true);
  const subcommand = globals.positional[0];
  const composeArgs = args.slice(0, args.length - globals.rest.length - 1);
  const rest = globals.rest;
  switch (subcommand) {
    case 'exec': {
      const parsed = parseArgs(rest, EXEC_WITH_VALUE, true);
      const [service] = parsed.positional;
      const [tool, ...toolArgs] = parsed.rest;
      if (!service || !tool) return [];
      const execArgs: string[] = [];
      for (const name of EXEC_KEPT) for (const value of parsed.values.get(name) ?? []) execArgs.push(name, value);
      return clientToolActions(tool, toolArgs, { composeArgs, execArgs, service }, `docker compose ${args.join(' ')}`);
    }
    case 'run': {
      const parsed = parseArgs(rest, [...RUN_WITH_VALUE], true);
      const [tool, ...toolArgs] = parsed.rest;
      const inner = tool
        ? clientToolActions(
            tool,
            toolArgs,
            { composeArgs, execArgs: [], service: parsed.positional[0] ?? '' },
            `docker compose ${args.join(' ')}`,
          )
        : [];
      return inner.some((action) => action.kind === 'drop-database' || action.kind === 'unverifiable')
        ? [
            {
              kind: 'unverifiable',
              what: `to run "docker compose ${args.join(' ')}"`,
              why: 'databases are checked for the ownership marker only through `docker compose exec`',
            },
          ]
        : [];
    }
    case 'down': {
      const parsed = parseArgs(rest, ['-t', '--timeout', '--rmi']);
      return parsed.flags.includes('-v') || parsed.flags.includes('--volumes') ? [{ kind: 'remove-project-volumes', composeArgs }] : [];
    }
    default:
      return [];
  }
}

function namedVolumes(specs: readonly string[]): string[] {
  return specs
    .map((spec) => spec.split(':')[0] ?? '')
    .filter(
      (source) => source !== '' && !source.startsWith('/') && !source.startsWith('.') && !source.startsWith('~') && !source.includes('$'),
    );
}

/** Everything a `docker` argv would destroy (checked first) or create (marked). */
export function guardedActions(argv: readonly string[]): GuardedAction[] {
  const [command, ...args] = argv;
  switch (command) {
    case 'compose':
      return composeActions(args);
    case 'volume': {
      const [subcommand, ...rest] = args;
      const parsed = parseArgs(rest, [
        '--label',
        '-d',
        '--driver',
        '-o',
        '--opt',
        '--scope',
        '--availability',
        '--group',
        '--limit-bytes',
        '--required-bytes',
        '--sharing',
        '--secret',
        '--topology-preferred',
        '--topology-required',
        '--type',
        '--filter',
        '--format',
      ]);
      if (subcommand === 'rm' || subcommand === 'remove')
        return parsed.positional.length > 0 ? [{ kind: 'remove-volumes', volumes: parsed.positional }] : [];
      if (subcommand === 'create' && parsed.positional[0]) return [{ kind: 'create-volumes', volumes: [parsed.positional[0]] }];
      if (subcommand === 'prune')
        return [
          { kind: 'unverifiable', what: `to run "docker ${argv.join(' ')}"`, why: 'prune removes volumes this drill did not create' },
        ];
      return [];
    }
    case 'system':
    case 'container':
    case 'image':
    case 'network':
      if (args[0] === 'prune')
        return [
          { kind: 'unverifiable', what: `to run "docker ${argv.join(' ')}"`, why: 'prune removes resources this drill did not create' },
        ];
      if (command === 'container' && (args[0] === 'rm' || args[0] === 'remove')) return guardedActions(['rm', ...args.slice(1)]);
      return [];
    case 'rm': {
      const parsed = parseArgs(args, ['-t', '--time']);
      return parsed.positional.length > 0 ? [{ kind: 'remove-containers', containers: parsed.positional }] : [];
    }
    case 'run': {
      const parsed = parseArgs(args, RUN_WITH_VALUE, true);
      const volumes = namedVolumes([...(parsed.values.get('-v') ?? []), ...(parsed.values.get('--volume') ?? [])]);
      return volumes.length > 0 ? [{ kind: 'create-volumes', volumes }] : [];
    }
    case 'exec': {
      const parsed = parseArgs(args, EXEC_WITH_VALUE, true);
      const [tool, ...toolArgs] = parsed.rest;
      const inner = tool
        ? clientToolActions(tool, toolArgs, { composeArgs: [], execArgs: [], service: '' }, `docker ${argv.join(' ')}`)
        : [];
      return inner.some((action) => action.kind === 'drop-database' || action.kind === 'unverifiable')
        ? [
            {
              kind: 'unverifiable',
              what: `to run "docker ${argv.join(' ')}"`,
              why: 'databases are checked for the ownership marker only through `docker compose exec`',
            },
          ]
        : [];
    }
    default:
      return [];
  }
}

/** The value of a `docker compose` option (e.g. -f) among the options before the subcommand. */
export function composeOption(composeArgs: readonly string[], names: readonly string[]): string | undefined {
  return first(parseArgs(composeArgs, COMPOSE_GLOBALS_WITH_VALUE), ...names);
}
