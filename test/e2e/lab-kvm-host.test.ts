// The lab's second VM, lab-kvm: an empty KVM host (vg0 and vg1, no LVs) beside lab-hv, both reached
// by ferry's own SSH transport through the inventory the lab writes. They share images, hostname and
// host key, so /etc/ferry-lab-host tells them apart; neither holds a key to the other.
import assert from 'node:assert/strict';
import { sh, type Command } from '../../runner/command.js';
import { transportForHost } from '../../runner/connections.js';
import { loadInventory } from '../../runner/inventory/index.js';
import type { Transport } from '../../runner/transport/types.js';
import { labDown, labKvmHostDown, labKvmHostUp, labReset, labStatus, labUp, type LabInfo, type LabKvmHostInfo } from '../../lab/lab.js';
import { missingTools } from './helpers/guest-e2e.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh', 'ssh-keygen'];

/** What the fleet test will look at on each host: the marker, the LVs, the VGs' free space. */
const SURVEY = sh`cat /etc/ferry-lab-host 2>/dev/null; echo ---; lvs --noheadings -o vg_name,lv_name; echo ---; vgs --noheadings --units m --nosuffix -o vg_name,vg_size,vg_free`;

interface Survey {
  marker: string;
  lvs: string[];
  vgs: { name: string; sizeMb: number; freeMb: number }[];
}

function parseSurvey(out: string): Survey {
  const [marker, lvs, vgs] = out.split(/^---$/m).map((part) => part.split('\n').map((l) => l.trim()).filter(Boolean));
  return {
    marker: marker.join('\n'),
    lvs: lvs.map((l) => l.split(/\s+/).join('/')),
    vgs: vgs.map((l) => {
      const [name, size, free] = l.split(/\s+/);
      return { name, sizeMb: Number(size), freeMb: Number(free) };
    }),
  };
}

describe('lab: a second, empty KVM host (lab-kvm) beside lab-hv @e2e @slow', function () {
  this.timeout(25 * 60_000);
  let hv: LabInfo;
  let kvm: LabKvmHostInfo;
  let hvWasRunning = false;
  const transports = new Map<string, Transport>();

  /** Runs `cmd` on `host` with ferry's SSH transport, configured from the lab inventory alone. */
  async function onHost(host: 'lab-hv' | 'lab-kvm', cmd: Command) {
    let t = transports.get(host);
    if (!t) {
      t = transportForHost(host, loadInventory(kvm.inventoryPath).varsOf(host), { sshConfigFile: false });
      transports.set(host, t);
    }
    return t.run(cmd);
  }

  before(async function () {
    const missing = missingTools(REQUIRED_TOOLS);
    if (missing.length > 0) {
      console.warn(`\n  !!! SKIPPING the lab-kvm e2e suite: missing ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client)\n`);
      this.skip();
    }
    if (process.env.FERRY_SKIP_E2E) {
      console.warn('\n  !!! SKIPPING the lab-kvm e2e suite: FERRY_SKIP_E2E is set (unset it to boot lab-hv and lab-kvm)\n');
      this.skip();
    }
    hvWasRunning = Boolean(labStatus());
    await labUp();
    // The lab is shared: start lab-hv from the pristine state whatever an earlier run left.
    hv = await labReset();
    const t0 = Date.now();
    kvm = await labKvmHostUp();
    console.log(`      lab-kvm up in ${((Date.now() - t0) / 1000).toFixed(1)} s (booted now: ${kvm.bootedNow})`);
  });

  after(async function () {
    for (const t of transports.values()) await t.close().catch(() => undefined);
    if (process.env.FERRY_LAB_KEEP || !hv) return;
    // Two TCG VMs keep both cores busy: stop what this suite started, leave a lab-hv someone else runs.
    if (hvWasRunning) await labKvmHostDown();
    else await labDown();
  });

  it('the inventory holds both hosts in hypervisors, each on its own port and known_hosts', () => {
    const inv = loadInventory(kvm.inventoryPath);
    const hvVars = inv.varsOf('lab-hv');
    const kvmVars = inv.varsOf('lab-kvm');
    assert.equal(hvVars.ansible_port, hv.sshPort);
    assert.equal(kvmVars.ansible_port, kvm.sshPort);
    assert.notEqual(kvm.sshPort, hv.sshPort);
    assert.equal(kvmVars.ferry_known_hosts_file, kvm.knownHostsPath);
    assert.notEqual(kvm.knownHostsPath, hv.knownHostsPath);
  });

  it('lab-hv keeps the guest LV vg1/xr1-disk and has no marker', async () => {
    const r = await onHost('lab-hv', SURVEY);
    assert.equal(r.exitCode, 0, r.stderr);
    const s = parseSurvey(r.stdout);
    assert.equal(s.marker, '');
    assert.ok(s.lvs.includes('vg1/xr1-disk'), r.stdout);
  });

  it('lab-kvm is marked lab-kvm and is empty: vg0 and vg1 with all their space free, no LVs', async () => {
    const r = await onHost('lab-kvm', SURVEY);
    assert.equal(r.exitCode, 0, r.stderr);
    const s = parseSurvey(r.stdout);
    assert.equal(s.marker, 'lab-kvm');
    assert.deepEqual(s.lvs, []);
    assert.deepEqual(s.vgs.map((v) => v.name).sort(), ['vg0', 'vg1']);
    for (const v of s.vgs) assert.equal(v.freeMb, v.sizeMb, `${v.name} is not all free: ${r.stdout}`);
    // The guest's Xen config went with its disk: an empty host describes no guest.
    assert.equal((await onHost('lab-kvm', sh`test -e /etc/xen/xr1.cfg`)).exitCode, 1);
  });

  it("lab-kvm cannot log in to lab-hv's sshd: it holds no private key, and lab-hv refuses it", async () => {
    const keys = await onHost('lab-kvm', sh`ls /root/.ssh/id_* 2>/dev/null`);
    assert.notEqual(keys.exitCode, 0, `lab-kvm holds keys: ${keys.stdout}`);
    // From inside qemu's user network 10.0.2.2 is the controller, where lab-hv's forwarded port listens:
    // the port is reachable, so only the missing key keeps lab-kvm out (copies must go through the controller).
    const port = String(hv.sshPort);
    const r = await onHost('lab-kvm', sh`ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -p ${port} root@10.0.2.2 true`);
    assert.equal(r.exitCode, 255, r.stdout + r.stderr);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });
});
