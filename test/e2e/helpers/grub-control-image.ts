// A positive control for bootCheck: a tiny MBR disk with GRUB that talks on the serial console,
// made inside the lab host (which has grub-pc-bin and loop devices) and copied back here.
import fs from 'node:fs';
import { sh } from '../../../runner/command.js';
import { run } from '../../../lab/exec.js';
import { sshArgs } from '../../../lab/ssh.js';
import { labSsh, type LabInfo } from '../../../lab/lab.js';

const REMOTE = '/root/grub-control.img';

/** GRUB's config on the control disk: serial terminal, a banner, one entry that powers off. */
const GRUB_CFG = `serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=1
menuentry 'ferry boot-check control' {
  echo 'control: GRUB ran'
  halt
}
`;

/** Makes the control disk in the lab host and copies it to `dest`. */
export async function makeGrubControlImage(info: LabInfo, dest: string): Promise<void> {
  const script = sh`set -eu
img=${REMOTE}
rm -f "$img"; truncate -s 64M "$img"
printf 'label: dos\\nstart=2048, type=83, bootable\\n' | sfdisk -q "$img"
loop=$(losetup --find --show --partscan "$img")
trap 'umount /mnt/grub-control 2>/dev/null || true; losetup -d "$loop"' EXIT
udevadm settle
mkfs.ext4 -q "\${loop}p1"
mkdir -p /mnt/grub-control
mount "\${loop}p1" /mnt/grub-control
grub-install --target=i386-pc --boot-directory=/mnt/grub-control/boot --modules='part_msdos ext2 serial' "$loop" 2>&1
cat > /mnt/grub-control/boot/grub/grub.cfg
sync`;
  await labSsh(info, script, GRUB_CFG);
  // Plain `cat` over the SSH channel: 64 MiB of mostly zeroes, a few seconds.
  const r = await run('sh', ['-c', 'ssh "$@" > "$0"', dest, ...sshArgs({ port: info.sshPort, keyPath: info.keyPath, knownHostsPath: info.knownHostsPath }), sh`cat ${REMOTE} && rm -f ${REMOTE}`.text]);
  if (r.code !== 0 || !fs.existsSync(dest)) throw new Error(`copying the control image failed: ${r.stderr}`);
}
