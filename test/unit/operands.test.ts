// No value becomes an option: the rules parameters meet before they stand as operands (tasks/lib/operands.ts),
// the module schemas that apply them (a literal value is refused at load time, a templated one once rendered,
// with the same message), and the commands built with `--` before their operands.
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { blockcopyModule } from '../../tasks/blockcopy.js';
import { chrootMountsModule } from '../../tasks/chroot-mounts.js';
import { filesystemModule } from '../../tasks/filesystem.js';
import { fstabModule } from '../../tasks/fstab.js';
import { groupModule } from '../../tasks/group.js';
import { grubModule } from '../../tasks/grub.js';
import { initramfsModule } from '../../tasks/initramfs.js';
import { kernelModule } from '../../tasks/kernel.js';
import { absolutePathProblem, accountNameProblem, lvNameProblem, optionLikeProblem, rsyncPathProblem, vgNameProblem } from '../../tasks/lib/operands.js';
import { lvmVgModule } from '../../tasks/lvm-vg.js';
import { lvmModule } from '../../tasks/lvm.js';
import { mountModule } from '../../tasks/mount.js';
import { unarchiveModule } from '../../tasks/unarchive.js';
import { userModule } from '../../tasks/user.js';
import { partitionMapModule } from '../../tasks/partition-map.js';
import { partitionModule } from '../../tasks/partition.js';
import { archiveFlagProblem, rsyncCommand, rsyncModule } from '../../tasks/rsync.js';
import { waitForModule } from '../../tasks/wait-for.js';

/** A rule's verdicts: [value, undefined when valid or a regexp the problem must match]. */
type Verdicts = [string, RegExp | undefined][];

function checkRule(name: string, rule: (v: string) => string | undefined, table: Verdicts): void {
  describe(name, () => {
    for (const [value, want] of table) {
      it(`${JSON.stringify(value)} → ${want ? want.source : 'valid'}`, () => {
        const got = rule(value);
        if (want === undefined) assert.equal(got, undefined);
        else assert.match(got ?? '(valid)', want);
      });
    }
  });
}

describe('operand rules', () => {
  checkRule('vgNameProblem (lvm(8) VALID NAMES)', vgNameProblem, [
    ['vg1', undefined],
    ['vg_data.2+x-y', undefined],
    ['-vg', /must not start with '-' \(lvm would read it as an option\)/],
    ['--test', /must not start with '-'/],
    ['vg 1', /only letters, digits and \+ _ \. -/],
    ['vg/1', /only letters, digits/],
    ['vg1;rm', /only letters, digits/],
    ['.', /\. and \.\. are not allowed/],
    ['..', /\. and \.\. are not allowed/],
    ['', /is empty/],
    ['v'.repeat(128), /longer than 127 characters/],
    ['v'.repeat(127), undefined],
  ]);
  checkRule('lvNameProblem (lvm(8) VALID NAMES, reserved names)', lvNameProblem, [
    ['xr1-disk', undefined],
    ['xr1-disk-old', undefined],
    ['xr1-disk-ferry-snap', undefined],
    ['--help', /not a valid LVM logical volume name: it must not start with '-'/],
    ['-n', /must not start with '-'/],
    ['x; rm -rf /', /only letters, digits/],
    ['snapshot', /lvm reserves it/],
    ['pvmove', /lvm reserves it/],
    ['snapshots', undefined],
    ['data_mlog', /containing _mlog/],
    ['x_rimage_0', /containing _rimage/],
    ['a_tmeta', /containing _tmeta/],
    ['a_wcorig', /containing _wcorig/],
    ['..', /\. and \.\. are not allowed/],
  ]);
  checkRule('absolutePathProblem', absolutePathProblem, [
    ['/dev/vg1/xr1-disk', undefined],
    ['/tmp/--help', undefined],
    ['--help', /'--help' is not an absolute path \(it must start with \/\)/],
    ['dev/sda', /not an absolute path/],
    ['./x', /not an absolute path/],
    ['/x\0y', /NUL/],
  ]);
  checkRule('accountNameProblem (useradd(8), groupadd(8))', accountNameProblem, [
    ['www-data', undefined],
    ['_apt', undefined],
    ['Debian-exim', undefined],
    ['joe$', undefined],
    ['-x', /not a valid user or group name: it must not start with '-' \(useradd and groupadd would read it as an option\)/],
    ['--help', /must not start with '-'/],
    ['a:b', /must not contain ':'/],
    ['a,b', /must not contain/],
    ['a b', /white space/],
    ['a\nb', /control characters/],
    ['../x', /'\/'/],
    ['1234', /digits only would be read as a numeric id/],
    ['.', /\. and \.\. are not allowed/],
    ['', /is empty/],
    ['u'.repeat(33), /longer than 32 characters/],
    ['u'.repeat(32), undefined],
  ]);
  checkRule('optionLikeProblem', optionLikeProblem, [
    ['ext4', undefined],
    ['UUID=0b3c', undefined],
    ['server:/export', undefined],
    ['--all', /'--all' starts with '-', so the command would read it as an option/],
    ['-e', /starts with '-'/],
  ]);
  checkRule('rsyncPathProblem', rsyncPathProblem, [
    ['/mnt/old/', undefined],
    ['relative/dir', undefined],
    ['./--rsh=x', undefined],
    ['./host:path', undefined],
    ['a/b:c', undefined],
    ["--rsh=sh -c 'touch /tmp/pwned'", /starts with '-', so rsync would read it as an option; write \.\/--rsh/],
    ['-e', /rsync would read it as an option/],
    ['host:/srv', /':' before its first '\/', so rsync would read it as a remote host/],
    ['host::module', /remote host/],
    ['rsync://host/module', /remote host/],
    ['[::1]:x', /remote host/],
    ['file:name', /remote host/],
  ]);
  checkRule('archiveFlagProblem (rsync archive: flags only, none that runs another program)', archiveFlagProblem, [
    ['-aAXH', undefined],
    ['--numeric-ids', undefined],
    ['--exclude=/x', undefined],
    ['--info=progress2', undefined],
    ['-e', /ferry does not pass -e \/ -M to rsync/],
    ['-aAXHe', /-e \/ -M/],
    ['-M--log-file=/x', /-e \/ -M/],
    ['--rsh=sh -c x', /ferry does not pass --rsh/],
    ['--rsh', /--rsh/],
    ['--rsync-path=sh -c x', /--rsync-path/],
    ['--daemon', /--daemon/],
    ['--log-file=/etc/x', /--log-file/],
    ['--write-batch=x', /--write-batch/],
    ['/src', /is not an option: only flags belong in archive/],
  ]);
});

function issues(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('module parameters refuse values a command would read as options', () => {
  const bad: [string, z.ZodType, Record<string, unknown>, RegExp][] = [
    ['lvm: a VG that is an option', lvmModule.params, { vg: '--test', lv: 'x', size: '1G' }, /^vg: '--test' is not a valid LVM volume group name: it must not start with '-'/],
    ['lvm: an LV that is an option (lvcreate -n --help)', lvmModule.params, { vg: 'vg1', lv: '--help', size: '1G' }, /^lv: .*must not start with '-'/],
    ['lvm: renamed from an option (lvrename vg1 old --test)', lvmModule.params, { vg: 'vg1', lv: 'new', from: '--test', state: 'renamed' }, /^from: .*must not start with '-'/],
    ['lvm: a reserved LV name', lvmModule.params, { vg: 'vg1', lv: 'x_mlog', size: '1G' }, /^lv: .*_mlog/],
    ['lvm: an origin with a space', lvmModule.params, { vg: 'vg1', lv: 's', origin: 'a b', state: 'snapshot', size: '1G' }, /^origin: .*only letters/],
    ['lvm: size_of ..', lvmModule.params, { vg: 'vg1', lv: 'x', size_of: '..' }, /^size_of: .*\. and \.\./],
    ['lvm_vg: a VG that is an option', lvmVgModule.params, { vg: '-x', pvs: ['/dev/loop0'] }, /^vg: .*must not start with '-'/],
    ['lvm_vg: a relative PV', lvmVgModule.params, { vg: 'vg1', pvs: ['--help'] }, /^pvs\.0: '--help' is not an absolute path/],
    ['filesystem: mkfs.ext4 … --help', filesystemModule.params, { dev: '--help' }, /^dev: '--help' is not an absolute path/],
    ['filesystem: size_of_device relative', filesystemModule.params, { dev: '/dev/x', state: 'resized', size_of_device: '-x' }, /^size_of_device: .*absolute/],
    ['mount: mount … --all', mountModule.params, { path: '/mnt/x', src: '--all' }, /^src: '--all' starts with '-'/],
    ['mount: a type that is an option', mountModule.params, { path: '/mnt/x', src: '/dev/x', fstype: '--help' }, /^fstype: .*starts with '-'/],
    ['mount: a relative mount point', mountModule.params, { path: '--help', state: 'unmounted' }, /^path: '--help' is not an absolute path/],
    ['partition: a relative device', partitionModule.params, { device: '--help', partitions: [{ size: 'rest' }] }, /^device: .*absolute/],
    ['partition_map: a relative device', partitionMapModule.params, { device: '-a' }, /^device: .*absolute/],
    ['blockcopy: a relative src', blockcopyModule.params, { src: '--help', dest: '/x' }, /^src: .*absolute/],
    ['blockcopy: a relative dest', blockcopyModule.params, { src: '/x', dest: 'x' }, /^dest: .*absolute/],
    ['chroot_mounts: a relative root', chrootMountsModule.params, { root: '-r' }, /^root: .*absolute/],
    ['rsync: src --rsh=…', rsyncModule.params, { src: "--rsh=sh -c 'touch /tmp/pwned'", dest: '/d/' }, /^src: .*rsync would read it as an option/],
    ['rsync: dest host:path', rsyncModule.params, { src: '/s/', dest: 'evil:/d/' }, /^dest: .*remote host/],
    ['rsync: an archive flag that runs a program', rsyncModule.params, { src: '/s/', dest: '/d/', archive: ['-a', '--rsync-path=touch /tmp/x'] }, /^archive\.1: .*--rsync-path/],
    ['rsync: an operand in archive', rsyncModule.params, { src: '/s/', dest: '/d/', archive: ['-a', 'host:/x'] }, /^archive\.1: .*not an option/],
    ['wait_for: nc -z -w 5 -e …', waitForModule.params, { port: 22, host: '-e/bin/sh' }, /^host: .*starts with '-'/],
    ['fstab: a relative device', fstabModule.params, { root: '/mnt/g', devices: ['--help'] }, /^devices\.0: .*absolute/],
    ['grub: a relative disk', grubModule.params, { root: '/mnt/g', disk: '--help' }, /^disk: .*absolute/],
    ['grub: a relative packages_dir (find would read it as an expression)', grubModule.params, { root: '/mnt/g', disk: '/dev/x', packages_dir: '-delete' }, /^packages_dir: .*absolute/],
    ['kernel: a relative packages_dir', kernelModule.params, { root: '/mnt/g', packages_dir: '-delete' }, /^packages_dir: .*absolute/],
    ['initramfs: a relative root', initramfsModule.params, { root: 'mnt' }, /^root: .*absolute/],
    ['group: groupadd … --help', groupModule.params, { name: '--help' }, /^name: '--help' is not a valid user or group name: it must not start with '-'/],
    ['user: useradd … -x (a name that is an option)', userModule.params, { name: '-x' }, /^name: '-x' is not a valid user or group name: it must not start with '-'/],
    ['user: a supplementary group that is an option', userModule.params, { name: 'u', groups: ['--help'] }, /^groups\.0: '--help' .*must not start with '-'/],
    ['user: a primary group that is an option', userModule.params, { name: 'u', group: '-g' }, /^group: '-g' .*must not start with '-'/],
    ['user: a plain text password (the value is not echoed)', userModule.params, { name: 'u', password: 'hunter2' }, /^password: must be a crypt\(3\) hash as \/etc\/shadow holds it/],
    ['user: a relative home', userModule.params, { name: 'u', home: '-d' }, /^home: '-d' is not an absolute path/],
    ['unarchive: an operand in extra_opts (tar would read it as an entry)', unarchiveModule.params, { src: 'a.tar', dest: '/d', extra_opts: ['etc/passwd'] }, /^extra_opts\.0: 'etc\/passwd' is not an option/],
    ['unarchive: an extra_opt that runs a program', unarchiveModule.params, { src: 'a.tar', dest: '/d', extra_opts: ['--to-command=sh'] }, /^extra_opts\.0: ferry does not pass '--to-command=sh' to tar/],
    ['unarchive: a relative dest', unarchiveModule.params, { src: 'a.tar', dest: '-C' }, /^dest: '-C' is not an absolute path/],
    ['unarchive: a host src that is not absolute (- would be stdin)', unarchiveModule.params, { src: '-', dest: '/d', remote_src: true }, /^src: with remote_src: true, src must be an absolute path/],
    ['group: non_unique without gid', groupModule.params, { name: 'g', non_unique: true }, /^non_unique: non_unique: true needs gid/],
  ];
  for (const [name, schema, input, re] of bad) {
    it(name, () => {
      const got = issues(schema, input);
      assert.ok(got.some((m) => re.test(m)), `issues: ${JSON.stringify(got)}`);
    });
  }

  it('accepts the values the shipped playbook and the lab use', () => {
    assert.deepEqual(issues(lvmModule.params, { vg: 'vg1', lv: 'xr1-disk-old', from: 'xr1-disk', state: 'renamed' }), []);
    assert.deepEqual(issues(lvmModule.params, { vg: 'vg1', lv: 'xr1-disk-ferry-snap', origin: 'xr1-disk-old', size: '20%ORIGIN', state: 'snapshot' }), []);
    assert.deepEqual(issues(mountModule.params, { path: '/mnt/xr1-old', src: '/dev/vg1/xr1-disk-old', opts: 'ro,noload' }), []);
    assert.deepEqual(issues(mountModule.params, { path: '/mnt/x', src: 'UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11' }), []);
    assert.deepEqual(issues(rsyncModule.params, { src: '/mnt/old/', dest: '/mnt/new/', preset: 'rootfs', src_host: 'hv1' }), []);
    assert.deepEqual(issues(waitForModule.params, { port: 22, host: 'guest.example' }), []);
  });
});

describe('commands put -- before their operands', () => {
  it('rsync: the mode first, excludes as single words, the user flags, then -- SRC DEST', () => {
    const p = rsyncModule.params.parse({ src: '/mnt/old/', dest: '/mnt/new/', exclude: ['-x'], preset: 'rootfs', delete: true, archive: ['-a', '--include'] });
    assert.equal(
      rsyncCommand(p, '--dry-run').display,
      "rsync --dry-run --itemize-changes '--exclude=/dev/*' '--exclude=/proc/*' '--exclude=/sys/*' '--exclude=/tmp/*' '--exclude=/run/*' " +
        "'--exclude=/mnt/*' '--exclude=/media/*' --exclude=/lost+found --exclude=-x --delete -a --include -- /mnt/old/ /mnt/new/",
    );
    assert.match(rsyncCommand(p, '--info=progress2').display, /^rsync --info=progress2 --no-inc-recursive .* -- \/mnt\/old\/ \/mnt\/new\/$/);
  });
});
