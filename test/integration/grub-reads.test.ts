// grub's read through a real sshd, counted in round trips: the reads that do not depend on each other
// go in one batch (runner/batch-read.ts), so a check of a typical guest costs a fixed few round trips
// whatever the number of files, and the binary reads (core.img, the disk's first sectors) come through
// the text batch byte for byte. The guest is a busybox root on the partition of a loop-attached image.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTaskContext } from '../../runner/task-context.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { decideGrub, grubModule, readGrub } from '../../tasks/grub.js';
import { startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import { attachPartitionedImage } from '../helpers/loop-disk.js';
import { RoundTripCounter } from '../helpers/round-trips.js';

const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args]).toString().trim();

describe('grub reads in few round trips @integration', function () {
  this.timeout(120_000);
  let host: SshdHost;
  let transport: SshTransport;
  let dir: string;
  let disk: string;
  let root: string;
  /** core.img: every byte value, newlines and invalid UTF-8 included, so a text batch that lost one would show. */
  const core = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(3000)]);

  const put = (path: string, text: string | Buffer): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    if (!existsSync('/bin/busybox')) {
      console.warn('    SKIPPED: the guest root needs /bin/busybox (Debian package busybox-static)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'ferry-grub-reads-'));
    const img = join(dir, 'disk.img');
    sh('truncate -s 64M "$1" && printf "label: dos\\nstart=2048, type=83, bootable\\n" | sfdisk -q "$1"', img);
    disk = attachPartitionedImage(img);
    sh('mkfs.ext4 -q "$1"', `${disk}p1`);
    root = join(dir, 'root');
    mkdirSync(root);
    sh('mount "$1" "$2"', `${disk}p1`, root);
    // a guest as grub reads it: /bin/sh, os-release behind a link, the GRUB tools (stand-ins), grub.cfg,
    // and a core.img embedded after an MBR with GRUB's boot code, vouched for by ferry's stamp
    mkdirSync(join(root, 'bin'));
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    symlinkSync('busybox', join(root, 'bin/sh'));
    for (const d of ['etc', 'dev', 'proc', 'sys', 'run', 'usr/lib/grub/i386-pc']) mkdirSync(join(root, d), { recursive: true });
    put('usr/lib/os-release', 'ID=debian\nVERSION_ID=12\n');
    symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
    put('usr/sbin/grub-install', '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'usr/sbin/grub-install'), 0o755);
    put('etc/default/grub', 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=hvc0"\n');
    put('boot/grub/grub.cfg', 'linux /vmlinuz root=UUID=0000\n');
    put('boot/grub/i386-pc/core.img', core);
    put('boot/grub/ferry-grub-install', `${createHash('sha256').update(core).digest('hex')} part_msdos ext2\n`);
    sh('printf "GRUB boot code" | dd of="$1" conv=notrunc status=none && dd if="$2" of="$1" bs=512 seek=1 conv=notrunc status=none', disk, join(root, 'boot/grub/i386-pc/core.img'));
    host = await startSshd();
    transport = sshTransport(host);
  });

  after(async () => {
    if (root) sh('umount "$1" 2>/dev/null || true', root);
    if (disk) sh('losetup -d "$1" 2>/dev/null || true', disk);
    await transport?.close().catch(() => undefined);
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** grub's read (and decide) through a counting transport: the facts, the verdict and each round trip. */
  async function countedRead(input: Record<string, unknown>, check: boolean) {
    const counter = new RoundTripCounter(transport);
    const p = grubModule.params.parse(input);
    const facts = await readGrub(createTaskContext({ host: transport.host, transport: counter, check }), p);
    return { facts, verdict: decideGrub(p, facts), trips: counter.trips };
  }

  it('--check of a typical guest reads in 3 round trips, core.img and the disk\'s first sectors byte for byte', async () => {
    const { facts, verdict, trips } = await countedRead({ root, disk, boot_device: `${disk}p1` }, true);
    assert.equal(trips.length, 3, trips.join('\n'));
    assert.deepEqual(facts.guest?.core, {
      sha256: createHash('sha256').update(core).digest('hex'),
      mbrHasGrub: true,
      embedded: true,
      stamp: `${createHash('sha256').update(core).digest('hex')} part_msdos ext2\n`,
    });
    assert.equal(facts.guest?.defaultGrub, 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=hvc0"\n');
    assert.equal(facts.guest?.grubCfg, 'linux /vmlinuz root=UUID=0000\n');
    assert.equal(facts.guest?.hasGrub, true);
    assert.equal(facts.bootDeviceReal, `${disk}p1`);
    // /etc/default/grub is stale (and so grub.cfg); GRUB on the disk is what the stamp vouches for
    assert.ok('changed' in verdict && verdict.changed, JSON.stringify(verdict));
    assert.deepEqual(verdict.data?.reasons, ['/etc/default/grub', '/boot/grub/grub.cfg']);
  });

  it('a drop-in adds one round trip for all of them; a real run reads as much as check mode when /etc/default/grub is stale', async () => {
    put('etc/default/grub.d/50-cloudimg.cfg', 'GRUB_CMDLINE_LINUX_DEFAULT="console=hvc0"\n');
    put('etc/default/grub.d/60-more.cfg', 'GRUB_TIMEOUT=1\n');
    try {
      const { facts, trips } = await countedRead({ root, disk, boot_device: `${disk}p1` }, false);
      assert.equal(trips.length, 4, trips.join('\n'));
      assert.deepEqual(facts.guest?.dropIns, [
        { path: '/etc/default/grub.d/50-cloudimg.cfg', text: 'GRUB_CMDLINE_LINUX_DEFAULT="console=hvc0"\n' },
        { path: '/etc/default/grub.d/60-more.cfg', text: 'GRUB_TIMEOUT=1\n' },
      ]);
    } finally {
      rmSync(join(root, 'etc/default/grub.d'), { recursive: true, force: true });
    }
  });

  it('a refused disk is told after 2 round trips, with nothing run in the guest', async () => {
    const { verdict, trips } = await countedRead({ root, disk: `${disk}p1` }, true);
    assert.match('refused' in verdict ? verdict.refused : '', /is a partition, not a whole disk/);
    assert.equal(trips.length, 2, trips.join('\n'));
    assert.ok(!trips.some((t) => /LC_ALL=C chroot /.test(t)), trips.join('\n'));
  });

  it('guest files are still read inside the root: an /etc/default/grub link to /etc/passwd reads the guest\'s', async () => {
    put('etc/passwd', 'root:x:0:0:the guest:/root:/bin/sh\n');
    rmSync(join(root, 'etc/default/grub'));
    symlinkSync('/etc/passwd', join(root, 'etc/default/grub'));
    const { facts } = await countedRead({ root, disk }, true);
    assert.equal(facts.guest?.defaultGrub, 'root:x:0:0:the guest:/root:/bin/sh\n');
  });
});
