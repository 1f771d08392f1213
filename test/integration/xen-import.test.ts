// xen_import through a REAL sshd (test/harness/sshd.ts): the module reads copies of corpus xl.cfg
// files (one with a glob-hostile name, one broken) in one round trip, and `ferry xen-import -i INV
// HOST` prints the inventory fragment with the right exit code.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYamlText, stringify } from 'yaml';
import { createTaskContext } from '../../runner/task-context.js';
import { xenImportModule } from '../../tasks/xen-import.js';
import { type XenImportData } from '../../tasks/xen/import-data.js';
import { guestToInventoryVars } from '../../tasks/xen/inventory-vars.js';
import { parseXlConfig } from '../../tasks/xen/xl-config.js';
import { corpus } from '../helpers/corpora.js';
import { startSshd, writeInventory, NOPASSWD_USER, sshTransport, type SshdHost } from '../harness/sshd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'app/cli.ts');
// An absolute loader URL, so the CLI runs from source whatever the working directory.
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const CORPUS = corpus('libvirt-xlconfigdata');
// A name a shell would run were it ever re-parsed: spaces, $( ), quotes.
const HOSTILE = "my guest $(touch pwned) it's.cfg";

type Fragment = { xen_guests: { hosts: Record<string, Record<string, unknown>> } };

function ferry(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('xen_import @integration', function () {
  this.timeout(60_000);
  let sshd: SshdHost;
  let dir: string; // the "hypervisor's" /etc/xen: sshd runs on this machine
  let work: string; // inventory and cwd of the CLI
  let inventory: string;
  let closedPort: number;
  const cfgs: Record<string, string> = {}; // remote path -> corpus file

  before(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'ferry-xen-etc-'));
    chmodSync(dir, 0o755);
    work = mkdtempSync(join(tmpdir(), 'ferry-xen-work-'));
    cfgs[join(dir, 'guest1.cfg')] = 'test-paravirt-maxvcpus.cfg';
    cfgs[join(dir, HOSTILE)] = 'test-paravirt-cmdline.cfg';
    for (const [to, from] of Object.entries(cfgs)) {
      copyFileSync(join(CORPUS, from), to);
      chmodSync(to, 0o644);
    }
    writeFileSync(join(dir, 'zz-broken.cfg'), 'name = "broken"\nmemory = 512\nvif = [ "mac=00:16:3e:00:00:01 ]\n', { mode: 0o644 });
    inventory = await writeInventory([sshd], work);
    // A port that was free a moment ago and is closed now: connecting is refused at once.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  after(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  /** What the parsed cfg says, as the fragment must carry it. */
  const expectedVars = (remote: string, hypervisor: string) => ({
    ...guestToInventoryVars(parseXlConfig(readFileSync(remote, 'utf8'), remote)),
    xen_origin: 'xl',
    ferry_hypervisor: hypervisor,
  });

  const noPwned = () => {
    for (const d of [dir, work, homedir(), join('/home', NOPASSWD_USER)]) assert.equal(existsSync(join(d, 'pwned')), false, `a name was run as a command (${d}/pwned)`);
  };

  it('the module over SSH: every cfg read in one command, the broken one a problem with file:line, a hostile name read as a name', async () => {
    const transport = sshTransport(sshd, NOPASSWD_USER);
    const commands: string[] = [];
    try {
      const ctx = createTaskContext({ host: sshd.name, transport, onCommand: (r) => commands.push(r.command) });
      const params = xenImportModule.params.parse({ paths: [`${dir}/*.cfg`, `${dir}/nomatch-*.cfg`], libvirt: true, libvirt_uri: 'test:///default' });
      const plan = await xenImportModule.plan(ctx, params);
      assert.equal(commands.length, 1, 'one round trip');
      assert.equal(plan.changed, false);
      const d = plan.data as unknown as XenImportData;
      assert.deepEqual(d.files, [join(dir, 'guest1.cfg'), join(dir, HOSTILE), join(dir, 'zz-broken.cfg')]);
      assert.deepEqual(d.inventory.xen_guests.hosts.XenGuest1, expectedVars(join(dir, 'guest1.cfg'), sshd.name));
      assert.deepEqual(d.inventory.xen_guests.hosts.XenGuest2, expectedVars(join(dir, HOSTILE), sshd.name));
      assert.equal(d.inventory.xen_guests.hosts.XenGuest2.xen_config, join(dir, HOSTILE));
      assert.equal(d.inventory.xen_guests.hosts.XenGuest2.mac, '00:16:3e:66:92:9c');
      assert.equal(d.inventory.xen_guests.hosts.XenGuest2.bridge, 'xenbr1');
      assert.equal(d.inventory.xen_guests.hosts.XenGuest2.memory_mb, 394);
      // libvirt's test driver, read through virsh on the host.
      assert.equal(d.inventory.xen_guests.hosts.test.libvirt_domain, 'test');
      assert.equal(d.inventory.xen_guests.hosts.test.mac, 'aa:bb:cc:dd:ee:ff');
      assert.deepEqual(d.guests.map((g) => g.name), ['XenGuest1', 'XenGuest2', 'test']);
      assert.deepEqual(d.problems.map((p) => [p.loc?.file, p.loc?.line]), [[join(dir, 'zz-broken.cfg'), 3]]);
      assert.match((plan as { reason: string }).reason, /^read 3 guests from 3 files and 1 libvirt domain; WARNING: 1 problem, first: .*zz-broken\.cfg:3:9: unterminated string/);
      noPwned();
    } finally {
      await transport.close();
    }
  });

  it('ferry xen-import -i INV HOST: YAML fragment of the good files, the bad one on stderr with file:line, exit 4', () => {
    const r = ferry(['xen-import', '-i', inventory, sshd.name, '--path', `${dir}/*.cfg`], work);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, new RegExp(`^# ferry xen-import: 2 guests from ${sshd.name}\\n`));
    const inv = parseYamlText(r.stdout) as Fragment;
    assert.deepEqual(Object.keys(inv.xen_guests.hosts), ['XenGuest1', 'XenGuest2']);
    assert.deepEqual(inv.xen_guests.hosts.XenGuest1, expectedVars(join(dir, 'guest1.cfg'), sshd.name));
    assert.deepEqual(inv.xen_guests.hosts.XenGuest2, expectedVars(join(dir, HOSTILE), sshd.name));
    assert.ok(r.stderr.includes(`${join(dir, 'zz-broken.cfg')}:3:9: unterminated string`), r.stderr);
    noPwned();
  });

  it('ferry xen-import -i INV HOST --json: JSON, exit 0 when every file parses; --exclude filters', () => {
    const r = ferry(['xen-import', '-i', inventory, sshd.name, '--json', '--path', join(dir, 'guest1.cfg'), '--path', join(dir, HOSTILE), '--exclude', 'XenGuest1'], work);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const inv = JSON.parse(r.stdout) as Fragment;
    assert.deepEqual(inv, { xen_guests: { hosts: { XenGuest2: expectedVars(join(dir, HOSTILE), sshd.name) } } });
  });

  it('an unreachable hypervisor: exit 3, the reachable one still printed', () => {
    const both = join(work, 'two.yml');
    const base = parseYamlText(readFileSync(inventory, 'utf8')) as { all: { hosts: Record<string, unknown> } };
    base.all.hosts.down = { ansible_host: '127.0.0.1', ansible_port: closedPort, ansible_user: NOPASSWD_USER, ansible_ssh_private_key_file: sshd.userKeyFile, ferry_known_hosts_file: sshd.knownHostsFile };
    writeFileSync(both, stringify(base));
    const r = ferry(['xen-import', '-i', both, 'all', '--path', join(dir, 'guest1.cfg')], work);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ferry: down: unreachable: /);
    assert.deepEqual(Object.keys((parseYamlText(r.stdout) as Fragment).xen_guests.hosts), ['XenGuest1']);
  });

  it('bad command line input: a module parameter or a host pattern that matches nothing is bad input before any host is contacted', () => {
    const r = ferry(['xen-import', '-i', inventory, 'nosuchhost'], work);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /'nosuchhost' matches no host/);
    assert.equal(r.stdout, '');
    const p = ferry(['xen-import', '-i', inventory, sshd.name, '--include', ''], work);
    assert.equal(p.code, 4, p.stderr);
    assert.match(p.stderr, /<command line>:1: module 'xen_import', parameter 'include\.0'/);
    assert.equal(p.stdout, '');
  });
});
