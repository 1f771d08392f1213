// fstab: rewrite a guest's /etc/fstab for KVM (xvd -> vd names, changed UUIDs, xenfs off) and check
// that every UUID=/LABEL= it mounts by really exists on the devices the guest will boot from.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { formatProblem, TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { editFstab, parseFstab, type FstabMapped, type FstabOptions } from './guest-files/fstab.js';
import { chrootContext } from './guest/chroot-session.js';
import { openGuestRoot } from './guest/facts.js';
import { findReference, unmatchedReferences, type DeviceIds } from './guest/fstab-refs.js';
import { absolutePathField, deviceMapField, pathField } from './lib/schema.js';
import { parseBlkidExport } from './storage/blkid.js';

const params = z
  .strictObject({
    root: absolutePathField('The guest root on the host; the file edited is ROOT/etc/fstab (written through the chroot, so guest symlinks stay inside it)').optional(),
    path: pathField('An fstab file on the host to edit instead of ROOT/etc/fstab').optional(),
    rename_sd: z.boolean().default(false).describe('Also rename /dev/sdXN to /dev/vdXN (guests whose Xen config exported disks as sdX)'),
    device_map: deviceMapField('an entry on /dev/KEY becomes /dev/VALUE'),
    uuid_map: z.record(z.string(), z.string()).optional().describe('Old filesystem UUID -> new one, for filesystems recreated by mkfs + rsync'),
    devices: z.array(absolutePathField('A host block device')).default([]).describe('Host block devices holding the guest\'s filesystems (e.g. /dev/mapper/vg1-xr1--disk1); UUID=/LABEL= entries are checked against them'),
    check_uuids: z.boolean().default(true).describe('Fail when a UUID=/LABEL=/PARTUUID=/PARTLABEL= entry (after uuid_map) is on none of devices'),
  })
  .refine((p) => (p.root === undefined) !== (p.path === undefined), { message: 'give exactly one of root and path' });

type Params = z.output<typeof params>;

/** What fstab's read found: the file's text (null when missing) and, when its entries need checking, blkid's view of the devices. */
export interface FstabFacts {
  host: string;
  text: string | null;
  devices?: DeviceIds[];
}

/** The editor's options from the params. */
function editOptions(p: Params): FstabOptions {
  return { renameSd: p.rename_sd, uuidMap: p.uuid_map, deviceMap: p.device_map };
}

/** What device_map renamed, as a step title says it: "/dev/xvda2 -> /dev/vda1, /dev/xvda1 -> /dev/vdb". */
function mappedSummary(mapped: FstabMapped[]): string {
  return mapped.map((m) => `${m.from} -> ${m.to}`).join(', ');
}

/** The file as the user names it: ROOT/etc/fstab or path. */
function shownPath(p: Params): string {
  return p.root !== undefined ? `${p.root.replace(/\/+$/, '')}/etc/fstab` : p.path!;
}

/** blkid's view of each named device (a low-level probe, not its cache, so a fresh mkfs is seen). */
async function probeDevices(ctx: TaskContext, devices: string[]): Promise<DeviceIds[]> {
  const out: DeviceIds[] = [];
  for (const device of devices) {
    const r = await ctx.run(sh`blkid -p -o export -- ${device}`);
    if (r.exitCode !== 0 && r.exitCode !== 2) throw new TaskFailedError(`blkid -p ${device} failed on ${ctx.host}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    out.push({ device, ids: parseBlkidExport(r.stdout) });
  }
  return out;
}

/** Reads the fstab (through the guest root's chroot) and, when it mounts by UUID=/LABEL= and devices are named, probes them. */
export async function readFstab(ctx: TaskContext, p: Params): Promise<FstabFacts> {
  const g = p.root !== undefined ? await openGuestRoot(ctx, p.root) : ctx;
  const buf = await g.transport.get(p.root !== undefined ? '/etc/fstab' : p.path!, { become: ctx.become });
  const text = buf === null ? null : buf.toString('utf8');
  const facts: FstabFacts = { host: ctx.host, text };
  // Only a file that parses and mounts by reference needs the devices probed (the edit is pure: it says which).
  if (text === null || !p.check_uuids || !p.devices.length || parseFstab(text, shownPath(p)).problems.length) return facts;
  if (editFstab(text, editOptions(p)).references.length) facts.devices = await probeDevices(ctx, p.devices);
  return facts;
}

/** Decides the fstab rewrite (pure): no change, one write step, or a refusal naming file:line. */
export function decideFstab(p: Params, f: FstabFacts): Verdict {
  const shown = shownPath(p);
  if (f.text === null) return { refused: `${shown} does not exist on ${f.host}` };
  const text = f.text;
  const parsed = parseFstab(text, shown);
  if (parsed.problems.length) return { refused: parsed.problems.map(formatProblem).join('\n') };
  const edit = editFstab(text, editOptions(p));
  const refs = edit.references;
  let found: { ref: string; device: string }[] = [];
  if (p.check_uuids && refs.length) {
    if (!p.devices.length) {
      return {
        refused:
          `${shown} mounts by ${refs.map((r) => `${r.kind}=${r.value}`).join(', ')}, but no devices were named to check them against; ` +
          'list the block devices holding the guest\'s filesystems in devices:, or set check_uuids: false',
      };
    }
    const devices = f.devices ?? [];
    const problems = unmatchedReferences(shown, refs, parseFstab(edit.text, shown).entries, devices);
    if (problems.length) return { refused: problems.map(formatProblem).join('\n'), data: { problems } };
    found = refs.flatMap((r) => {
      const d = findReference(r, devices);
      return d ? [{ ref: `${r.kind}=${r.value}`, device: d.device }] : [];
    });
  }
  const data = { notes: edit.notes ?? [], references: found };
  const checked = found.length ? `; ${found.map((x) => `${x.ref} is on ${x.device}`).join(', ')}` : '';
  if (!edit.changed) return { changed: false, reason: `${shown} already fits KVM${checked}`, data };
  const path = p.root !== undefined ? '/etc/fstab' : p.path!;
  return {
    changed: true,
    diff: [{ path: shown, before: text, after: edit.text }],
    data,
    steps: [
      {
        title: `rewrite ${shown} for KVM${edit.mapped.length ? ` (${mappedSummary(edit.mapped)})` : ''}`,
        // An upload (the escape hatch), through the chroot so guest symlinks stay inside the root.
        run: async (c) => {
          const t = p.root !== undefined ? chrootContext(c, p.root).transport : c.transport;
          await t.put(path, edit.text, { mode: 0o644, become: c.become });
          return data;
        },
      },
    ],
  };
}

export const fstabModule = defineModule({
  name: 'fstab',
  params,
  doc: {
    summary: "Rewrite a guest's /etc/fstab for KVM and check its UUID=/LABEL= entries against the new disks",
    description:
      '/dev/xvdXN becomes /dev/vdXN (and /dev/sdXN with rename_sd), or what device_map says: a xen-tools guest has ' +
      'swap on xvda1 and root on xvda2, two LVs that become two KVM disks (root on vda1 of the re-partitioned root LV, swap ' +
      'the whole vdb), which no name rule can tell; xen_import\'s root_device and extra_disks say which is which. Each entry ' +
      'is renamed once (a mapped xvda1 -> vdb is not renamed again), and the step title lists what the map renamed. xenfs entries are commented out with a marker ' +
      '(tasks/guest-files/fstab.ts), UUIDs in uuid_map are replaced. Then every UUID=, LABEL=, PARTUUID= and PARTLABEL= ' +
      'entry must be found by `blkid -p` on one of devices (entries with noauto or nofail are exempt). When the guest ' +
      'was copied with mkfs + rsync its filesystem has a new UUID: either create it with the old UUID (the filesystem ' +
      'module\'s uuid:), which keeps fstab, grub.cfg and the initramfs\'s resume= valid, or pass uuid_map old: new. ' +
      'root=/resume= on the kernel command line are the grub module\'s job (it edits /etc/default/grub and regenerates grub.cfg; ' +
        'give it the same device_map).',
    checkMode: 'full',
    result: { notes: 'what a person should check', references: 'the by-id entries and the device each was found on' },
    example: [
      '- fstab:',
      '    root: /mnt/xr1',
      '    devices: [/dev/mapper/vg1-xr1--disk1]',
      '    uuid_map: {0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11: "{{ new_fs.uuid }}"}',
      '',
      '# a xen-tools guest: /dev/xvda2 / and /dev/xvda1 swap; a data disk xvdb',
      '- fstab:',
      '    root: /mnt/web1',
      '    device_map: {xvda2: vda1, xvda1: vdb, xvdb: vdc}',
      '    check_uuids: false',
      '# /dev/xvda2 / ext4 ...     -> /dev/vda1 / ext4 ...',
      '# /dev/xvda1 none swap ...  -> /dev/vdb none swap ...',
      '# /dev/xvdb1 /srv ext4 ...  -> /dev/vdc1 /srv ext4 ...',
    ].join('\n'),
  },
  read: readFstab,
  decide: decideFstab,
});
