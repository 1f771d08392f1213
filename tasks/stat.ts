// stat: what is at a path, as Ansible's stat module returns it (`register: st` then
// `when: st.stat.exists`). One read-only command; a pure parser turns its output into the result,
// so the parsing is tested on real output without a host. It never changes anything.
import { z } from 'zod';
import { raw, sh, type Command } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { TYPES, type PathType } from './lib/path-state.js';
import { pathField } from './lib/schema.js';

const ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

const params = z.strictObject({
  path: pathField('The path to look at on the host'),
  follow: z.boolean().default(false).describe('Follow a symlink: report what it points to (islnk is then false)'),
  get_checksum: z.boolean().default(true).describe('Checksum a regular file the user can read'),
  checksum_algorithm: z.enum(ALGORITHMS).default('sha1').describe("The checksum's algorithm (Ansible's default: sha1)"),
});
type Params = z.output<typeof params>;

// %f raw mode (hex), owner, size, inode, device, links, then the three times as %x/%y/%z print
// them (date, time with nanoseconds, zone: every coreutils has these, unlike %.9X).
const FORMAT = '%f|%u|%g|%U|%G|%s|%i|%d|%h|%x|%y|%z';

/** The one command: fields separated by NUL, so no name can confuse the parser. */
export function statCommand(p: Params): Command {
  // Without follow a link is reported as itself (its target named, no checksum); with follow as what it points to.
  const follow = p.follow ? raw('-L ') : raw('');
  const isLink = raw(p.follow ? 'false' : '[ -L "$P" ]');
  const sum = p.get_checksum ? raw(`if [ -f "$P" ] && [ -r "$P" ] && ! ${isLink.text}; then printf 'sum:%s\\0' "$(${p.checksum_algorithm}sum < "$P" | cut -d' ' -f1)"; fi; `) : raw('');
  return sh`P=${p.path}; if [ -e "$P" ] || [ -L "$P" ]; then S=$(stat ${follow}-c ${FORMAT} -- "$P") || exit 1; printf 'stat:%s\\0' "$S"; if ${isLink}; then printf 'target:%s\\0' "$(readlink -- "$P")"; printf 'source:%s\\0' "$(readlink -f -- "$P")"; fi; A=; [ -r "$P" ] && A=r; [ -w "$P" ] && A=\${A}w; [ -x "$P" ] && A=\${A}x; printf 'access:%s\\0' "$A"; ${sum}else echo absent; fi`;
}

/** `2026-01-02 03:04:05.123456789 +0100` → seconds since the epoch, with the fraction. */
export function parseStatTime(s: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? ([+-])(\d\d)(\d\d)$/.exec(s.trim());
  if (!m) throw new Error(`unexpected time in stat output: ${JSON.stringify(s)}`);
  const [, y, mo, d, h, mi, se, frac, sign, zh, zm] = m;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)) / 1000;
  const offset = (Number(zh) * 3600 + Number(zm) * 60) * (sign === '-' ? -1 : 1);
  return utc - offset + (frac ? Number(`0.${frac}`) : 0);
}

/** Ansible's flag for each file type. */
const TYPE_FLAGS: Record<PathType, string> = { file: 'isreg', directory: 'isdir', link: 'islnk', block: 'isblk', char: 'ischr', fifo: 'isfifo', socket: 'issock' };

/** The permission flags Ansible reports, by name and bit. */
const PERMISSION_BITS: [string, number][] = [
  ['rusr', 0o400], ['wusr', 0o200], ['xusr', 0o100],
  ['rgrp', 0o040], ['wgrp', 0o020], ['xgrp', 0o010],
  ['roth', 0o004], ['woth', 0o002], ['xoth', 0o001],
  ['isuid', 0o4000], ['isgid', 0o2000],
];

/** The command's output → Ansible's `stat` dictionary (`{ exists: false }` when nothing is there). */
export function parseStat(out: string, path: string, algorithm: string = 'sha1'): Record<string, unknown> {
  if (out.trim() === 'absent') return { exists: false };
  const fields = new Map<string, string>();
  for (const part of out.split('\0')) {
    const colon = part.indexOf(':');
    if (colon > 0) fields.set(part.slice(0, colon), part.slice(colon + 1));
  }
  const f = fields.get('stat')?.split('|');
  if (!f || f.length !== 12 || !/^[0-9a-f]+$/.test(f[0]!)) throw new Error(`unexpected stat output: ${JSON.stringify(out.slice(0, 200))}`);
  const rawMode = parseInt(f[0]!, 16);
  const mode = rawMode & 0o7777;
  const st: Record<string, unknown> = { exists: true, path };
  const type = TYPES[rawMode & 0o170000];
  for (const [t, flag] of Object.entries(TYPE_FLAGS)) st[flag] = t === type;
  Object.assign(st, {
    mode: mode.toString(8).padStart(4, '0'),
    uid: Number(f[1]),
    gid: Number(f[2]),
    pw_name: f[3],
    gr_name: f[4],
    size: Number(f[5]),
    inode: Number(f[6]),
    dev: Number(f[7]),
    nlink: Number(f[8]),
    atime: parseStatTime(f[9]!),
    mtime: parseStatTime(f[10]!),
    ctime: parseStatTime(f[11]!),
  });
  for (const [name, bit] of PERMISSION_BITS) st[name] = (mode & bit) !== 0;
  const access = fields.get('access') ?? '';
  st.readable = access.includes('r');
  st.writeable = access.includes('w');
  st.executable = access.includes('x');
  if (fields.has('target')) {
    st.lnk_target = fields.get('target');
    st.lnk_source = fields.get('source');
  }
  const sum = fields.get('sum');
  if (sum !== undefined) {
    st.checksum = sum;
    st.checksum_algorithm = algorithm;
  }
  return st;
}

/** What stat's read found: Ansible's `stat` dictionary, parsed from the one command's output. */
export interface StatFacts {
  stat: Record<string, unknown>;
}

/** Runs the one stat command and parses what it printed. */
export async function readStat(ctx: TaskContext, p: Params): Promise<StatFacts> {
  return { stat: parseStat((await ctx.runOk(statCommand(p))).stdout, p.path, p.checksum_algorithm) };
}

/** stat never changes anything: no change, with what it found as the result (pure). */
export function decideStat(p: Params, f: StatFacts): Verdict {
  return { changed: false, reason: f.stat.exists ? `${p.path} exists` : `${p.path} does not exist`, data: { stat: f.stat } };
}

export const statModule = defineModule({
  name: 'stat',
  params,
  doc: {
    summary: 'Read what is at a path (type, mode, owner, size, times, link target, checksum); never changes anything',
    description:
      "Ansible's stat: the result's `stat` holds exists, path, mode ('0644'), isreg/isdir/islnk/isblk/ischr/isfifo/issock, " +
      'uid, gid, pw_name, gr_name, size, inode, dev, nlink, atime/mtime/ctime (seconds, with the fraction), ' +
      'rusr…xoth, isuid, isgid, readable/writeable/executable (for the user the task runs as), lnk_target and ' +
      'lnk_source for a link, and checksum for a regular file that user can read. One command on the host. ' +
      'Not gathered: mime type and file attributes (get_mime, get_attributes).',
    checkMode: 'full',
    result: { stat: 'the dictionary above; { exists: false } when nothing is at path' },
    example: [
      '- stat: { path: /etc/xen/auto }',
      '  register: auto',
      '- debug: { msg: "autostart links: {{ auto.stat.exists }}" }',
    ].join('\n'),
  },
  read: readStat,
  decide: decideStat,
});
