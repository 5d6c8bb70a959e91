/**
 * Real child processes for fault tests: each runs in its own process group (`detached`), so that a SIGKILL reaches
 * the whole of it (the tsx launcher, the node process it starts and anything below), as a crashed container would,
 * and so that a test can list what is still alive in that group afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface GroupProcess {
  name: string;
  /** The launched process; also the process group id. */
  pid: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it wrote (stdout and stderr). */
  output(): string[];
  /** Resolves with the first output line that matches, or rejects after `timeoutMs` or when the process exits. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Sends a signal to the launched process only (as `docker stop` does to PID 1). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL to every process of the group. */
  killGroup(): void;
  /** Processes of the group that are still alive (zombies excluded). */
  alive(): number[];
}

const MAX_LINES = 400;
const everyGroup = new Set<number>();
process.once('exit', () => {
  for (const group of everyGroup) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function spawnGroup(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): GroupProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} could not be started`);
  everyGroup.add(pid);
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > MAX_LINES) lines.shift();
        for (const watcher of watchers) watcher(line);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  return {
    name,
    pid,
    child,
    exited,
    output: () => [...lines],
    waitForLine(pattern, timeoutMs) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          watchers.delete(watcher);
        };
        const watcher = (line: string) => {
          if (!pattern.test(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; last output:\n${lines.slice(-20).join('\n')}`));
        }, timeoutMs);
        watchers.add(watcher);
        void exited.then(({ code, signal }) => {
          if (!watchers.has(watcher)) return;
          done();
          reject(new Error(`${name} exited (${code ?? signal}) before ${pattern}; last output:\n${lines.slice(-20).join('\n')}`));
        });
      });
    },
    signal(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    killGroup() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    alive: () => aliveInGroup(pid),
  };
}

/** Every process (not a zombie) whose process group is `group`, read from /proc. */
export function aliveInGroup(group: number): number[] {
  const alive: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info && info.group === group && info.state !== 'Z') alive.push(Number(entry));
  }
  return alive;
}

/** Whether a process is alive (and not a zombie). */
export function isAlive(pid: number): boolean {
  const info = processInfo(pid);
  return info !== undefined && info.state !== 'Z';
}

function processInfo(pid: number): { state: string; group: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], group: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Polls until no process of the groups (and none of the extra pids) is alive, or the time is up; returns what is left. */
export async function waitUntilGone(groups: number[], pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = [...new Set([...groups.flatMap(aliveInGroup), ...pids.filter(isAlive)])];
    if (!left.length || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A short description of a process for a failure message, from /proc. */
export function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}`;
  } catch {
    return `${pid} (gone)`;
  }
}
