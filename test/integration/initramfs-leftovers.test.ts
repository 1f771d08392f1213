// The initramfs rebuild first removes what an interrupted rebuild left on the guest's disk (a
// controller SIGKILLed mid-rebuild, again and again, filled the lab guest's root until update-initramfs
// failed with ENOSPC). The real command text runs under sh in a private mount namespace whose /boot
// is a temp dir, with the generators stubbed on PATH: only the leftovers go, the images stay.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rebuildCommand } from '../../tasks/initramfs/images.js';
import type { GuestOs } from '../../tasks/guest/os-family.js';

describe('initramfs rebuild: leftovers of an interrupted rebuild', function () {
  let dir: string;
  before(function () {
    if (process.getuid?.() !== 0 || spawnSync('unshare', ['--version']).status !== 0) this.skip();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-leftovers-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['update-initramfs', 'dracut', 'mkinitcpio']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> ${dir}/log\n`);
      chmodSync(join(bin, tool), 0o755);
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the rebuild command with /boot = dir/boot, TMPDIR = dir/tmp and the stub generators (dir/bin) first on PATH. */
  function runRebuild(generator: GuestOs['initramfs']): { status: number | null; log: string; stderr: string } {
    const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind "$1/boot" /boot && PATH="$1/bin:$PATH" TMPDIR="$1/tmp" exec sh -c "$2"', 'sh', dir, rebuildCommand(generator).text], {
      encoding: 'utf8',
    });
    return { status: r.status, log: existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '', stderr: r.stderr };
  }

  function files(layout: Record<string, string[]>): void {
    for (const [d, names] of Object.entries(layout)) {
      mkdirSync(join(dir, d), { recursive: true });
      for (const n of names) {
        if (n.endsWith('/')) mkdirSync(join(dir, d, n, 'lib/modules'), { recursive: true });
        else writeFileSync(join(dir, d, n), 'x');
      }
    }
  }

  it("initramfs-tools: mkinitramfs' work directories and update-initramfs' half-written image go; images and other files stay", () => {
    files({
      boot: ['initrd.img-6.1.0-28-amd64', 'initrd.img-6.1.0-28-amd64.new', 'vmlinuz-6.1.0-28-amd64', 'config-6.1.0-28-amd64'],
      tmp: ['mkinitramfs_Ab3dE9/', 'mkinitramfs-OL_x7Yz12', 'mkinitramfs-FW_Qw12Er', 'keep-me', 'mkinitramfs_notes.txt'],
    });
    const r = runRebuild('initramfs-tools');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.log, 'update-initramfs -u -k all\n');
    assert.deepEqual(readdirSync(join(dir, 'boot')).sort(), ['config-6.1.0-28-amd64', 'initrd.img-6.1.0-28-amd64', 'vmlinuz-6.1.0-28-amd64']);
    // mktemp's six-character suffix only: a file merely starting with the name is not the generator's
    assert.deepEqual(readdirSync(join(dir, 'tmp')).sort(), ['keep-me', 'mkinitramfs_notes.txt']);
  });

  it("dracut and mkinitcpio: their mktemp work directories go, then the generator runs", () => {
    files({ boot: ['initramfs-5.14.0.img'], tmp: ['dracut.k2P9aZ/', 'dracut.conf', 'mkinitcpio.Zx81Lm/'] });
    const d = runRebuild('dracut');
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.log, 'dracut -f --regenerate-all\n');
    assert.deepEqual(readdirSync(join(dir, 'tmp')).sort(), ['dracut.conf', 'mkinitcpio.Zx81Lm']);
    const m = runRebuild('mkinitcpio');
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.log, /mkinitcpio -P\n$/);
    assert.deepEqual(readdirSync(join(dir, 'tmp')).sort(), ['dracut.conf']);
    assert.deepEqual(readdirSync(join(dir, 'boot')), ['initramfs-5.14.0.img']);
  });

  it('a failing removal stops the rebuild (no generator run on a root it could not clean)', () => {
    files({ boot: [], tmp: [] });
    // a directory that cannot be removed: its parent is read-only for rm (a bind mount made read-only)
    const r = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', 'mkdir -p "$1/tmp/mkinitramfs_Ro1234" "$1/ro" && mount --bind "$1/tmp" "$1/ro" && mount -o remount,bind,ro "$1/ro" && TMPDIR="$1/ro" exec sh -c "$2"', 'sh', dir, rebuildCommand('initramfs-tools').text],
      { encoding: 'utf8', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /mkinitramfs_Ro1234/);
    assert.ok(!existsSync(join(dir, 'log')), 'the generator ran after a failed removal');
  });
});
