/** Summarises a V8 CPU profile (node --cpu-prof): where the process spent its own time, by function and by package. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotSpot {
  name: string;
  percent: number;
}

export interface ProfileSummary {
  seconds: number;
  functions: HotSpot[];
  packages: HotSpot[];
}

export function summariseCpuProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; endTime: number };
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const { callFrame, hitCount = 0 } of profile.nodes) {
    if (!hitCount) continue;
    total += hitCount;
    const where = callFrame.url ? `${shortPath(callFrame.url)}:${callFrame.lineNumber + 1}` : 'native';
    add(byFunction, `${callFrame.functionName || '(anonymous)'} ${where}`, hitCount);
    add(byPackage, packageOf(callFrame), hitCount);
  }
  const ranked = (counts: Map<string, number>) =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, percent: (100 * hits) / total }));
  return { seconds: (profile.endTime - profile.startTime) / 1e6, functions: ranked(byFunction), packages: ranked(byPackage) };
}

function add(counts: Map<string, number>, key: string, hits: number): void {
  counts.set(key, (counts.get(key) ?? 0) + hits);
}

function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('node_modules/');
  return inModules >= 0 ? path.slice(inModules + 'node_modules/'.length) : path.replace(/^.*?\/(src|scripts)\//, '$1/');
}

/** `(idle)`, `(garbage collector)`, a package under node_modules, `node:<module>`, or the project's folder. */
function packageOf({ functionName, url }: ProfileNode['callFrame']): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1];
  const inProject = /\/(src\/[^/]+|scripts|fake-calendly)\//.exec(url);
  return inProject ? inProject[1] : url;
}
