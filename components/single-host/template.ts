import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const TEMPLATE_DIR = path.join(__dirname, 'templates');
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/**
 * Renders components/single-host/templates/<file>, replacing `{{ name }}` with values[name]. A placeholder
 * alone on its line takes a multi-line value and indents every line like the placeholder, so
 * whole files can be embedded in YAML block scalars. Unknown or unused names are errors: a typo
 * must not ship a host with a literal `{{ sshPort }}` in its sshd config.
 */
export function renderTemplate(file: string, values: Record<string, string | number>): string {
  const text = readFileSync(path.join(TEMPLATE_DIR, file), 'utf8');
  const used = new Set<string>();
  const lookup = (name: string): string => {
    if (!(name in values)) throw new Error(`template ${file}: no value for {{ ${name} }}`);
    used.add(name);
    return String(values[name]);
  };

  const rendered = text
    .split('\n')
    .map((line) => {
      const block = /^(\s*)\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}\s*$/.exec(line);
      if (block) {
        const [, indent, name] = block;
        return lookup(name)
          .replace(/\n$/, '')
          .split('\n')
          .map((valueLine) => (valueLine === '' ? '' : indent + valueLine))
          .join('\n');
      }
      return line.replace(PLACEHOLDER, (_, name: string) => {
        const value = lookup(name);
        if (value.includes('\n')) throw new Error(`template ${file}: {{ ${name} }} is inline but its value has several lines`);
        return value;
      });
    })
    .join('\n');

  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`template ${file}: values not used: ${unused.join(', ')}`);
  return rendered;
}
