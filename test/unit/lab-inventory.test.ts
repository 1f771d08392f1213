import assert from 'node:assert/strict';
import { labInventory } from '../../lab/inventory.js';

type Inventory = { all: { children: Record<string, { hosts: Record<string, Record<string, unknown>> }> } };

const hv = { sshPort: 40022, keyPath: '/cache/lab/h/id_ed25519', knownHostsPath: '/cache/lab/h/run/known_hosts' };
const kvm = { sshPort: 40023, keyPath: '/cache/lab/h/id_ed25519', knownHostsPath: '/cache/lab/h/run-kvm/known_hosts' };

const hvVars = {
  ansible_host: '127.0.0.1',
  ansible_port: 40022,
  ansible_user: 'root',
  ansible_ssh_private_key_file: '/cache/lab/h/id_ed25519',
  ferry_known_hosts_file: '/cache/lab/h/run/known_hosts',
};

describe('lab inventory (lab/inventory.ts)', () => {
  it('lab-hv alone: hypervisors holds lab-hv; xr1 is a disk on it, never connected to', () => {
    const inv = labInventory({ hv }) as Inventory;
    assert.deepEqual(Object.keys(inv.all.children), ['hypervisors', 'xen_guests']);
    assert.deepEqual(inv.all.children.hypervisors.hosts, { 'lab-hv': hvVars });
    const xr1 = inv.all.children.xen_guests.hosts.xr1;
    assert.equal(xr1.ferry_connection, 'none');
    assert.equal(xr1.ferry_hypervisor, 'lab-hv');
    assert.equal(xr1.vg, 'vg1');
    assert.equal(xr1.lv, 'xr1-disk');
  });

  it('with lab-kvm running: hypervisors also holds lab-kvm with its own port and known_hosts; the rest is unchanged', () => {
    const both = labInventory({ hv, kvm }) as Inventory;
    assert.deepEqual(both.all.children.hypervisors.hosts, {
      'lab-hv': hvVars,
      'lab-kvm': { ...hvVars, ansible_port: 40023, ferry_known_hosts_file: '/cache/lab/h/run-kvm/known_hosts' },
    });
    assert.deepEqual(both.all.children.xen_guests, (labInventory({ hv }) as Inventory).all.children.xen_guests);
  });

  it('lab-kvm alone (lab-hv down): only lab-kvm is a host to connect to', () => {
    const inv = labInventory({ kvm }) as Inventory;
    assert.deepEqual(Object.keys(inv.all.children.hypervisors.hosts), ['lab-kvm']);
  });
});
