// Which chroot binds a root lacks and what is mounted below its bind targets, from mountinfo text:
// decided by real mount point only, whatever links the guest has.
import { strict as assert } from 'node:assert';
import { bindsToCheck, chrootBindState, CHROOT_BINDS } from '../../tasks/guest/chroot-binds.js';
import { parseMountinfo } from '../../tasks/storage/mountinfo.js';

const HOST = [
  '21 26 0:20 / /proc rw,relatime - proc proc rw',
  '22 26 0:21 / /sys rw,relatime - sysfs sysfs rw',
  '23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,mode=755',
  '25 23 0:23 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000',
  '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '27 26 7:1 / /mnt/x rw,relatime - ext4 /dev/loop1p1 rw',
];
/** The five binds of /mnt/x as ferry mounts them. */
const BOUND = [
  '60 27 0:6 / /mnt/x/dev rw,relatime master:2 - devtmpfs devtmpfs rw,mode=755',
  '61 60 0:23 / /mnt/x/dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000',
  '62 27 0:20 / /mnt/x/proc rw,relatime - proc proc rw',
  '63 27 0:21 / /mnt/x/sys rw,relatime - sysfs sysfs rw',
  '64 27 254:0 /run /mnt/x/run rw,relatime - ext4 /dev/vda rw',
];

const cases: { name: string; root: string; lines: string[]; missing: string[]; mounted: string[] }[] = [
  { name: 'nothing bound yet', root: '/mnt/x', lines: HOST, missing: [...CHROOT_BINDS], mounted: [] },
  {
    name: 'all bound, plus what a package mounted under /proc and a second mount stacked on /run: deepest first, each once',
    root: '/mnt/x',
    lines: [
      ...HOST,
      ...BOUND,
      '65 62 0:40 / /mnt/x/proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw',
      '66 64 0:41 / /mnt/x/run rw,relatime - tmpfs tmpfs rw',
    ],
    missing: [],
    mounted: ['/mnt/x/proc/sys/fs/binfmt_misc', '/mnt/x/dev/pts', '/mnt/x/proc', '/mnt/x/run', '/mnt/x/run', '/mnt/x/sys', '/mnt/x/dev'],
  },
  {
    // what the old code left when the guest's run was a link to /tmp/elsewhere: not under the root, not ours to touch
    name: 'a bind that landed outside the root through a guest link is neither counted nor hidden: /run is still missing',
    root: '/mnt/x',
    lines: [...HOST, ...BOUND.filter((l) => !l.includes('/mnt/x/run')), '70 26 254:0 /run /tmp/elsewhere rw,relatime - ext4 /dev/vda rw'],
    missing: ['/run'],
    mounted: ['/mnt/x/dev/pts', '/mnt/x/proc', '/mnt/x/sys', '/mnt/x/dev'],
  },
  {
    name: 'a root that is a prefix of another path only counts its own mounts',
    root: '/mnt/x',
    lines: [...HOST, '80 26 0:6 / /mnt/x2/dev rw - devtmpfs devtmpfs rw', '81 26 0:20 / /mnt/x/devices rw - proc proc rw'],
    missing: [...CHROOT_BINDS],
    mounted: [],
  },
  {
    name: 'mount points with spaces, as mountinfo escapes them',
    root: '/tmp/mnt point',
    lines: [...HOST, '90 26 0:6 / /tmp/mnt\\040point/dev rw - devtmpfs devtmpfs rw', '91 90 0:23 / /tmp/mnt\\040point/dev/pts rw - devpts devpts rw'],
    missing: ['/proc', '/sys', '/run'],
    mounted: ['/tmp/mnt point/dev/pts', '/tmp/mnt point/dev'],
  },
];

describe('chroot binds (mountinfo → missing and mounted)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const s = chrootBindState(c.root, parseMountinfo(c.lines.join('\n')));
      assert.deepEqual(s.missing, c.missing);
      assert.deepEqual(
        s.mounted.map((m) => m.mountPoint),
        c.mounted,
      );
    });
  }

  const checks: [string[], string[]][] = [
    [[...CHROOT_BINDS], ['/dev', '/proc', '/sys', '/run']],
    [['/dev/pts'], ['/dev/pts']],
    [['/dev/pts', '/run'], ['/dev/pts', '/run']],
    [[], []],
  ];
  for (const [missing, checked] of checks) {
    it(`checks ${checked.join(', ') || 'nothing'} in the guest when ${missing.join(', ') || 'nothing'} is missing (a bind below a missing one lands in the host's directory)`, () => {
      assert.deepEqual(bindsToCheck(missing), checked);
    });
  }
});
