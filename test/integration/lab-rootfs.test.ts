// The lab's tree removal reads what is mounted in a tree from /proc/self/mountinfo with the one
// parser (every octal escape), so a mount point with a space, a tab or a backslash is found and
// unmounted before the tree is deleted. Real tmpfs mounts in a temp directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mountsUnder, removeTree } from '../../lab/rootfs.js';

describe('lab: mountsUnder and removeTree @integration', function () {
  it('finds mount points whose names hold a space, a tab and a backslash, and removes the tree after unmounting them', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-rootfs-'));
    const odd = path.join(dir, 'a dir\twith \\ odd');
    mkdirSync(odd, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'ferry-test', odd]);
    writeFileSync(path.join(odd, 'f'), 'x');
    try {
      assert.deepEqual(mountsUnder(dir), [odd]);
      await removeTree(dir);
      assert.equal(existsSync(dir), false);
    } finally {
      if (mountsUnder(dir).length) execFileSync('umount', ['-l', odd]);
    }
  });
});
