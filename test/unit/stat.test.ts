// The stat module's parser, on output its command printed on this machine (GNU coreutils 9.1).
import { strict as assert } from 'node:assert';
import { parseStat, parseStatTime, statCommand } from '../../tasks/stat.js';

// `stat` of a 4754 file, of a symlink to it (not followed), and of a fifo, as the command printed them.
const FILE = 'stat:89ec|0|0|root|root|6|2155495|65024|1|2026-12-04 10:19:06.225961254 +0000|2026-12-04 10:19:00.457961254 +0000|2026-12-04 10:19:00.489961254 +0000\0access:rwx\0sum:f572d396fae9206628714fb2ce00f72e94f2258f\0';
const LINK = 'stat:a1ff|0|0|root|root|1|2155493|65024|1|2026-12-04 10:19:06.257961254 +0000|2026-12-04 10:19:00.517961254 +0000|2026-12-04 10:19:00.517961254 +0000\0target:f\0source:/tmp/stx/f\0access:rwx\0';
const FIFO = 'stat:11a4|0|0|root|root|0|2155496|65024|1|2026-12-04 10:19:00.557961254 +0000|2026-12-04 10:19:00.557961254 +0000|2026-12-04 10:19:00.557961254 +0000\0access:rw\0';

describe('stat: parsing', () => {
  it('a regular file with setuid: Ansible\'s names and values', () => {
    const st = parseStat(FILE, '/tmp/stx/f');
    assert.deepEqual(
      { ...st, atime: undefined, mtime: undefined, ctime: undefined },
      {
        exists: true, path: '/tmp/stx/f', isreg: true, isdir: false, islnk: false, isblk: false, ischr: false, isfifo: false, issock: false,
        mode: '4754', uid: 0, gid: 0, pw_name: 'root', gr_name: 'root', size: 6, inode: 2155495, dev: 65024, nlink: 1,
        atime: undefined, mtime: undefined, ctime: undefined,
        rusr: true, wusr: true, xusr: true, rgrp: true, wgrp: false, xgrp: true, roth: true, woth: false, xoth: false, isuid: true, isgid: false,
        readable: true, writeable: true, executable: true, checksum: 'f572d396fae9206628714fb2ce00f72e94f2258f', checksum_algorithm: 'sha1',
      },
    );
    assert.ok(Math.abs((st.mtime as number) - 1796379540.457961) < 1e-6, String(st.mtime));
  });
  it('a link names its target and the path it resolves to; a fifo has no checksum', () => {
    const l = parseStat(LINK, '/tmp/stx/l');
    assert.deepEqual([l.islnk, l.isreg, l.mode, l.lnk_target, l.lnk_source, l.checksum], [true, false, '0777', 'f', '/tmp/stx/f', undefined]);
    const f = parseStat(FIFO, '/tmp/stx/p');
    assert.deepEqual([f.isfifo, f.mode, f.readable, f.executable, f.checksum], [true, '0644', true, false, undefined]);
  });
  it('nothing there; output it does not know is an error, not a guess', () => {
    assert.deepEqual(parseStat('absent\n', '/x'), { exists: false });
    assert.throws(() => parseStat('stat:zz|1\0', '/x'), /unexpected stat output/);
  });
  it('times with their zone and fraction, as %x prints them', () => {
    assert.equal(parseStatTime('1970-01-01 01:00:00.5 +0100'), 0.5);
    assert.equal(parseStatTime('1969-12-31 18:30:00 -0530'), 0);
    assert.throws(() => parseStatTime('1767323045'), /unexpected time/);
  });
  it('the path is one quoted word; follow and the algorithm change the command', () => {
    const c = statCommand({ path: "/tmp/a b'$(x)", follow: false, get_checksum: true, checksum_algorithm: 'sha256' });
    assert.ok(c.text.startsWith(`P='/tmp/a b'\\''$(x)';`), c.text);
    assert.match(c.text, /sha256sum < "\$P"/);
    assert.doesNotMatch(c.text, /stat -L/);
    assert.match(statCommand({ path: '/x', follow: true, get_checksum: false, checksum_algorithm: 'sha1' }).text, /stat -L -c/);
  });
});
