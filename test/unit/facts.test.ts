// gather_facts: the command's shape and the parser, driven by real output saved as fixtures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  FactsParseError,
  factSections,
  factsCommand,
  factsScript,
  factsVars,
  osFacts,
  parseFacts,
  parseLsblk,
  parseVgs,
  parseMounts,
  parseOsRelease,
  parseTools,
  splitSections,
} from '../../runner/facts/index.js';
import { evaluateBool, parseExpr } from '../../runner/expr/index.js';
import { newBatchToken } from '../../runner/batch-read.js';
import { FIXTURE_TOKEN } from '../helpers/fixture-token.js';
import { MIGRATION_FACT_TOOLS } from '../../tasks/fact-tools.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');
const TOKEN = FIXTURE_TOKEN;
const TOOLS = MIGRATION_FACT_TOOLS;

// The debian12-* captures predate the sections for the ansible_* facts: their absence is reported, and only that.
const LATER_SECTIONS = new Set(['nodename', 'cpuinfo', 'ip_addr', 'netdev', 'mtab', 'env', 'user', 'pkg', 'init']);
const olderCaptureWarnings = (ws: string[]): string[] =>
  ws.filter((w) => !(LATER_SECTIONS.has(w.split(':')[0]!) && w.endsWith(': section missing from the output')));

// Builds a facts output from sections, for the cases no machine here can produce (lvm2 absent).
function output(sections: Record<string, [string, number]>): string {
  return Object.entries(sections)
    .map(([name, [text, rc]]) => `${TOKEN} ${name}${TOKEN}\n${text}\n${TOKEN} end ${rc} ${TOKEN}\n`)
    .join('');
}

describe('facts: the command', () => {
  it('is one sh -c word that runs every section and exits 0', () => {
    const cmd = factsCommand(TOKEN, TOOLS);
    assert.match(cmd.text, /^sh -c '/);
    assert.ok(cmd.text.endsWith(`' ferry-facts ${TOKEN}`), cmd.text.slice(-60));
    for (const s of factSections(TOOLS)) assert.ok(factsScript(TOOLS).includes(`ferry_rec ${s.name} eval `), s.name);
    assert.deepEqual(cmd.secrets, []);
  });
  it('only reads: no command that writes, creates or changes state', () => {
    assert.doesNotMatch(factsScript(TOOLS), /\b(rm|mv|cp|dd|mkfs|lvcreate|lvremove|vgchange|lvchange|sfdisk -|tee|mkdir|touch)\b|>[^&/]/);
  });
  it('runs under dash and yields parseable facts here (the real thing, locally)', function () {
    // The same command the SSH transport sends, run by this machine's /bin/sh.
    const token = newBatchToken();
    const out = execFileSync('/bin/sh', ['-c', factsCommand(token, TOOLS).text], { encoding: 'utf8' });
    const f = parseFacts(out, token, TOOLS);
    const { sections, broken } = splitSections(out, token);
    assert.equal(broken, undefined);
    assert.deepEqual([...sections.keys()], factSections(TOOLS).map((s) => s.name));
    assert.ok(f.hostname.length > 0);
    assert.ok(f.cpus >= 1);
    assert.ok(f.memoryMb > 0);
    assert.ok(f.mounts.some((m) => m.mountpoint === '/'));
    assert.notEqual(f.os.family, 'unknown');
  });
});

describe('facts: the tools looked for are the caller\'s', () => {
  const here = (tools: readonly string[]) => {
    const token = newBatchToken();
    return parseFacts(execFileSync('/bin/sh', ['-c', factsCommand(token, tools).text], { encoding: 'utf8' }), token, tools);
  };
  it('reports each tool of the list given, by its camelCase name, and no other', () => {
    const f = here(['sh', 'ferry-no-such-tool']);
    assert.deepEqual({ ...f.tools, paths: undefined }, { sh: true, ferryNoSuchTool: false, paths: undefined });
    assert.match(f.tools.paths.sh as string, /\/sh$/);
    assert.equal(f.tools.paths['ferry-no-such-tool'], undefined);
    assert.ok(!f.warnings.some((w) => w.startsWith('tools:')), f.warnings.join('\n'));
  });
  it('an empty list looks for nothing, and the section still runs', () => {
    const f = here([]);
    assert.deepEqual(f.tools, { paths: {} });
    assert.ok(!f.warnings.some((w) => w.startsWith('tools:')), f.warnings.join('\n'));
  });
  it('a name that is not a plain command, or whose fact would be `paths`, is refused before any command is built', () => {
    assert.throws(() => factsCommand(TOKEN, ['virsh', 'x; rm -rf /']), /fact tools: "x; rm -rf \/" is not a command name/);
    assert.throws(() => factsCommand(TOKEN, ['-v']), /fact tools: "-v" is not a command name/);
    assert.throws(() => factsCommand(TOKEN, ['paths']), /a tool cannot be named paths/);
  });
});

describe('facts: parseFacts on real Debian 12 output (root)', () => {
  const f = parseFacts(fixture('debian12-root.txt'), TOKEN, TOOLS);
  it('os', () =>
    assert.deepEqual(f.os, {
      family: 'debian',
      distribution: 'debian',
      version: '12',
      majorVersion: '12',
      codename: 'bookworm',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    }));
  it('kernel, architecture, hostname, memory, cpus', () => {
    assert.equal(f.kernel, '6.18.44-fc-v669');
    assert.equal(f.architecture, 'x86_64');
    assert.equal(f.hostname, 'vm');
    assert.equal(f.memoryMb, Math.floor(24684084 / 1024));
    assert.equal(f.memoryAvailableMb, Math.floor(23188528 / 1024));
    assert.equal(f.cpus, 2);
    assert.deepEqual(olderCaptureWarnings(f.warnings), []);
  });
  it('block devices: the lsblk tree flattened, with parents', () => {
    assert.deepEqual(
      f.blockDevices.map((d) => [d.name, d.path, d.type, d.sizeBytes, d.parent, d.mountpoint]),
      [
        ['loop0', '/dev/loop0', 'loop', 67108864, null, null],
        ['loop0p1', '/dev/loop0p1', 'part', 33554432, 'loop0', null],
        ['loop0p2', '/dev/loop0p2', 'part', 32505856, 'loop0', null],
        ['loop1', '/dev/loop1', 'loop', 67108864, null, null],
        ['zram0', '/dev/zram0', 'disk', 0, null, null],
        ['vda', '/dev/vda', 'disk', 274877906944, null, '/'],
      ],
    );
  });
  it('lvm: volume groups and logical volumes from the lvm2 JSON reports', () => {
    assert.equal(f.lvm.status, 'ok');
    assert.deepEqual(f.lvm.vgs, [
      {
        name: 'ferrytest',
        uuid: '2bGiTf-XnnN-FhkO-qEfW-wahg-vn0A-8iyDcV',
        sizeBytes: 62914560,
        freeBytes: 37748736,
        extentSizeBytes: 4194304,
        pvCount: 1,
        lvCount: 2,
        attr: 'wz--n-',
      },
    ]);
    assert.deepEqual(f.lvm.lvs, [
      { name: 'root', vg: 'ferrytest', sizeBytes: 16777216, path: '/dev/ferrytest/root', attr: '-wi-XX----', active: false, open: false, origin: '' },
      { name: 'swap', vg: 'ferrytest', sizeBytes: 8388608, path: '/dev/ferrytest/swap', attr: '-wi-XX----', active: false, open: false, origin: '' },
    ]);
  });
  it('mounts from mountinfo', () => {
    assert.equal(f.mounts.length, 20);
    assert.deepEqual(f.mounts.find((m) => m.mountpoint === '/'), {
      source: '/dev/vda',
      mountpoint: '/',
      fstype: 'ext4',
      options: ['rw', 'relatime'],
      device: '254:0',
    });
  });
  it('tools', () => {
    assert.deepEqual(
      { ...f.tools, paths: undefined },
      { virsh: true, xl: false, kpartx: false, rsync: true, grubInstall: false, grub2Install: false, sfdisk: true, paths: undefined },
    );
    assert.equal(f.tools.paths.sfdisk, '/usr/sbin/sfdisk');
  });
});

describe('facts: parseFacts on real Debian 12 output (not root)', () => {
  const f = parseFacts(fixture('debian12-nonroot.txt'), TOKEN, TOOLS);
  it('lvm is "failed" with the reason, not an empty list taken as truth', () => {
    assert.equal(f.lvm.status, 'failed');
    assert.match(f.lvm.error!, /vgs exited 5 \(lvm needs root: gather facts with become\)/);
    assert.deepEqual(f.lvm.vgs, []);
    assert.deepEqual(olderCaptureWarnings(f.warnings), ['lvm: vgs exited 5 (lvm needs root: gather facts with become)']);
  });
  it('the other facts are still there', () => {
    assert.equal(f.os.codename, 'bookworm');
    assert.equal(f.blockDevices.length, 6);
    assert.equal(f.tools.sfdisk, true);
  });
});

describe('facts: os-release variants -> os facts', () => {
  const cases: [string, Partial<ReturnType<typeof osFacts>>][] = [
    ['ubuntu-22.04.txt', { family: 'debian', distribution: 'ubuntu', version: '22.04', majorVersion: '22', codename: 'jammy' }],
    ['centos-7.txt', { family: 'redhat', distribution: 'centos', version: '7', majorVersion: '7', codename: '', prettyName: 'CentOS Linux 7 (Core)' }],
    ['rhel-9.3.txt', { family: 'redhat', distribution: 'rhel', version: '9.3', majorVersion: '9', codename: '' }],
    ['rocky-9.txt', { family: 'redhat', distribution: 'rocky', version: '9.4', majorVersion: '9' }],
    ['arch.txt', { family: 'arch', distribution: 'arch', version: '', majorVersion: '', codename: '', prettyName: 'Arch Linux' }],
    ['opensuse-leap-15.5.txt', { family: 'suse', distribution: 'opensuse-leap', version: '15.5' }],
    ['alpine-3.19.txt', { family: 'alpine', distribution: 'alpine', version: '3.19.1', majorVersion: '3' }],
    ['linuxmint-21.3.txt', { family: 'debian', distribution: 'linuxmint', codename: 'virginia' }],
    ['debian-trixie-testing.txt', { family: 'debian', distribution: 'debian', version: '', codename: 'trixie' }],
    ['xcp-ng-8.2.txt', { family: 'redhat', distribution: 'xcp-ng', version: '8.2.1', majorVersion: '8' }],
  ];
  for (const [file, want] of cases) {
    it(file, () => {
      const got = osFacts(parseOsRelease(fixture(`os-release/${file}`)));
      for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, k);
    });
  }
  it('an unknown distribution is family "unknown", and no os-release at all gives empty facts', () => {
    assert.equal(osFacts(parseOsRelease('ID=plan9\nNAME="Plan 9"\n')).family, 'unknown');
    assert.deepEqual(osFacts({}), { family: 'unknown', distribution: '', version: '', majorVersion: '', codename: '', prettyName: '' });
  });
  it('quoting: double quotes with escapes, single quotes, comments', () => {
    assert.deepEqual(parseOsRelease(`# comment\nA="x \\"y\\" \\$z"\nB='lit $x'\nC=plain\n`), { A: 'x "y" $z', B: 'lit $x', C: 'plain' });
  });
});

describe('facts: section parsers', () => {
  it('lsblk -P (real pairs output, the fallback for old util-linux) gives the same devices, flat', () => {
    const pairs = parseLsblk(fixture('debian12-lsblk-pairs.txt'));
    const json = parseFacts(fixture('debian12-root.txt'), TOKEN, TOOLS).blockDevices;
    assert.deepEqual(
      pairs.map((d) => ({ ...d, parent: null })),
      json.map((d) => ({ ...d, parent: null })),
    );
  });
  it('lsblk -P: device-mapper devices get /dev/mapper paths, escapes are decoded', () => {
    const d = parseLsblk('NAME="vg0-root" KNAME="dm-0" TYPE="lvm" SIZE="10737418240" FSTYPE="ext4" MOUNTPOINT="/mnt/a\\x20b" UUID="u-1"');
    assert.deepEqual(d, [
      { name: 'vg0-root', path: '/dev/mapper/vg0-root', type: 'lvm', sizeBytes: 10737418240, fstype: 'ext4', mountpoint: '/mnt/a b', uuid: 'u-1', parent: null },
    ]);
  });
  it('lsblk --json from util-linux 2.27–2.32 (sizes as strings) is read too', () => {
    const d = parseLsblk('{"blockdevices": [{"name": "xvda", "path": "/dev/xvda", "type": "disk", "size": "8589934592", "fstype": null, "mountpoint": null, "uuid": null}]}');
    assert.equal(d[0]!.sizeBytes, 8589934592);
  });
  it('lvm report: rows of the named kind, even with warnings printed before the JSON', () => {
    const vgs = parseVgs('  WARNING: something\n  {"report": [{"vg": [{"vg_name": "a", "vg_size": "8", "vg_free": "4", "vg_extent_size": "4"}]}, {"lv": [{"lv_name": "x"}]}]}');
    assert.deepEqual(vgs.map((v) => [v.name, v.sizeBytes, v.freeBytes]), [['a', 8, 4]]);
  });
  it('mountinfo: octal escapes and optional fields', () => {
    const m = parseMounts('36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n');
    assert.deepEqual(m, [{ source: '/dev/root', mountpoint: '/mnt/with space', fstype: 'ext3', options: ['rw', 'noatime'], device: '98:0' }]);
  });
  it('/proc/mounts format when mountinfo was not readable', () => {
    assert.deepEqual(parseMounts('/dev/xvda1 / ext4 rw,relatime 0 0\n'), [
      { source: '/dev/xvda1', mountpoint: '/', fstype: 'ext4', options: ['rw', 'relatime'], device: null },
    ]);
  });
  it('tools: only those with a path are present', () => {
    const t = parseTools('virsh=\nxl=/usr/sbin/xl\ngrub2-install=/usr/sbin/grub2-install\n', ['virsh', 'xl', 'grub2-install', 'kpartx']);
    assert.equal(t.xl, true);
    assert.equal(t.virsh, false);
    assert.equal(t.grub2Install, true);
    assert.equal(t.kpartx, false, 'a tool asked about whose line is missing is not installed');
    assert.deepEqual(Object.keys(t).sort(), ['grub2Install', 'kpartx', 'paths', 'virsh', 'xl'], 'only the tools asked about');
  });
});

describe('facts: degraded output', () => {
  it('lvm2 not installed: status missing, no warning noise', () => {
    const f = parseFacts(output({ os_release: ['ID=debian', 0], vgs: ['', 127], lvs: ['', 127] }), TOKEN, TOOLS);
    assert.equal(f.lvm.status, 'missing');
    assert.match(f.lvm.error!, /not installed/);
  });
  it('missing and failed sections become warnings and defaults', () => {
    const f = parseFacts(output({ os_release: ['ID=debian', 0], uname: ['', 1], lsblk: ['{"blockdevices": [', 0], vgs: ['{"report":[{"vg":[]}]}', 0], lvs: ['{"report":[{"lv":[]}]}', 0] }), TOKEN, TOOLS);
    assert.equal(f.kernel, '');
    assert.equal(f.cpus, 0);
    assert.deepEqual(f.blockDevices, []);
    assert.ok(f.warnings.includes('uname: exited 1'));
    assert.ok(f.warnings.includes('hostname: section missing from the output'));
    assert.ok(f.warnings.some((w) => w.startsWith('lsblk: cannot parse')));
    assert.equal(f.lvm.status, 'ok');
  });
  it('an lvm report without its "report" array is a warning and no LVM facts, not an empty VG list taken as true', () => {
    const f = parseFacts(output({ vgs: ['{}', 0], lvs: ['{"report":[{"lv":[]}]}', 0] }), TOKEN, TOOLS);
    assert.equal(f.lvm.status, 'failed');
    assert.ok(f.warnings.some((w) => /^lvm: cannot read the lvm2 JSON report: vgs: JSON has no "report" array/.test(w)), f.warnings.join('\n'));
  });
  it('lsblk output in neither format is a warning, not silently no devices', () => {
    const f = parseFacts(output({ lsblk: ['lsblk: unknown column: PATH', 0] }), TOKEN, TOOLS);
    assert.deepEqual(f.blockDevices, []);
    assert.ok(f.warnings.some((w) => /^lsblk: cannot parse its output: unrecognised lsblk line/.test(w)), f.warnings.join('\n'));
  });
  it('output without any section (not our command, or sh missing) is an error saying so', () => {
    assert.throws(() => parseFacts('bash: sh: command not found\n', TOKEN, TOOLS), (e: unknown) => e instanceof FactsParseError && /no framed sections/.test(e.message));
  });
  it('CRLF line ends (a pty) are accepted', () => {
    const f = parseFacts(fixture('debian12-root.txt').replace(/\n/g, '\r\n'), TOKEN, TOOLS);
    assert.equal(f.os.codename, 'bookworm');
    assert.equal(f.lvm.lvs.length, 2);
  });
});

describe('facts: as variables for conditions', () => {
  const v = factsVars(parseFacts(fixture('debian12-root.txt'), TOKEN, TOOLS));
  const cases: [string, boolean][] = [
    ["ansible_os_family == 'Debian'", true],
    ["ansible_distribution == 'Debian' and ansible_distribution_major_version | int >= 12", true],
    ["ansible_distribution_release == 'bookworm'", true],
    ["ferry_facts.os.family == 'debian'", true],
    ['ferry_facts.tools.virsh and not ferry_facts.tools.xl', true],
    ["ferry_facts.lvm.lvs | length == 2", true],
    ["ferry_facts.lvm.lvs[0].path == '/dev/ferrytest/root'", true],
    ['ansible_memtotal_mb > 1024', true],
    ["ansible_distribution_version is version('11', '>')", true],
  ];
  for (const [src, want] of cases) it(src, () => assert.equal(evaluateBool(parseExpr(src), v), want));
});
