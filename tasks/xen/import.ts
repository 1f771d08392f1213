// The one dispatch between a guest's two config formats (xl.cfg, libvirt domain XML), for the
// xen_import module and `ferry xen-import FILE...` alike: one bad config is a problem, not a stop.
import { FerryError, ValidationError, type Problem } from '../../runner/errors.js';
import { parseDomainXml } from './libvirt-xen-xml.js';
import type { XenGuest } from './guest.js';
import { parseXlConfig } from './xl-config.js';

/** Where a config came from: an xl.cfg file, or a libvirt domain's XML. */
export type ConfigOrigin = 'xl' | 'libvirt';

/** The format of a controller file, by its name: `.xml` is a libvirt domain's XML, anything else an xl.cfg. */
export function originOfPath(path: string): ConfigOrigin {
  return path.endsWith('.xml') ? 'libvirt' : 'xl';
}

/** Parses one config in its format; a config that does not parse yields its problems (file:line) and no guest. */
export function parseXenConfig(c: { path: string; text: string; origin: ConfigOrigin }): { guest?: XenGuest; problems: Problem[] } {
  try {
    return { guest: c.origin === 'libvirt' ? parseDomainXml(c.text, c.path) : parseXlConfig(c.text, c.path), problems: [] };
  } catch (e) {
    if (e instanceof ValidationError) return { problems: e.problems };
    if (e instanceof FerryError) return { problems: [{ loc: { file: c.path, line: 1 }, message: e.message }] };
    throw e;
  }
}
