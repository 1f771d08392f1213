// fstab: rewrite a guest's /etc/fstab for KVM (xvd -> vd names, changed UUIDs, xenfs off) and check
// that every UUID=/LABEL= it mounts by really exists on the devices the guest will boot from.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { formatProblem, TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { editFstab, parseFstab } from './guest-files/fstab.js';
import { chrootContext } from './guest/chroot-session.js';
import { openGuestRoot } from './guest/facts.js';
import { findReference, unmatchedReferences, type DeviceIds } from './guest/fstab-refs.js';
import { absolutePathField, pathField } from './lib/schema.js';
import { parseBlkidExport } from './storage/blkid.js';

const params = z
  .strictObject({
    root: absolutePathField('The guest root on the host; the file edited is ROOT/etc/fstab (written through the chroot, so guest symlinks stay inside it)').optional(),
    path: pathField('An fstab file on the host to edit instead of ROOT/etc/fstab').optional(),
    rename_sd: z.boolean().default(false).describe('Also rename /dev/sdXN to /dev/vdXN (guests whose Xen config exported disks as sdX)'),
    uuid_map: z.record(z.string(), z.string()).optional().describe('Old filesystem UUID -> new one, for filesystems recreated by mkfs + rsync'),
    devices: z.array(absolutePathField('A host block device')).default([]).describe('Host block devices holding the guest\'s filesystems (e.g. /dev/mapper/vg1-xr1--disk1); UUID=/LABEL= entries are checked against them'),
    check_uuids: z.boolean().default(true).describe('Fail when a UUID=/LABEL=/PARTUUID=/PARTLABEL= entry (after uuid_map) is on none of devices'),
  })
  .refine((p) => (p.root === undefined) !== (p.path === undefined), { message: 'give exactly one of root and path' });

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

export const fstabModule = defineModule({
  name: 'fstab',
  params,
  doc: {
    summary: "Rewrite a guest's /etc/fstab for KVM and check its UUID=/LABEL= entries against the new disks",
    description:
      '/dev/xvdXN becomes /dev/vdXN (and /dev/sdXN with rename_sd), xenfs entries are commented out with a marker ' +
      '(tasks/guest-files/fstab.ts), UUIDs in uuid_map are replaced. Then every UUID=, LABEL=, PARTUUID= and PARTLABEL= ' +
      'entry must be found by `blkid -p` on one of devices (entries with noauto or nofail are exempt). When the guest ' +
      'was copied with mkfs + rsync its filesystem has a new UUID: either create it with the old UUID (the filesystem ' +
      'module\'s uuid:), which keeps fstab, grub.cfg and the initramfs\'s resume= valid, or pass uuid_map old: new. ' +
      'root=/resume= on the kernel command line are the grub module\'s job (it edits /etc/default/grub and regenerates grub.cfg).',
    checkMode: 'full',
    result: { notes: 'what a person should check', references: 'the by-id entries and the device each was found on' },
    example: [
      '- fstab:',
      '    root: /mnt/xr1',
      '    devices: [/dev/mapper/vg1-xr1--disk1]',
      '    uuid_map: {0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11: "{{ new_fs.uuid }}"}',
    ].join('\n'),
  },
  async plan(ctx, p) {
    const g = p.root !== undefined ? await openGuestRoot(ctx, p.root) : ctx;
    const path = p.root !== undefined ? '/etc/fstab' : p.path!;
    const shown = p.root !== undefined ? `${p.root.replace(/\/+$/, '')}/etc/fstab` : p.path!;
    const buf = await g.transport.get(path, { become: ctx.become });
    if (buf === null) throw new TaskFailedError(`${shown} does not exist on ${ctx.host}`);
    const text = buf.toString('utf8');
    const parsed = parseFstab(text, shown);
    if (parsed.problems.length) throw new TaskFailedError(parsed.problems.map(formatProblem).join('\n'));
    const edit = editFstab(text, { renameSd: p.rename_sd, uuidMap: p.uuid_map });
    const refs = edit.references;
    let found: { ref: string; device: string }[] = [];
    if (p.check_uuids && refs.length) {
      if (!p.devices.length) {
        throw new TaskFailedError(
          `${shown} mounts by ${refs.map((r) => `${r.kind}=${r.value}`).join(', ')}, but no devices were named to check them against; ` +
            'list the block devices holding the guest\'s filesystems in devices:, or set check_uuids: false',
        );
      }
      const devices = await probeDevices(ctx, p.devices);
      const problems = unmatchedReferences(shown, refs, parseFstab(edit.text, shown).entries, devices);
      if (problems.length) throw new TaskFailedError(problems.map(formatProblem).join('\n'), { problems });
      found = refs.flatMap((r) => {
        const d = findReference(r, devices);
        return d ? [{ ref: `${r.kind}=${r.value}`, device: d.device }] : [];
      });
    }
    const data = { notes: edit.notes ?? [], references: found };
    const checked = found.length ? `; ${found.map((f) => `${f.ref} is on ${f.device}`).join(', ')}` : '';
    if (!edit.changed) return { changed: false, reason: `${shown} already fits KVM${checked}`, data };
    return {
      changed: true,
      diff: [{ path: shown, before: text, after: edit.text }],
      data,
      steps: [
        {
          title: `rewrite ${shown} for KVM`,
          run: async (c) => {
            const t = p.root !== undefined ? chrootContext(c, p.root).transport : c.transport;
            await t.put(path, edit.text, { mode: 0o644, become: c.become });
            return data;
          },
        },
      ],
    };
  },
});
