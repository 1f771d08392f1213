// Checking a guest fstab's UUID=/LABEL=/PARTUUID=/PARTLABEL= references against the filesystems of
// the devices the guest will boot from (blkid -p -o export of each, on the host).
import type { Problem } from '../../runner/errors.js';
import type { FstabEntry, FstabReference } from '../guest-files/fstab.js';

/** What blkid found on one named device. */
export interface DeviceIds {
  device: string;
  /** The `blkid -p -o export` pairs (TYPE, UUID, LABEL, PART_ENTRY_UUID, PART_ENTRY_NAME, ...). */
  ids: Record<string, string>;
}

const KEYS: Record<FstabReference['kind'], string> = {
  UUID: 'UUID',
  LABEL: 'LABEL',
  PARTUUID: 'PART_ENTRY_UUID',
  PARTLABEL: 'PART_ENTRY_NAME',
};

/** The device holding what a reference names, or undefined (UUIDs compare case-insensitively, labels exactly). */
export function findReference(ref: FstabReference, devices: DeviceIds[]): DeviceIds | undefined {
  const key = KEYS[ref.kind];
  const same = ref.kind === 'UUID' || ref.kind === 'PARTUUID' ? (a: string) => a.toLowerCase() === ref.value.toLowerCase() : (a: string) => a === ref.value;
  return devices.find((d) => d.ids[key] !== undefined && same(d.ids[key]!));
}

function describeDevice(d: DeviceIds): string {
  const parts = [d.ids.TYPE ?? 'no filesystem', d.ids.UUID ? `UUID=${d.ids.UUID}` : '', d.ids.LABEL ? `LABEL=${d.ids.LABEL}` : ''].filter(Boolean);
  return `${d.device} (${parts.join(' ')})`;
}

/**
 * The references no named device satisfies, as problems with file:line and a hint. Entries with
 * `noauto` or `nofail` are left out: the guest boots without them.
 */
export function unmatchedReferences(file: string, refs: FstabReference[], entries: FstabEntry[], devices: DeviceIds[]): Problem[] {
  const problems: Problem[] = [];
  for (const ref of refs) {
    const entry = entries.find((e) => e.line === ref.line);
    if (entry && entry.opts.split(',').some((o) => o === 'noauto' || o === 'nofail')) continue;
    if (findReference(ref, devices)) continue;
    const uuids = devices.filter((d) => d.ids.UUID && d.ids.TYPE === entry?.vfstype);
    const mapHint =
      ref.kind === 'UUID'
        ? `after mkfs + rsync the filesystem has a new UUID: either create it with the old one (filesystem: uuid: ${ref.value}) or map it with uuid_map: {${ref.value}: ${uuids[0]?.ids.UUID ?? 'NEW-UUID'}}`
        : `give the filesystem that ${ref.kind.toLowerCase()} or change the entry`;
    problems.push({
      loc: { file, line: ref.line },
      message: `${ref.kind}=${ref.value} (mounted on ${ref.file}) is on none of the named devices: ${devices.map(describeDevice).join(', ') || 'none given'}`,
      hint: `${mapHint}; or add the device holding it to devices:`,
    });
  }
  return problems;
}
