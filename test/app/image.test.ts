import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');
const IGNORE_FILE = 'app/.dockerignore';

describe('the image build context', () => {
  it('has exactly one real ignore file, which every builder finds through symlinks', () => {
    const ignoreFiles = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((file) => /(^|\/)(\.dockerignore|\.containerignore|[^/]+\.dockerignore)$/.test(file));
    expect(ignoreFiles.sort()).toEqual(['.dockerignore', IGNORE_FILE, 'app/Dockerfile.dockerignore']);

    expect(fs.lstatSync(path.join(REPO_ROOT, IGNORE_FILE)).isFile()).toBe(true);
    // The context's own file (classic builder, BuildKit, Podman) and BuildKit's per-Dockerfile one.
    for (const link of ['.dockerignore', 'app/Dockerfile.dockerignore']) {
      expect(fs.lstatSync(path.join(REPO_ROOT, link)).isSymbolicLink()).toBe(true);
      expect(fs.realpathSync(path.join(REPO_ROOT, link))).toBe(fs.realpathSync(path.join(REPO_ROOT, IGNORE_FILE)));
    }
  });

  it('lets in everything the Dockerfile copies from the context', () => {
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'app/Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(/\s+/));
    const allowed = fs
      .readFileSync(path.join(REPO_ROOT, IGNORE_FILE), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(allowed).toContain(source);
  });
});
