// A clean `npm ci` on the supported Node prints no warnings: no locked package asks for a newer
// Node than `engines` promises (EBADENGINE), and every install script is reviewed in
// allowScripts (npm 11 lists the unreviewed ones). Checked from the lockfile, without installing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));
const manifest = read('package.json');
const lock = read('package-lock.json') as { packages: Record<string, { engines?: { node?: string }; hasInstallScript?: boolean; optional?: boolean; os?: string[] }> };
const packageName = (location: string) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('npm ci on the supported Node', () => {
  const oldest = semver.minVersion(manifest.engines.node)!.version;

  it('supports the same Node in the root and the app workspace', () => {
    expect(read('app/package.json').engines).toEqual(manifest.engines);
  });

  it(`installs no package that needs a newer Node than ${oldest}`, () => {
    const tooNew = Object.entries(lock.packages)
      .filter(([location, entry]) => location && entry.engines?.node && !semver.satisfies(oldest, entry.engines.node))
      .map(([location, entry]) => `${location} needs node ${entry.engines!.node}`);
    expect(tooNew).toEqual([]);
  });

  it('has every install script reviewed in allowScripts', () => {
    const unreviewed = Object.entries(lock.packages)
      .filter(([location, entry]) => location.includes('node_modules/') && entry.hasInstallScript && !(entry.optional && entry.os))
      .map(([location]) => packageName(location))
      .filter((name) => !(name in manifest.allowScripts));
    expect(unreviewed).toEqual([]);
  });
});
