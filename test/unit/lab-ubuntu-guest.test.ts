import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debootstrapDefaultMirror, packagesStanza, releaseSha256 } from '../../lab/ubuntu-guest.js';

// The shape of debootstrap's Ubuntu suite script (scripts/gutsy, which jammy links to): the mirror
// depends on ARCH and SUITE, and the script goes on to call debootstrap's own functions.
const SUITE_SCRIPT = `case $ARCH in
  amd64|i386)
	case $SUITE in
	  gutsy|hardy)
	default_mirror http://old.example.org/ubuntu
	  ;;
	  *)
	default_mirror http://archive.example.org/ubuntu/
	;;
	esac
	;;
  *)
	default_mirror http://ports.example.org/ubuntu-ports
	;;
esac
mirror_style release
keyring /usr/share/keyrings/ubuntu-archive-keyring.gpg
`;

describe('lab Ubuntu guest: mirror and archive index parsing', () => {
  let scripts = '';
  before(() => {
    scripts = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-debootstrap-scripts-'));
    fs.writeFileSync(path.join(scripts, 'gutsy'), SUITE_SCRIPT);
    for (const s of ['jammy', 'hardy']) fs.symlinkSync('gutsy', path.join(scripts, s));
    fs.writeFileSync(path.join(scripts, 'nomirror'), 'mirror_style release\n');
  });
  after(() => fs.rmSync(scripts, { recursive: true, force: true }));

  it("takes the mirror from the suite script's own case on ARCH and SUITE", async () => {
    assert.equal(await debootstrapDefaultMirror('jammy', 'amd64', scripts), 'http://archive.example.org/ubuntu');
    assert.equal(await debootstrapDefaultMirror('hardy', 'amd64', scripts), 'http://old.example.org/ubuntu');
    assert.equal(await debootstrapDefaultMirror('jammy', 'arm64', scripts), 'http://ports.example.org/ubuntu-ports');
  });

  it('fails on a suite debootstrap does not know, or a script without default_mirror', async () => {
    await assert.rejects(debootstrapDefaultMirror('nosuch', 'amd64', scripts), /debootstrap has no suite script .*nosuch/);
    await assert.rejects(debootstrapDefaultMirror('nomirror', 'amd64', scripts), /names no default_mirror for nomirror on amd64/);
  });

  it("reads a file's SHA256 from a Release file", () => {
    const release = [
      'Suite: jammy',
      'MD5Sum:',
      ' f27cee24646e541717959598ca71230b          1394768 main/binary-amd64/Packages.xz',
      'SHA256:',
      ' 8f73d18065a4f05ee7362c50553ea4b26ca2b4b3786472676b6b1ee58b4cff72         17832892 universe/source/Sources.xz',
      ' 37cb57f1554cbfa71c5a29ee9ffee18a9a8c1782bb0568e0874b7ff4ce8f9c11          1394768 main/binary-amd64/Packages.xz',
      'Acquire-By-Hash: yes',
      '',
    ].join('\n');
    assert.equal(releaseSha256(release, 'main/binary-amd64/Packages.xz'), '37cb57f1554cbfa71c5a29ee9ffee18a9a8c1782bb0568e0874b7ff4ce8f9c11');
    assert.equal(releaseSha256(release, 'main/binary-i386/Packages.xz'), undefined);
    assert.equal(releaseSha256('Suite: jammy\n', 'main/binary-amd64/Packages.xz'), undefined);
  });

  it('finds one package stanza in a Packages index', () => {
    const index = [
      'Package: ubuntu-keyring-extra\nFilename: pool/x.deb\nSHA256: 00\n',
      'Package: ubuntu-keyring\nVersion: 2021.03.26\nFilename: pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb\nSHA256: 0d0e7ed6\nDescription: GnuPG keys\n of the Ubuntu archive\n',
    ].join('\n');
    const s = packagesStanza(index, 'ubuntu-keyring');
    assert.equal(s?.Filename, 'pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb');
    assert.equal(s?.SHA256, '0d0e7ed6');
    assert.equal(packagesStanza(index, 'ubuntu-keyring-missing'), undefined);
  });
});
