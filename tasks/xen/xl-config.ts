// xl.cfg -> XenGuest. Settings ferry models are lifted out; all others are kept in `extra`.
import { ValidationError, type Problem } from '../../runner/errors.js';
import { effectiveCmdline, parseDiskSpec, parseVifSpec, type XenGuest } from './guest.js';
import { parseXlStatements, resolveXlSettings, type XlValue } from './xl-syntax.js';

const MODELLED = new Set([
  'name',
  'uuid',
  'memory',
  'maxmem',
  'vcpus',
  'maxvcpus',
  'type',
  'builder',
  'bootloader',
  'bootloader_args',
  'kernel',
  'ramdisk',
  'root',
  'extra',
  'cmdline',
  'disk',
  'vif',
]);

/** Parses an xl.cfg into a XenGuest; throws ValidationError (file:line for each problem) on bad input. */
export function parseXlConfig(text: string, file: string): XenGuest {
  const settings = resolveXlSettings(parseXlStatements(text, file));
  const problems: Problem[] = [];
  const lines: Record<string, number> = {};
  for (const [k, v] of settings) lines[k] = v.line;

  const str = (key: string): string | undefined => {
    const s = settings.get(key);
    if (s === undefined) return undefined;
    if (typeof s.value === 'string' || typeof s.value === 'number') return String(s.value);
    problems.push({ loc: { file, line: s.line }, message: `${key} must be a string, not a list` });
    return undefined;
  };
  const num = (key: string): number | undefined => {
    const s = settings.get(key);
    if (s === undefined) return undefined;
    const n = typeof s.value === 'number' ? s.value : typeof s.value === 'string' && /^\d+$/.test(s.value) ? Number(s.value) : NaN;
    if (Number.isNaN(n)) {
      problems.push({ loc: { file, line: s.line }, message: `${key} must be a whole number, found ${JSON.stringify(s.value)}` });
      return undefined;
    }
    return n;
  };
  const strings = (key: string): string[] => {
    const s = settings.get(key);
    if (s === undefined) return [];
    const list: XlValue[] = Array.isArray(s.value) ? s.value : [s.value];
    return list.flatMap((v) => {
      if (typeof v === 'string') return [v];
      problems.push({ loc: { file, line: s.line }, message: `${key} must be a list of strings` });
      return [];
    });
  };

  const typeSetting = str('type');
  let type: XenGuest['type'] = 'pv';
  if (typeSetting !== undefined) {
    if (typeSetting === 'pv' || typeSetting === 'hvm' || typeSetting === 'pvh') type = typeSetting;
    else problems.push({ loc: { file, line: lines.type }, message: `type must be pv, hvm or pvh, found ${JSON.stringify(typeSetting)}` });
  } else if (str('builder') === 'hvm') type = 'hvm';

  const memory = num('memory');
  const vcpus = num('vcpus');
  const guest: XenGuest = {
    file,
    origin: 'xl',
    type,
    disks: strings('disk').map(parseDiskSpec),
    vifs: strings('vif').map(parseVifSpec),
    extra: {},
    lines,
  };
  const set = <K extends keyof XenGuest>(k: K, v: XenGuest[K] | undefined) => {
    if (v !== undefined) guest[k] = v;
  };
  set('name', str('name'));
  set('uuid', str('uuid')?.toLowerCase());
  set('memory', memory);
  // xl's defaults: maxmem = memory, maxvcpus = vcpus.
  set('maxmem', num('maxmem') ?? memory);
  set('vcpus', vcpus);
  set('maxvcpus', num('maxvcpus') ?? vcpus);
  set('bootloader', str('bootloader'));
  set('bootloaderArgs', str('bootloader_args'));
  set('kernel', str('kernel'));
  set('ramdisk', str('ramdisk'));
  set('root', str('root'));
  set('kernelExtra', str('extra'));
  set('cmdline', effectiveCmdline(str('cmdline'), guest.root, guest.kernelExtra));
  for (const [k, v] of settings) if (!MODELLED.has(k)) guest.extra[k] = v.value;
  if (guest.name === undefined) {
    problems.push({ loc: { file, line: 1 }, message: 'no name setting', hint: 'xl needs name = "…" to create the guest' });
  }
  if (problems.length) throw new ValidationError(problems.sort((a, b) => (a.loc?.line ?? 0) - (b.loc?.line ?? 0)));
  return guest;
}
