// The lab itself: a real hypervisor host VM with LVM and the Xen guest's disk in an LV, reached with
// the OpenSSH client and strict host-key checking. Slow: the first run builds the images (minutes).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { bootCheck } from '../../lab/boot-check.js';
import { exportLv } from '../../lab/export-lv.js';
import { labDown, labReset, labUp, type LabInfo } from '../../lab/lab.js';
import { makeGrubControlImage } from './helpers/grub-control-image.js';
import { labPaths } from '../../lab/paths.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh', 'ssh-keygen'];

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0);
}

/** The OpenSSH client, strict about host keys, against the lab host. */
function ssh(info: LabInfo, knownHosts: string, command: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh', [
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', info.keyPath, '-p', String(info.sshPort), 'root@127.0.0.1', command,
  ], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sha256(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8', maxBuffer: 1 << 20 }).split(' ')[0];
}

describe('lab: hypervisor host VM with LVM and a Xen PV guest disk @e2e @slow', function () {
  this.timeout(25 * 60_000);
  let info: LabInfo;
  let startedHere = false;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-lab-test-'));

  before(async function () {
    const missing = missingTools();
    if (missing.length > 0) {
      console.warn(`\n  !!! SKIPPING the lab e2e suite: missing ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client)\n`);
      this.skip();
    }
    // A developer can leave the lab out of a quick full run; CI and `npm test` run it.
    if (process.env.FERRY_SKIP_E2E) {
      console.warn('\n  !!! SKIPPING the lab e2e suite: FERRY_SKIP_E2E is set (unset it to build/boot the lab VM: first build ~4 min)\n');
      this.skip();
    }
    info = await labUp();
    startedHere = info.bootedNow;
    // Start from the pristine lab: an earlier session may have left its VM converted.
    info = await labReset();
  });

  after(async function () {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Leave the lab as we found it: a VM we booted would otherwise keep a CPU busy under TCG.
    if (startedHere && !process.env.FERRY_LAB_KEEP) await labDown();
  });

  it('has vg0 and vg1, and the guest disk as LV vg1/xr1-disk (checked with strict host keys)', () => {
    const vgs = ssh(info, info.knownHostsPath, 'vgs --reportformat json -o vg_name,pv_count');
    assert.equal(vgs.status, 0, vgs.stderr);
    const vgNames = (JSON.parse(vgs.stdout) as { report: { vg: { vg_name: string }[] }[] }).report[0].vg.map((v) => v.vg_name);
    assert.deepEqual(vgNames.sort(), ['vg0', 'vg1']);
    const lvs = ssh(info, info.knownHostsPath, 'lvs --reportformat json --units m --nosuffix -o vg_name,lv_name,lv_size');
    assert.equal(lvs.status, 0, lvs.stderr);
    const lv = (JSON.parse(lvs.stdout) as { report: { lv: { vg_name: string; lv_name: string; lv_size: string }[] }[] }).report[0].lv;
    const guestLv = lv.find((l) => l.vg_name === 'vg1' && l.lv_name === 'xr1-disk');
    assert.ok(guestLv, `vg1/xr1-disk missing from ${lvs.stdout}`);
    assert.equal(Number(guestLv.lv_size), info.guest.sizeMb);
    // The LV holds the guest's unpartitioned filesystem, as a Xen host would (xvda1 = the whole LV).
    const blkid = ssh(info, info.knownHostsPath, 'blkid -o export /dev/vg1/xr1-disk');
    assert.match(blkid.stdout, /^TYPE=ext4$/m);
    assert.match(blkid.stdout, /^LABEL=xr1-root$/m);
  });

  it('ferry itself reaches the lab host with strict host keys: exec lvs, and LVM facts', () => {
    const cli = path.resolve(import.meta.dirname, '../../dist/app/cli.js');
    const exec = spawnSync(process.execPath, [cli, 'exec', '-i', info.inventoryPath, 'hypervisors', '-m', 'command', '-a', 'lvs --noheadings -o lv_name', '--json'], { encoding: 'utf8' });
    assert.equal(exec.status, 0, exec.stderr + exec.stdout);
    const result = exec.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; host?: string; status?: string }).find((e) => e.type === 'task_result');
    assert.equal(result?.host, 'lab-hv');
    assert.equal(result?.status, 'changed');
    const facts = spawnSync(process.execPath, [cli, 'facts', '-i', info.inventoryPath, 'lab-hv'], { encoding: 'utf8' });
    assert.equal(facts.status, 0, facts.stderr);
    const f = (JSON.parse(facts.stdout) as Record<string, { lvm: { status: string; vgs: { name: string }[]; lvs: { vg: string; name: string }[] }; tools: Record<string, boolean> }>)['lab-hv']!;
    assert.equal(f.lvm.status, 'ok');
    assert.deepEqual(f.lvm.vgs.map((v) => v.name).sort(), ['vg0', 'vg1']);
    assert.ok(f.lvm.lvs.some((l) => l.vg === 'vg1' && l.name === 'xr1-disk'), JSON.stringify(f.lvm.lvs));
    assert.equal(f.tools.kpartx, true);
  });

  it('holds /etc/xen/xr1.cfg describing the PV guest', () => {
    const cfg = ssh(info, info.knownHostsPath, 'cat /etc/xen/xr1.cfg');
    assert.equal(cfg.status, 0, cfg.stderr);
    assert.match(cfg.stdout, /^name = "xr1"$/m);
    assert.match(cfg.stdout, /^bootloader = "pygrub"$/m);
    assert.match(cfg.stdout, /^disk = \['phy:\/dev\/vg1\/xr1-disk,xvda1,w'\]$/m);
    assert.match(cfg.stdout, /^vif = \['mac=00:16:3e:[0-9a-f:]{8},bridge=br0'\]$/m);
  });

  it('writes an inventory that points at this VM', () => {
    const inv = YAML.parse(fs.readFileSync(info.inventoryPath, 'utf8')) as {
      all: { children: Record<string, { hosts: Record<string, Record<string, unknown>> }> };
    };
    const hv = inv.all.children.hypervisors.hosts['lab-hv'];
    assert.equal(hv.ansible_port, info.sshPort);
    assert.equal(hv.ansible_ssh_private_key_file, info.keyPath);
    assert.equal(hv.ferry_known_hosts_file, info.knownHostsPath);
    const guest = inv.all.children.xen_guests.hosts.xr1;
    assert.equal(guest.ferry_connection, 'none');
    assert.equal(guest.vg, 'vg1');
    assert.equal(guest.lv, 'xr1-disk');
  });

  it('refuses a host whose key does not match known_hosts', () => {
    const otherKey = path.join(tmp, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const [type, key] = fs.readFileSync(`${otherKey}.pub`, 'utf8').split(/\s+/);
    const wrong = path.join(tmp, 'known_hosts.wrong');
    fs.writeFileSync(wrong, `[127.0.0.1]:${info.sshPort} ${type} ${key}\n`);
    const r = ssh(info, wrong, 'true');
    assert.equal(r.status, 255);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    // And the right known_hosts is accepted with the very same options.
    assert.equal(ssh(info, info.knownHostsPath, 'true').status, 0);
  });

  it('exports the guest LV byte for byte, and the unconverted Xen disk does not boot under KVM', async () => {
    const image = path.join(tmp, 'xr1.img');
    const t0 = Date.now();
    await exportLv('vg1', 'xr1-disk', image, info);
    console.log(`      exportLv: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(fs.statSync(image).size, info.guest.sizeMb * 1024 * 1024);
    // The LV was filled from the pristine guest image at build time and nothing has mounted it since.
    assert.equal(sha256(image), sha256(labPaths(info.hash).guestImage));
    const r = await bootCheck(image, { timeoutMs: 3 * 60_000 });
    assert.equal(r.noBootableDevice, true, `firmware log:\n${r.firmwareLog}`);
    assert.equal(r.sawGrub, false);
    assert.equal(r.sawLogin, false);
    assert.equal(r.stoppedBy, 'no-bootable-device');
    assert.match(r.firmwareLog, /Booting from Hard Disk/);
  });

  it('exports an LV made of two segments in LV order (compared with its content read inside the VM)', async () => {
    const run = (cmd: string): string => {
      const r = ssh(info, info.knownHostsPath, cmd);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    // An LV extended after another LV took the next extents: its second segment lies after the gap.
    run('lvcreate -q -y -L 8m -n exp-split vg0 && lvcreate -q -y -L 4m -n exp-gap vg0 && lvextend -q -L 16m vg0/exp-split' +
      ' && head -c 16777216 /dev/urandom > /dev/vg0/exp-split && sync');
    try {
      assert.equal(run('lvs --noheadings --segments -o seg_pe_ranges vg0/exp-split').trim().split('\n').length, 2);
      const inVm = run('sha256sum < /dev/vg0/exp-split').split(' ')[0];
      const image = path.join(tmp, 'exp-split.img');
      await exportLv('vg0', 'exp-split', image, info);
      assert.equal(fs.statSync(image).size, 16 * 1024 * 1024);
      assert.equal(sha256(image), inVm);
    } finally {
      run('lvremove -q -y vg0/exp-split vg0/exp-gap');
    }
  });

  it('bootCheck sees GRUB on a disk that has it (positive control made in the lab host)', async () => {
    const image = path.join(tmp, 'grub-control.img');
    await makeGrubControlImage(info, image);
    const r = await bootCheck(image, { timeoutMs: 3 * 60_000 });
    assert.equal(r.sawGrub, true, `serial log:\n${r.log}\nfirmware log:\n${r.firmwareLog}`);
    assert.match(r.log, /control: GRUB ran/);
    assert.equal(r.noBootableDevice, false);
    assert.equal(r.sawLogin, false);
    // The control entry halts the machine: qemu exits instead of running into the timeout.
    assert.equal(r.stoppedBy, 'qemu-exited');
  });

  it('labReset throws away every change and comes back with the pristine lab', async () => {
    const dirty = ssh(info, info.knownHostsPath, 'lvcreate -q -y -L 8m -n reset-me vg0 && touch /root/reset-me');
    assert.equal(dirty.status, 0, dirty.stderr);
    const t0 = Date.now();
    info = await labReset();
    console.log(`      labReset: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const r = ssh(info, info.knownHostsPath, 'lvs --noheadings -o vg_name,lv_name; ls /root; date -u +%s');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim());
    assert.deepEqual(lines.slice(0, -1), ['vg1 xr1-disk']);
    // The clock is right even when the VM came back from a saved state.
    assert.ok(Math.abs(Number(lines.at(-1)) - Date.now() / 1000) < 120, `guest clock: ${lines.at(-1)}`);
  });
});
