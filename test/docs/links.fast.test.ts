/**
 * The README stays an introduction (the reference lives in docs/), and every relative link of README.md and
 * docs/*.md leads somewhere: to a file that exists and, with a `#fragment`, to a heading of that file. Pure file
 * reads: no Temporal, no database.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const README_MAX_LINES = 250;
const pages = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(ROOT, 'docs', name))];

/** Markdown outside fenced code blocks and inline code, where `[text](target)` is a link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, '');
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count ? `${base}-${count}` : base);
  }
  return anchors;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

it(`keeps README.md within ${README_MAX_LINES} lines`, () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
  expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
});

it.each(pages.map((page) => [relative(ROOT, page), page]))('%s links only to files and headings that exist', (_name, page) => {
  const markdown = readFileSync(page, 'utf8');
  const broken: string[] = [];
  for (const target of linksOf(markdown).filter((link) => !isExternal(link))) {
    const [path, fragment] = target.split('#', 2);
    const file = path ? resolve(dirname(page), decodeURIComponent(path)) : page;
    if (!existsSync(file)) {
      broken.push(`${target}: no file ${relative(ROOT, file)}`);
      continue;
    }
    if (fragment !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(fragment)) {
      broken.push(`${target}: no heading #${fragment} in ${relative(ROOT, file)}`);
    }
  }
  expect(broken).toEqual([]);
});

it('finds the links of the pages it checks', () => {
  const readme = linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  expect(readme).toEqual(expect.arrayContaining(['docs/api.md', 'ARCHITECTURE.md']));
});
