// xen_import's pure parts: the inventory fragment of corpus xl.cfg files, bad files reported with
// file:line while the others import, the reader's real output (fixtures), and `ferry xen-import FILE...`.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Command as Cli } from 'commander';
import { parse as parseYamlText } from 'yaml';
import { loadInventory } from '../../runner/inventory/index.js';
import { addXenImportCommand } from '../../app/xen-import-cli.js';
import { formatXenFragment } from '../../app/xen-import-run.js';
import { xenImportModule } from '../../tasks/xen-import.js';
import { buildXenImport, mergeXenImports, xenImportReason, type XenSource } from '../../tasks/xen/import-data.js';
import { parseReaderOutput, sourcesFromRecords, xenReadCommand } from '../../tasks/xen/reader.js';
import { guestToInventoryVars } from '../../tasks/xen/inventory-vars.js';
import { parseXlConfig } from '../../tasks/xen/xl-config.js';
import { corpus } from '../helpers/corpora.js';
import { FIXTURE_TOKEN } from '../helpers/fixture-token.js';

const DIR = corpus('libvirt-xlconfigdata');
const FIX = resolve(import.meta.dirname, '../fixtures/xen-import');
const TOKEN = FIXTURE_TOKEN;
const FIXTURE_DIR = '/tmp/ferry-xen-fixture';

const cfg = (name: string): XenSource => ({ path: join(DIR, name), text: readFileSync(join(DIR, name), 'utf8'), origin: 'xl' });
const BROKEN = 'name = "broken"\nmemory = 512\nvif = [ "mac=00:16:3e:00:00:01 ]\n';

describe('xen_import: inventory fragment', () => {
  it('corpus PV guests: each guest is a host of xen_guests with the vars guestToInventoryVars gives, plus ferry_hypervisor', () => {
    const files = ['test-paravirt-maxvcpus.cfg', 'test-paravirt-cmdline.cfg'];
    const d = buildXenImport(files.map(cfg), { hypervisor: 'dom0-a' });
    assert.deepEqual(d.problems, []);
    assert.deepEqual(Object.keys(d.inventory.xen_guests.hosts), ['XenGuest1', 'XenGuest2']);
    for (const f of files) {
      const g = parseXlConfig(readFileSync(join(DIR, f), 'utf8'), join(DIR, f));
      assert.deepEqual(d.inventory.xen_guests.hosts[g.name ?? ''], { ...guestToInventoryVars(g), xen_origin: 'xl', ferry_hypervisor: 'dom0-a' });
    }
    // The values a migration uses, as written in the corpus files.
    const g2 = d.inventory.xen_guests.hosts.XenGuest2;
    assert.equal(g2.xen_config, join(DIR, 'test-paravirt-cmdline.cfg'));
    assert.equal(g2.memory_mb, 394);
    assert.equal(g2.vcpus, 1);
    assert.equal(g2.mac, '00:16:3e:66:92:9c');
    assert.equal(g2.bridge, 'xenbr1');
    assert.equal(g2.uuid, 'c7a5fdb2-cdaf-9455-926a-d65c16db1809');
    assert.equal(g2.vg, 'HostVG');
    assert.equal(g2.lv, 'XenGuest2');
    const g1 = d.inventory.xen_guests.hosts.XenGuest1;
    assert.equal(g1.mac, '5a:36:0e:be:00:09');
    assert.equal(g1.bridge, undefined);
    assert.equal(g1.vg, undefined, 'a qcow2 file is no LV');
    assert.equal(g1.vcpus, 4);
    assert.equal(g1.memory_mb, 512);
    assert.deepEqual(d.guests.map((g) => g.name), ['XenGuest1', 'XenGuest2']);
    assert.equal(xenImportReason(d), 'read 2 guests from 2 files');
  });

  it('the fragment, printed as YAML, loads as a ferry inventory with the same host vars', () => {
    const d = buildXenImport(['test-paravirt-maxvcpus.cfg', 'test-paravirt-cmdline.cfg'].map(cfg), { hypervisor: 'dom0-a' });
    const dir = mkdtempSync(join(tmpdir(), 'ferry-xen-inv-'));
    try {
      const path = join(dir, 'guests.yml');
      writeFileSync(path, formatXenFragment(d, false, 'dom0-a'));
      const inv = loadInventory(path);
      assert.deepEqual(inv.hostNames().sort(), ['XenGuest1', 'XenGuest2']);
      const hv = inv.hostVars('XenGuest2');
      assert.equal(hv.ferry_hypervisor, 'dom0-a');
      assert.equal(hv.mac, '00:16:3e:66:92:9c');
      assert.deepEqual(hv.disks, d.inventory.xen_guests.hosts.XenGuest2.disks);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('all 48 corpus cfgs: two names only, so the first of each is imported and every later one is a problem naming both files', () => {
    const names = readdirSync(DIR).filter((f) => f.endsWith('.cfg')).sort();
    const d = buildXenImport(names.map(cfg));
    assert.equal(d.files.length, 48);
    assert.deepEqual(d.guests.map((g) => [g.name, g.xen_config]), [
      ['XenGuest1', join(DIR, 'test-channel-pty.cfg')],
      ['XenGuest2', join(DIR, 'test-disk-positional-parms-full.cfg')],
    ]);
    assert.equal(d.problems.length, 46);
    for (const p of d.problems) {
      assert.match(p.message, /^guest name 'XenGuest[12]' is also defined in .*test-(channel-pty|disk-positional-parms-full)\.cfg:1; this one is left out$/);
      // The location is the later file's `name =` line: line 2 in this one file, line 1 in the others.
      const expected = p.loc?.file.endsWith('test-paravirt-cmdline-bogus-extra-root.cfg') ? 2 : 1;
      assert.equal(p.loc?.line, expected, p.loc?.file);
    }
    assert.equal(d.problems.filter((p) => p.loc?.line === 2).length, 1);
  });

  it('a file that does not parse is reported with file:line; the others are still imported', () => {
    const sources = [cfg('test-paravirt-maxvcpus.cfg'), { path: '/etc/xen/broken.cfg', text: BROKEN, origin: 'xl' as const }, cfg('test-paravirt-cmdline.cfg')];
    const d = buildXenImport(sources);
    assert.deepEqual(d.guests.map((g) => g.name), ['XenGuest1', 'XenGuest2']);
    assert.equal(d.problems.length, 1);
    assert.deepEqual(d.problems[0].loc, { file: '/etc/xen/broken.cfg', line: 3, col: 9 });
    assert.match(d.problems[0].message, /unterminated string/);
    assert.match(xenImportReason(d), /^read 2 guests from 3 files; WARNING: 1 problem, first: \/etc\/xen\/broken\.cfg:3:9: unterminated string/);
  });

  it('include / exclude filter by guest name globs, and say what they left out', () => {
    const sources = ['test-paravirt-maxvcpus.cfg', 'test-paravirt-cmdline.cfg'].map(cfg);
    assert.deepEqual(buildXenImport(sources, { include: ['*2'] }).guests.map((g) => g.name), ['XenGuest2']);
    const ex = buildXenImport(sources, { exclude: ['XenGuest[2-9]'] });
    assert.deepEqual(ex.guests.map((g) => g.name), ['XenGuest1']);
    assert.deepEqual(ex.skipped, [{ name: 'XenGuest2', source: join(DIR, 'test-paravirt-cmdline.cfg'), why: 'left out by include/exclude' }]);
    assert.equal(xenImportReason(ex), 'read 1 guest from 2 files (1 skipped)');
  });

  it('a libvirt domain already read from an xl.cfg is skipped (not a problem); its xml alone gives libvirt_domain, no xen_config', () => {
    const xml = readFileSync(join(DIR, 'test-paravirt-cmdline.xml'), 'utf8');
    const both = buildXenImport([cfg('test-paravirt-cmdline.cfg'), { path: 'virsh dumpxml XenGuest2', text: xml, origin: 'libvirt', domain: 'XenGuest2' }]);
    assert.deepEqual(both.problems, []);
    assert.equal(both.guests.length, 1);
    assert.equal(both.guests[0].xen_origin, 'xl');
    assert.match(both.skipped[0].why, /already read from .*test-paravirt-cmdline\.cfg/);
    const alone = buildXenImport([{ path: 'virsh dumpxml XenGuest2', text: xml, origin: 'libvirt', domain: 'XenGuest2' }]);
    const v = alone.inventory.xen_guests.hosts.XenGuest2;
    assert.equal(v.xen_config, undefined);
    assert.equal(v.libvirt_domain, 'XenGuest2');
    assert.equal(v.mac, '00:16:3e:66:92:9c');
    assert.equal(v.memory_mb, 394);
  });

  it('merging two hypervisors: a guest name on both is a problem naming the host; files are prefixed with their host', () => {
    const a = buildXenImport([cfg('test-paravirt-cmdline.cfg')], { hypervisor: 'hv1' });
    const b = buildXenImport([cfg('test-paravirt-maxvcpus.cfg'), cfg('test-paravirt-cmdline.cfg')], { hypervisor: 'hv2' });
    const m = mergeXenImports([{ host: 'hv1', data: a }, { host: 'hv2', data: b }]);
    assert.deepEqual(Object.entries(m.inventory.xen_guests.hosts).map(([n, v]) => [n, v.ferry_hypervisor]), [['XenGuest2', 'hv1'], ['XenGuest1', 'hv2']]);
    assert.equal(m.problems.length, 1);
    assert.equal(m.problems[0].loc?.file, `hv2:${join(DIR, 'test-paravirt-cmdline.cfg')}`);
    assert.match(m.problems[0].message, /'XenGuest2' is also a guest of hv1/);
    assert.deepEqual(m.files, [`hv1:${join(DIR, 'test-paravirt-cmdline.cfg')}`, `hv2:${join(DIR, 'test-paravirt-maxvcpus.cfg')}`, `hv2:${join(DIR, 'test-paravirt-cmdline.cfg')}`]);
  });
});

describe('xen_import: the host-side reader (real output, test/fixtures/xen-import)', () => {
  const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');

  it('splits files, globs that matched nothing, a missing file, a folder and libvirt domains into records', () => {
    const recs = parseReaderOutput(fixture('reader-files-and-test-driver.out'), TOKEN);
    assert.deepEqual(
      recs.map((r) => [r.kind, r.name, r.exitCode]),
      [
        ['file', `${FIXTURE_DIR}/broken.cfg`, 0],
        ['file', `${FIXTURE_DIR}/guest1.cfg`, 0],
        ['file', `${FIXTURE_DIR}/my guest $(touch pwned).cfg`, 0],
        ['file', `${FIXTURE_DIR}/no-newline.cfg`, 0],
        ['missing', `${FIXTURE_DIR}/nomatch-*.cfg`, 0],
        ['missing', `${FIXTURE_DIR}/missing.cfg`, 0],
        ['dir', `${FIXTURE_DIR}/subdir`, 0],
        ['list', '-', 0],
        ['domain', 'test', 0],
      ],
    );
    // Bodies are the files byte for byte, with or without a final newline.
    assert.equal(recs[1].body, readFileSync(join(DIR, 'test-paravirt-maxvcpus.cfg'), 'utf8'));
    assert.equal(recs[2].body, readFileSync(join(DIR, 'test-paravirt-cmdline.cfg'), 'utf8'));
    assert.equal(recs[3].body, 'name = "nonl"\nmemory = 256');
    assert.equal(recs[7].body, 'test');
    assert.match(recs[8].body, /^<domain type='test' id='1'>\n {2}<name>test<\/name>/);
  });

  it('records -> guests and problems: an unmatched glob is silent; a named missing file, a folder and a bad cfg are problems', () => {
    const patterns = [`${FIXTURE_DIR}/*.cfg`, `${FIXTURE_DIR}/nomatch-*.cfg`, `${FIXTURE_DIR}/missing.cfg`, `${FIXTURE_DIR}/subdir`];
    const read = sourcesFromRecords(parseReaderOutput(fixture('reader-files-and-test-driver.out'), TOKEN), patterns, 'test:///default');
    assert.deepEqual(read.warnings, []);
    assert.deepEqual(read.problems.map((p) => [p.loc?.file, p.message]), [
      [`${FIXTURE_DIR}/missing.cfg`, 'no such file'],
      [`${FIXTURE_DIR}/subdir`, 'is a directory, not an xl.cfg'],
    ]);
    const d = buildXenImport(read.sources, { hypervisor: 'hv' }, read.problems);
    assert.deepEqual(d.guests.map((g) => [g.name, g.xen_origin, g.xen_config ?? g.libvirt_domain]), [
      ['XenGuest1', 'xl', `${FIXTURE_DIR}/guest1.cfg`],
      ['XenGuest2', 'xl', `${FIXTURE_DIR}/my guest $(touch pwned).cfg`],
      ['nonl', 'xl', `${FIXTURE_DIR}/no-newline.cfg`],
      ['test', 'libvirt', 'test'],
    ]);
    assert.deepEqual(d.problems.map((p) => `${p.loc?.file}:${p.loc?.line}`), [`${FIXTURE_DIR}/missing.cfg:1`, `${FIXTURE_DIR}/subdir:1`, `${FIXTURE_DIR}/broken.cfg:3`]);
    assert.equal(d.inventory.xen_guests.hosts.test.mac, 'aa:bb:cc:dd:ee:ff');
    assert.equal(d.inventory.xen_guests.hosts.test.memory_mb, 2048);
    assert.match(xenImportReason(d), /^read 4 guests from 4 files and 1 libvirt domain; WARNING: 3 problems, first: .*missing\.cfg:1: no such file$/);
  });

  it('virsh failing to connect, or missing, is a warning; the files are still read', () => {
    const fails = sourcesFromRecords(parseReaderOutput(fixture('reader-xen-uri-fails.out'), TOKEN), [`${FIXTURE_DIR}/guest1.cfg`], 'xen:///');
    assert.equal(fails.sources.length, 1);
    assert.deepEqual(fails.warnings, ['virsh -c xen:/// list failed (exit 1): error: failed to connect to the hypervisor\nerror: no connection driver available for xen:///']);
    const none = sourcesFromRecords(parseReaderOutput(fixture('reader-no-virsh.out'), TOKEN), [`${FIXTURE_DIR}/guest1.cfg`], 'xen:///');
    assert.equal(none.sources.length, 1);
    assert.deepEqual(none.warnings, ['libvirt: true but virsh is not installed: only xl.cfg files were read']);
  });

  it('output cut short or with a foreign line is an error, not a silent partial import', () => {
    const full = fixture('reader-no-virsh.out');
    assert.throws(() => parseReaderOutput(full.slice(0, 200), TOKEN), /ends inside the record of .*guest1\.cfg/);
    assert.throws(() => parseReaderOutput(`motd line\n${full}`, TOKEN), /the reader's framing broke: unexpected output at byte 0/);
    assert.deepEqual(parseReaderOutput('', TOKEN), []);
  });

  it('the command passes each path as one quoted word and the token/uri as parameters', () => {
    const c = xenReadCommand(['/etc/xen/*.cfg', "/x/it's $(rm -rf).cfg"], 'xen:///', TOKEN);
    assert.ok(c.text.startsWith("sh -c 'ferry_tok=$1;"));
    assert.ok(c.text.endsWith(` ferry-xen-import ${TOKEN} xen:/// '/etc/xen/*.cfg' '/x/it'\\''s $(rm -rf).cfg'`), c.text.slice(-120));
    assert.ok(xenReadCommand(['/a'], undefined, TOKEN).text.endsWith(` ferry-xen-import ${TOKEN} '' /a`));
  });

  it('params: defaults, a single path string, unknown keys refused', () => {
    const p = xenImportModule.params.parse({});
    assert.deepEqual(p, { paths: ['/etc/xen/*.cfg'], libvirt: false, libvirt_uri: 'xen:///', include: [], exclude: [] });
    assert.equal(xenImportModule.params.parse({ paths: '/srv/xen/*.cfg' }).paths, '/srv/xen/*.cfg');
    assert.equal(xenImportModule.params.safeParse({ path: '/x' }).success, false);
    assert.equal(xenImportModule.params.safeParse({ paths: [] }).success, false);
  });
});

describe('ferry xen-import FILE... (in process)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-xen-cli-'));
    writeFileSync(join(dir, 'broken.cfg'), BROKEN);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const sink = (add: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (add(c.toString()), cb()) });
    let code = -1;
    const program = new Cli('ferry').exitOverride();
    addXenImportCommand(program, (c) => (code = c), { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
    await program.parseAsync(['xen-import', ...args], { from: 'user' });
    return { code, stdout, stderr };
  }

  it('prints the YAML fragment; exit 0 when all parsed', async () => {
    const r = await cli([join(DIR, 'test-paravirt-cmdline.cfg'), '--hypervisor', 'dom0']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^# ferry xen-import: 1 guest from /);
    const inv = parseYamlText(r.stdout) as { xen_guests: { hosts: Record<string, Record<string, unknown>> } };
    const v = inv.xen_guests.hosts.XenGuest2;
    assert.equal(v.ferry_hypervisor, 'dom0');
    assert.equal(v.mac, '00:16:3e:66:92:9c');
    assert.equal(v.bridge, 'xenbr1');
    assert.equal(v.memory_mb, 394);
  });

  it('a bad file: the others still printed (--json), the problem with file:line on stderr, exit 4', async () => {
    const bad = join(dir, 'broken.cfg');
    const r = await cli(['--json', join(DIR, 'test-paravirt-maxvcpus.cfg'), bad, join(dir, 'nope.cfg')]);
    assert.equal(r.code, 4);
    const inv = JSON.parse(r.stdout) as { xen_guests: { hosts: Record<string, Record<string, unknown>> } };
    assert.deepEqual(Object.keys(inv.xen_guests.hosts), ['XenGuest1']);
    assert.equal(inv.xen_guests.hosts.XenGuest1.ferry_hypervisor, undefined);
    assert.match(r.stderr, /2 problems; the other guests were imported/);
    assert.ok(r.stderr.includes(`${bad}:3:9: unterminated string`), r.stderr);
    assert.ok(r.stderr.includes(`${join(dir, 'nope.cfg')}:1: cannot read: ENOENT`), r.stderr);
  });
});
