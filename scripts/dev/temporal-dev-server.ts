/**
 * Runs the real Temporal dev server (`temporal server start-dev`) built by scripts/setup.sh into .tools/bin.
 * Used by the start command and the test harness; production runs a Temporal cluster instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../src/contract';

export const TEMPORAL_BIN = join(__dirname, '..', '..', '.tools', 'bin', 'temporal');

/** util-linux's setpriv (Debian: always installed), which can set the parent-death signal; undefined elsewhere. */
const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv', '/usr/local/bin/setpriv'].find(existsSync) : undefined;
/** Whether diesWithThisProcess can keep its promise here. */
export const CHILDREN_DIE_WITH_THIS_PROCESS = SETPRIV !== undefined;

/**
 * The command line that runs `command` so that it gets SIGTERM as soon as this process ends, however it ends: also
 * SIGKILL, which leaves no chance to stop children. setpriv sets Linux's parent-death signal, then execs the command
 * (same PID). The kernel sends it when the thread that spawned the child ends: spawn from the main thread only.
 * Without setpriv (not Linux, see CHILDREN_DIE_WITH_THIS_PROCESS), the command runs as it is.
 */
export function diesWithThisProcess(command: string, args: string[]): { command: string; args: string[] } {
  return SETPRIV ? { command: SETPRIV, args: ['--pdeathsig', 'SIGTERM', '--', command, ...args] } : { command, args };
}

export interface DevServerOptions {
  ip: string;
  port: number;
  /** Omit for headless. */
  uiPort?: number;
  namespace: string;
  /** Omit to keep state in memory only. */
  dbFilename?: string;
  /** Where the server's own output goes. */
  output: 'inherit' | 'ignore';
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  if (!existsSync(TEMPORAL_BIN)) {
    throw new Error(`Temporal CLI not found at ${TEMPORAL_BIN}: run \`npm run setup\` first (it builds it, a few minutes the first time).`);
  }
  const args = ['server', 'start-dev', '--ip', options.ip, '--port', String(options.port), '--namespace', options.namespace];
  args.push('--log-level', 'error');
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFilename) {
    mkdirSync(dirname(options.dbFilename), { recursive: true });
    // WAL keeps the file-backed store fast enough; the defaults manage only a few workflows a second.
    args.push('--db-filename', options.dbFilename, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const attribute of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${attribute.name}=${attribute.cliType}`);

  // Its own process group: a Ctrl-C or a closed terminal reaches the caller only, which stops the server last. A test
  // run or start command that ends without its teardown, even killed, must not leave a server running: the server
  // dies with this process (parent-death signal), and is killed on a normal exit.
  const tied = diesWithThisProcess(TEMPORAL_BIN, args);
  const child = spawn(tied.command, tied.args, { detached: true, stdio: ['ignore', options.output, options.output] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const address = `${options.ip}:${options.port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitUntilServing(address, options.namespace, exited);
  await addMissingSearchAttributes(address, options.namespace);
  return {
    address,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** `--search-attribute` is ignored for state kept from an earlier version: add what a newer one uses. */
async function addMissingSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((attribute) => !customAttributes?.[attribute.name]);
    if (!missing.length) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((attribute) => [attribute.name, INDEXED_VALUE_TYPES[attribute.cliType]])),
    });
  } finally {
    await connection.close();
  }
}

const INDEXED_VALUE_TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

async function waitUntilServing(address: string, namespace: string, exited: Promise<number | null>): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`temporal server start-dev exited with code ${exitCode} before serving`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`Temporal dev server at ${address} did not become ready within 60 s`);
}
