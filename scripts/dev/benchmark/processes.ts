/**
 * The benchmark's own system: each part a separate node process (as `npm start` runs them) tied to the benchmark
 * with the parent-death signal, on its own ports, database, task queue and file-backed Temporal state, so that
 * nothing of a running `npm start` is touched and nothing outlives the benchmark.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diesWithThisProcess } from '../temporal-dev-server';

const ROOT = join(__dirname, '..', '..', '..');
/** tsx's loader, for `node --import`: one node process per part, as start-system runs them. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const KEPT_LINES = 50;

export interface BenchmarkChild {
  name: string;
  pid: number;
  /** Resolves with the first output line matching, rejects when the process exits first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** The last lines it wrote, for an error message. */
  lastLines(): string;
  /** Calls `listener` with every line it writes from now on. */
  onLine(listener: (line: string) => void): void;
  exited: Promise<number | null>;
  /** Its exit code, null while it runs (or when a signal ended it). */
  exitCode(): number | null;
  /** SIGTERM to its process group, SIGKILL after 15 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs a file as one node process in its own process group (Ctrl-C reaches the benchmark only, which stops the
 * children itself), with `nodeOptions` before the file (e.g. --cpu-prof): compiled JavaScript (an absolute path, as
 * production runs it) directly, a TypeScript file of this project through tsx.
 */
export function startNodeChild(name: string, file: string, options: { env: NodeJS.ProcessEnv; cwd: string; nodeOptions?: string[]; args?: string[] }): BenchmarkChild {
  const entry = file.endsWith('.js') ? [file] : ['--import', TSX_LOADER, join(ROOT, file)];
  const tied = diesWithThisProcess(process.execPath, [...(options.nodeOptions ?? []), ...entry, ...(options.args ?? [])]);
  const child: ChildProcess = spawn(tied.command, tied.args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > KEPT_LINES) lines.shift();
        for (const watcher of watchers) watcher(line);
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lastLines = () => lines.slice(-20).join('\n');
  return {
    name,
    pid: child.pid!,
    exited,
    exitCode: () => child.exitCode ?? (child.signalCode ? 128 : null),
    lastLines,
    onLine(listener) {
      watchers.add(listener);
    },
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`${name}: not ready within ${timeoutMs / 1000} s; last output:\n${lastLines()}`)), timeoutMs);
        const watcher = (line: string) => pattern.test(line) && finish();
        function finish(error?: Error) {
          clearTimeout(timer);
          watchers.delete(watcher);
          if (error) reject(error);
          else resolve();
        }
        watchers.add(watcher);
        void exited.then((code) => watchers.has(watcher) && finish(new Error(`${name} exited (code ${code}) before it was ready; last output:\n${lastLines()}`)));
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      signalGroup('SIGTERM');
      const timeout = setTimeout(() => signalGroup('SIGKILL'), 15_000);
      await once(child, 'exit');
      clearTimeout(timeout);
    },
  };
}

/** Resident set size of a process in MB, from /proc (Linux); NaN once it is gone. */
export function rssMegabytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Clock ticks per second, the unit of /proc's CPU times (100 on every Linux this runs on; asked once). */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux); NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name's closing parenthesis: state is field 3, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used by every process with this command name (e.g. PostgreSQL's server and backends). */
export function cpuSecondsOfCommand(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) total += cpuSeconds(Number(entry)) || 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Busy CPU seconds of the whole machine (every core; idle, I/O wait and time stolen by the host left out), from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...times] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq] = times;
  return (user + nice + system + irq + softirq) / ticksPerSecond();
}
