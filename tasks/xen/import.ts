// Reads many guest configs at once: one bad file is reported and the others still import.
import { FerryError, ValidationError, type Problem } from '../../runner/errors.js';
import { parseDomainXml } from './domain-xml.js';
import type { XenGuest } from './guest.js';
import { parseXlConfig } from './xl-config.js';

/** Parses each file (`.xml` as libvirt domain XML, anything else as xl.cfg); collects guests and every problem. */
export function importXenConfigs(files: { path: string; text: string }[]): { guests: XenGuest[]; problems: Problem[] } {
  const guests: XenGuest[] = [];
  const problems: Problem[] = [];
  for (const { path, text } of files) {
    try {
      guests.push(path.endsWith('.xml') ? parseDomainXml(text, path) : parseXlConfig(text, path));
    } catch (e) {
      if (e instanceof ValidationError) problems.push(...e.problems);
      else if (e instanceof FerryError) problems.push({ loc: { file: path, line: 1 }, message: e.message });
      else throw e;
    }
  }
  return { guests, problems };
}
