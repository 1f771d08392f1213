// Finds the Debian mirror this machine's apt already uses, so the project never names one.
import fs from 'node:fs';
import path from 'node:path';
import { FerryError } from '../runner/errors.js';

/** One apt source: a `deb` line or one deb822 stanza. */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Where it was read from, `file:line`. */
  origin: string;
}

/** Parses the one-line format of /etc/apt/sources.list (`deb [opts] URI SUITE COMP...`). */
export function parseSourcesList(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*/, '').trim();
    if (!line) return;
    // Options in brackets may contain spaces ("[ arch=amd64 signed-by=... ]"): drop them whole.
    const words = line.replace(/\[[^\]]*\]/, ' ').split(/\s+/).filter(Boolean);
    const [type, uri, suite, ...components] = words;
    if (!type || !uri || !suite) return;
    out.push({ types: [type], uris: [uri], suites: [suite], components, origin: `${file}:${i + 1}` });
  });
  return out;
}

/** Parses the deb822 format of /etc/apt/sources.list.d/*.sources (stanzas of `Field: value`). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let startLine = 1;
  let lastKey: string | undefined;
  const flush = (): void => {
    const enabled = (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no';
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (enabled && fields.has('uris')) {
      out.push({
        types: words('types'),
        uris: words('uris'),
        suites: words('suites'),
        components: words('components'),
        origin: `${file}:${startLine}`,
      });
    }
    fields = new Map();
    lastKey = undefined;
  };
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('#')) return;
    if (line.trim() === '') {
      flush();
      return;
    }
    if (fields.size === 0) startLine = i + 1;
    // Folded continuation line of a multi-line field (Signed-By keys, long URI lists).
    if (/^\s/.test(line) && lastKey) {
      fields.set(lastKey, `${fields.get(lastKey)} ${line.trim()}`);
      return;
    }
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) {
      lastKey = m[1].toLowerCase();
      fields.set(lastKey, m[2].trim());
    }
  });
  flush();
  return out;
}

/** Reads every apt source apt itself would read (sources.list, *.list, *.sources). */
export function readAptSources(etcApt = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const main = path.join(etcApt, 'sources.list');
  if (fs.existsSync(main)) sources.push(...parseSourcesList(fs.readFileSync(main, 'utf8'), main));
  const dir = path.join(etcApt, 'sources.list.d');
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (name.endsWith('.list')) sources.push(...parseSourcesList(fs.readFileSync(file, 'utf8'), file));
    else if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(fs.readFileSync(file, 'utf8'), file));
  }
  return sources;
}

/** The URI of the first source that carries `suite` itself (not -updates/-security) with `main`. */
export function pickDebianMirror(sources: AptSource[], suite: string): string {
  for (const s of sources) {
    if (s.types.includes('deb') && s.suites.includes(suite) && s.components.includes('main') && s.uris[0]) {
      return s.uris[0].replace(/\/+$/, '');
    }
  }
  const seen = sources.map((s) => `  ${s.origin}: ${s.uris.join(' ')} ${s.suites.join(' ')}`).join('\n');
  throw new FerryError(
    `no apt source offers Debian '${suite}' main; the lab debootstraps from the mirror apt uses.\n` +
      `Sources read:\n${seen || '  (none)'}\n` +
      `hint: add a '${suite}' entry to /etc/apt/sources.list.d/*.sources, or set FERRY_LAB_MIRROR=URI`,
  );
}

/** The mirror to debootstrap `suite` from: $FERRY_LAB_MIRROR, else the one apt is configured with. */
export function debianMirror(suite: string): string {
  return process.env.FERRY_LAB_MIRROR ?? pickDebianMirror(readAptSources(), suite);
}
