// virsh_define against the real libvirt of this machine (qemu:///system, TCG domains over blank
// raw images), driven through a real sshd on loopback as root.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { renderDomainXml, virshDefineModule } from '../../tasks/virsh-define.js';
import { ensureLibvirtd } from '../harness/libvirtd.js';
import { startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import { runModule } from '../helpers/run-module.js';

const URI = 'qemu:///system';
// Names carry the pid so that cleanup never touches another run's (or anybody's) domains.
const PREFIX = `ferry-test-${process.pid}-`;

function virsh(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout.trim(), err: r.stderr.trim() };
}

function domstate(name: string): string {
  const r = virsh('domstate', '--domain', name);
  return r.code === 0 ? r.out : 'undefined';
}

function removeOurDomains(): void {
  const names = virsh('list', '--all', '--name').out.split('\n').filter((n) => n.startsWith(PREFIX));
  for (const n of names) {
    virsh('destroy', '--domain', n);
    virsh('undefine', '--domain', n);
  }
}

describe('virsh_define @integration @slow', function () {
  this.timeout(120_000);
  let sshd: SshdHost | undefined;
  let transport: SshTransport;
  let dir: string;
  let disk: string;

  async function run(input: Record<string, unknown>, opts: { check?: boolean } = {}): Promise<{ plan: Plan; data: Record<string, unknown> }> {
    const { plan, data } = await runModule(virshDefineModule, input, { transport, check: opts.check });
    // what the plan found (the XML, its validation) stays beside what apply returned
    return { plan, data: { ...plan.data, ...data } };
  }

  const base = (suffix: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: PREFIX + suffix,
    memory_mb: 64,
    vcpus: 1,
    domain_type: 'qemu',
    disks: [{ source: disk }],
    interfaces: [{ mac: '52:54:00:fe:00:01', user: true }],
    uri: URI,
    ...extra,
  });

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.warn('      SKIPPED virsh_define integration: needs root (libvirtd, qemu:///system, the sshd harness)');
      this.skip();
    }
    const ready = await ensureLibvirtd(URI);
    if (!ready.ok) {
      console.warn(`      SKIPPED virsh_define integration: ${ready.reason}`);
      this.skip();
    }
    // /var/tmp rather than /tmp: cache='none' opens the image with O_DIRECT, which tmpfs refuses.
    dir = mkdtempSync('/var/tmp/ferry-virsh-');
    // qemu runs as libvirt-qemu: it must reach the image (libvirt chowns the image itself).
    chmodSync(dir, 0o755);
    disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(0));
    execFileSync('truncate', ['-s', '16M', disk]);
    sshd = await startSshd();
    transport = sshTransport(sshd);
  });

  after(async () => {
    removeOurDomains();
    await transport?.close();
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => removeOurDomains());

  it('renders XML that passes virt-xml-validate, and says so in the result', async () => {
    const file = join(dir, 'rendered.xml');
    writeFileSync(file, renderDomainXml(virshDefineModule.params.parse(base('valid', { console_log: join(dir, 'c.log'), vnc: true })), process.cwd()));
    execFileSync('virt-xml-validate', [file, 'domain'], { stdio: 'pipe' });
    const { plan } = await run(base('valid'), { check: true });
    assert.equal(plan.data?.validation, 'valid (virt-xml-validate)');
  });

  it('check mode reports the define and changes nothing', async () => {
    const { plan } = await run(base('check'), { check: true });
    assert.ok(plan.changed);
    assert.deepEqual(plan.steps.map((s) => s.title), [`virsh define ${PREFIX}check (not defined)`]);
    assert.equal(domstate(PREFIX + 'check'), 'undefined');
  });

  it('defines, then reports no change, then redefines a changed memory with a diff', async () => {
    const name = PREFIX + 'mem';
    const first = await run(base('mem'));
    assert.ok(first.plan.changed);
    assert.equal(first.data.domain_state, 'shut off');
    assert.match(String(first.data.xml), /<memory unit='MiB'>64<\/memory>/);
    assert.equal(domstate(name), 'shut off');

    const second = await run(base('mem'));
    assert.deepEqual([second.plan.changed, second.plan.changed ? '' : second.plan.reason], [false, `domain ${name} defined with the same settings`]);

    const check = await run(base('mem', { memory_mb: 128 }), { check: true });
    assert.ok(check.plan.changed);
    assert.match(check.plan.diff?.[0]?.before ?? '', /^memory: 65536 KiB$/m);
    assert.match(check.plan.diff?.[0]?.after ?? '', /^memory: 131072 KiB$/m);
    assert.match(virsh('dumpxml', '--inactive', name).out, /<memory unit='KiB'>65536<\/memory>/, 'check mode must not redefine');

    const third = await run(base('mem', { memory_mb: 128 }));
    assert.ok(third.plan.changed);
    assert.deepEqual(third.data.differences, [{ setting: 'memory', actual: '65536 KiB', wanted: '131072 KiB' }]);
    assert.match(virsh('dumpxml', '--inactive', name).out, /<memory unit='KiB'>131072<\/memory>/);
    assert.equal((await run(base('mem', { memory_mb: 128 }))).plan.changed, false);
  });

  it('starts (the console log appears), is idempotent, then shutdown fails on a guest that ignores ACPI, and force destroys', async () => {
    const name = PREFIX + 'run';
    const log = join(dir, 'run-console.log');
    const started = await run(base('run', { state: 'started', console_log: log }));
    assert.ok(started.plan.changed);
    assert.deepEqual(started.plan.steps.map((s) => s.title), [`virsh define ${name} (not defined)`, `virsh start ${name}`]);
    assert.equal(started.data.domain_state, 'running');
    assert.equal(domstate(name), 'running');
    // virtlogd owns the file: it exists from the start, so a boot check can watch it for "login:"
    assert.ok(existsSync(log), 'console log file created');

    const again = await run(base('run', { state: 'started', console_log: log }));
    assert.equal(again.plan.changed, false);
    assert.equal(again.plan.changed ? '' : again.plan.reason, `domain ${name} defined with the same settings, already running`);

    // SeaBIOS with a blank disk has no OS to act on the ACPI power button.
    await assert.rejects(run({ name, state: 'shutdown', shutdown_timeout: 2, uri: URI }), (e: unknown) => {
      assert.ok(e instanceof TaskFailedError);
      assert.match(e.message, /still running 2s after virsh shutdown/);
      return true;
    });
    assert.equal(domstate(name), 'running');

    const forced = await run({ name, state: 'shutdown', shutdown_timeout: 1, force: true, uri: URI });
    assert.equal(forced.data.forced, true);
    assert.equal(forced.data.domain_state, 'shut off');
    assert.equal((await run({ name, state: 'shutdown', uri: URI })).plan.changed, false);
  });

  it('destroyed stops a running domain and is then a no-op', async () => {
    const name = PREFIX + 'destroy';
    await run(base('destroy', { state: 'started' }));
    const d = await run({ name, state: 'destroyed', uri: URI });
    assert.ok(d.plan.changed);
    assert.equal(d.data.domain_state, 'shut off');
    const again = await run({ name, state: 'destroyed', uri: URI });
    assert.deepEqual([again.plan.changed, again.plan.changed ? '' : again.plan.reason], [false, `domain ${name} is already shut off`]);
  });

  it('autostart marks the domain once', async () => {
    const name = PREFIX + 'auto';
    const a = await run(base('auto', { state: 'autostart' }));
    assert.deepEqual(a.plan.changed && a.plan.steps.map((s) => s.title), [`virsh define ${name} (not defined)`, `virsh autostart ${name}`]);
    assert.match(virsh('dominfo', '--domain', name).out, /Autostart:\s+enable/);
    assert.equal((await run(base('auto', { state: 'autostart' }))).plan.changed, false);
  });

  it('undefined refuses without force, then removes the domain (running: destroyed first) and keeps the disk', async () => {
    const name = PREFIX + 'gone';
    await run(base('gone', { state: 'started' }));
    await assert.rejects(run({ name, state: 'undefined', uri: URI }), /undefining it needs force: true/);
    assert.equal(domstate(name), 'running');
    const u = await run({ name, state: 'undefined', force: true, uri: URI });
    assert.ok(u.plan.changed);
    assert.deepEqual(u.plan.steps.map((s) => s.title), [`virsh destroy ${name}`, `virsh undefine ${name} (disks are kept)`]);
    assert.equal(u.data.domain_state, 'undefined');
    assert.equal(domstate(name), 'undefined');
    assert.ok(existsSync(disk), 'the disk image is kept');
    assert.equal((await run({ name, state: 'undefined', force: true, uri: URI })).plan.changed, false);
  });

  it("several NICs in order, one on an Open vSwitch trunk: libvirt keeps them as written, then no change; a VLAN changed is seen", async () => {
    const nics = [
      { mac: '00:16:3e:00:00:02', bridge: 'br-back' },
      { mac: '00:16:3e:00:00:01', bridge: 'ovsbr0', virtualport: 'openvswitch', vlan: { tags: [42, 43], trunk: true } },
    ];
    const name = PREFIX + 'nics';
    assert.ok((await run(base('nics', { interfaces: nics }))).plan.changed);
    const xml = virsh('dumpxml', '--inactive', name).out;
    // libvirt's own dump: the MACs in the vifs' order, the trunk's tags and the port type
    assert.deepEqual([...xml.matchAll(/<mac address='([^']+)'/g)].map((m) => m[1]), ['00:16:3e:00:00:02', '00:16:3e:00:00:01']);
    assert.match(xml, /<vlan trunk='yes'>\s*<tag id='42'\/>\s*<tag id='43'\/>\s*<\/vlan>/);
    assert.match(xml, /<virtualport type='openvswitch'/);
    assert.equal((await run(base('nics', { interfaces: nics }))).plan.changed, false);
    const retagged = await run(base('nics', { interfaces: [nics[0], { ...nics[1], vlan: { tags: [7] } }] }), { check: true });
    assert.ok(retagged.plan.changed);
    assert.match(retagged.plan.diff?.[0]?.after ?? '', /^interface 2 vlan: 7$/m);
  });

  it('refuses to redefine a domain under another UUID', async () => {
    await run(base('uuid', { uuid: 'c7a5fdb2-cdaf-9455-926a-d65c16db1809' }));
    await assert.rejects(run(base('uuid', { uuid: 'c7a5fdb2-cdaf-9455-926a-d65c16db1800' })), /exists with UUID c7a5fdb2-cdaf-9455-926a-d65c16db1809, not c7a5fdb2-cdaf-9455-926a-d65c16db1800/);
  });

  it('defines a domain whose name, disk path and console log hold XML and shell specials, idempotently', async () => {
    const name = `${PREFIX}<&'"$(touch x)`;
    const hostileDisk = join(dir, `d<&'"$(touch x).img`);
    execFileSync('truncate', ['-s', '1M', hostileDisk]);
    const input = base('', { name, disks: [{ source: hostileDisk }], console_log: join(dir, `log<&'">`) });
    const first = await run(input);
    assert.ok(first.plan.changed);
    assert.equal(domstate(name), 'shut off');
    assert.ok(virsh('dumpxml', '--inactive', name).out.includes(`<source file='${dir}/d&lt;&amp;&apos;&quot;$(touch x).img'/>`));
    const second = await run(input);
    assert.equal(second.plan.changed, false);
    await run({ name, state: 'undefined', force: true, uri: URI });
    assert.equal(domstate(name), 'undefined');
    assert.ok(!existsSync(join(process.cwd(), 'x')) && !existsSync(join(dir, 'x')), 'nothing ran the $(touch x)');
  });

  it("reports libvirt's own schema errors from virt-xml-validate (a bridge name libvirt does not allow)", async () => {
    await assert.rejects(run(base('badbridge', { interfaces: [{ bridge: `br<&'">` }] })), /does not pass virt-xml-validate:[\s\S]*Relax-NG validity error/);
    assert.equal(domstate(PREFIX + 'badbridge'), 'undefined');
  });

  it('console_log receives the serial console: a boot sector that prints a login prompt, one copy per boot', async () => {
    const name = PREFIX + 'console';
    const log = join(dir, 'boot-console.log');
    const image = join(dir, 'boot.img');
    writeFileSync(image, bootSectorPrinting('ferry-test login: '));
    execFileSync('truncate', ['-s', '1M', image]);
    await run(base('console', { disks: [{ source: image }], console_log: log, state: 'started' }));
    assert.match(await waitForText(log, 'login:', 60_000), /^ferry-test login: $/);
    await run({ name, state: 'destroyed', uri: URI });
    await run(base('console', { disks: [{ source: image }], console_log: log, state: 'started' }));
    // append='off': the log holds this boot only, so a boot check never matches an old prompt
    assert.equal(await waitForText(log, 'login:', 60_000), 'ferry-test login: ');
  });
});

/** A 512-byte MBR that writes `text` to COM1 (port 0x3f8) and halts: a stand-in for a guest's getty. */
function bootSectorPrinting(text: string): Buffer {
  const code = [
    0xfa, // cli
    0x31, 0xc0, // xor ax, ax
    0x8e, 0xd8, // mov ds, ax
    0xbe, 0x16, 0x7c, // mov si, 0x7c16 (the text, right after this code)
    0xba, 0xf8, 0x03, // mov dx, 0x3f8
    0xac, // next: lodsb
    0x84, 0xc0, // test al, al
    0x74, 0x03, // jz done
    0xee, // out dx, al
    0xeb, 0xf8, // jmp next
    0xf4, // done: hlt
    0xeb, 0xfd, // jmp done
  ];
  const mbr = Buffer.alloc(512);
  Buffer.from(code).copy(mbr, 0);
  Buffer.from(text + '\0', 'latin1').copy(mbr, code.length);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** Polls a file until it contains `needle`; returns its content. */
async function waitForText(file: string, needle: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = existsSync(file) ? readFileSync(file, 'latin1') : '';
    if (text.includes(needle)) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${file} has no ${JSON.stringify(needle)} after ${timeoutMs}ms; it holds ${JSON.stringify(text)}`);
}
