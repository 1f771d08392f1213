// The apt module's parameters: what a package spec may be (literal names only, never an option, a
// wildcard or a version comparison), refused when the task is loaded, with what to write instead.
import { strict as assert } from 'node:assert';
import { aptParams } from '../../tasks/apt.js';
import { compareVersions, parsePackageSpec } from '../../tasks/lib/apt.js';

/** The messages aptParams gives for `input`, or [] when it accepts it. */
function problems(input: Record<string, unknown>): string[] {
  const r = aptParams.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('apt parameters', () => {
  const refused: [unknown, RegExp][] = [
    ['-o APT::Get::Simulate=false', /starts with '-', so apt-get would read it as an option/],
    ['--reinstall', /starts with '-'/],
    ['ngin*', /does not expand wildcards/],
    ['hello>=2.0', /version comparison is not supported; pin a version with name=VERSION/],
    ['Hello', /lower case/],
    ['hello world', /write NAME, NAME:ARCH or NAME=VERSION/],
    ['hello;reboot', /write NAME, NAME:ARCH or NAME=VERSION/],
  ];
  for (const [name, re] of refused) {
    it(`refuses name ${JSON.stringify(name)}`, () => {
      const p = problems({ name });
      assert.equal(p.length, 1, p.join('\n'));
      assert.match(p[0]!, re);
      assert.match(p[0]!, /^name/);
    });
  }

  it('takes NAME, NAME:ARCH and NAME=VERSION (with epoch and revision), alone or in a list', () => {
    assert.deepEqual(problems({ name: ['g++', 'libc6:i386', 'hello=1:2.10-3+deb12u1~bpo1', 'python3.11'] }), []);
    assert.deepEqual(parsePackageSpec('libc6:i386=2.36-9'), { spec: 'libc6:i386=2.36-9', name: 'libc6', arch: 'i386', version: '2.36-9' });
  });

  it('refuses what Ansible refuses or ferry cannot do, naming what to write', () => {
    assert.deepEqual(problems({ deb: '/tmp/x.deb', state: 'absent' }), ['deb: deb only supports state=present']);
    assert.deepEqual(problems({ deb: 'x.deb' }), ["deb: 'x.deb' is not an absolute path (it must start with /)"]);
    assert.match(problems({ deb: '/tmp/x.pkg' })[0]!, /does not end in \.deb/);
    assert.deepEqual(problems({ name: 'a', pkg: 'b' }), ['pkg: give name or one of its aliases (pkg, package), not name and pkg']);
    assert.deepEqual(problems({ state: 'present' }), [': give one of name, deb, update_cache and autoremove']);
    assert.match(problems({ name: 'a', state: 'removed' })[0]!, /^state: /);
  });
});

describe("Debian version order (dpkg's)", () => {
  // Each pair: the first sorts before the second (deb-version(7) and dpkg's own tests).
  const before: [string, string][] = [
    ['1.0', '2.0'], ['1.0~rc1', '1.0'], ['1.0', '1.0+b1'], ['1.0', '1.0-1'], ['1.9', '1.10'], ['2.10-2', '2.10-3'],
    ['9:1.0', '1:2.0'].reverse() as [string, string], ['1.0a', '1.0b'], ['1.0~~', '1.0~'], ['1.0-1', '1.0-1.1'], ['0.1', '0.01a'],
  ];
  for (const [a, b] of before) {
    it(`${a} < ${b}`, () => {
      assert.ok(compareVersions(a, b) < 0);
      assert.ok(compareVersions(b, a) > 0);
    });
  }
  it('equal versions (leading zeros, no epoch = epoch 0)', () => {
    assert.equal(compareVersions('1.01', '1.1'), 0);
    assert.equal(compareVersions('0:2.10-3', '2.10-3'), 0);
  });
});
