// The set-up check that npm test runs, for a user who is not root: a package that is not
// installed is named with the one exact `sudo apt-get install` line and a non-zero exit, and nothing
// is installed. Runs as `nobody` (setpriv), so it needs root to start, like the other integration suites.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Tiny real Debian packages nobody needs here: the test takes the first one that is not installed.
const CANDIDATES = ['hello', 'sl', 'cowsay', 'figlet'];

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Status}', '--', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout === 'installed';
}

/** Runs `lab/cli.ts packages ARGS` as nobody, with nobody's own environment (not root's). */
function checkAsNobody(args: string[]) {
  return spawnSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--reset-env', '--', process.execPath, '--import', 'tsx', 'lab/cli.ts', 'packages', ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
}

describe('system packages: the check as a user who is not root', function () {
  let pkg: string;

  before(function () {
    assert.equal(process.getuid?.(), 0, 'this suite needs root (it runs the check as nobody with setpriv)');
    const free = CANDIDATES.find((p) => !installed(p));
    assert.ok(free, `every candidate (${CANDIDATES.join(', ')}) is installed here: add one that is not`);
    pkg = free;
  });

  it('prints the one exact sudo line, exits non-zero and installs nothing', function () {
    const r = checkAsNobody(['--package', pkg]);
    assert.equal(r.status, 1, `exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines.filter((l) => l.includes('apt-get')).length, 1, r.stderr);
    assert.ok(lines.includes(`  sudo apt-get install --no-install-recommends ${pkg}`), r.stderr);
    assert.ok(lines.includes(`setup: missing Debian packages: ${pkg}`), r.stderr);
    assert.equal(installed(pkg), false);
  });

  it('is silent and exits 0 when every package named is installed', function () {
    const r = checkAsNobody(['--package', 'dpkg', '--package', 'coreutils']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
  });

  it('refuses a name that is not a Debian package name, before asking dpkg', function () {
    const r = checkAsNobody(['--package', 'x;id']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^setup: not a Debian package name: x;id/);
  });
});
