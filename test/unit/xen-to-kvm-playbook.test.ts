// The shipped conversion playbook, loaded and checked as `ferry run` does before any host is
// contacted, for guests as `ferry xen-import` describes them: the KVM domain's NICs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../runner/errors.js';
import { loadPlaybook } from '../../runner/playbook/load.js';
import { preflight } from '../../runner/playbook/preflight.js';
import type { Node, TaskNode } from '../../runner/playbook/model.js';
import { renderString } from '../../runner/template.js';
import { builtinModules } from '../../tasks/index.js';
import { virshDefineModule } from '../../tasks/virsh-define.js';
import { guestToInventoryVars } from '../../tasks/xen/inventory-vars.js';
import { parseXlConfig } from '../../tasks/xen/xl-config.js';
import { corpus } from '../helpers/corpora.js';

const PLAYBOOK = 'playbooks/xen-to-kvm.yaml';

function tasks(nodes: Node[]): TaskNode[] {
  return nodes.flatMap((n) => (n.kind === 'task' ? [n] : n.kind === 'block' ? tasks([...n.block, ...n.rescue, ...n.always]) : []));
}

describe('playbooks/xen-to-kvm.yaml: the KVM NICs', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  const define = tasks(play.tasks).find((t) => t.module === 'virsh_define')!;
  const base = { ferry_hypervisor: 'hv1', ferry_connection: 'none', vg: 'vg1', lv: 'web1-disk', memory_mb: 512, vcpus: 1 };
  const file = `${corpus('libvirt-xlconfigdata')}/test-fullvirt-ovswitch-trunked.cfg`;
  const imported = guestToInventoryVars(parseXlConfig(readFileSync(file, 'utf8'), file));
  const hosts: Record<string, Record<string, unknown>> = {
    // as xen-import writes it: kvm_interfaces, and mac/bridge of the first vif
    web1: { ...base, kvm_interfaces: [{ mac: '00:16:3e:00:00:02', bridge: 'br-back' }, ...imported.kvm_interfaces] },
    // an inventory written by hand before kvm_interfaces: one NIC from mac and bridge
    web2: { ...base, mac: '00:16:3e:00:00:09', bridge: 'xenbr0' },
  };

  const problems = (inventory: Record<string, Record<string, unknown>>): string[] => {
    try {
      preflight(pb, () => Object.keys(inventory), (h) => inventory[h]!, {}, { has: (n) => n in inventory || n === 'hv1', names: ['hv1', ...Object.keys(inventory)], hostParams: () => [] });
    } catch (e) {
      if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.line}: ${p.message}`);
      throw e;
    }
    return [];
  };

  it('passes the checks made before any host is contacted, with either inventory form', () => {
    assert.deepEqual(problems(hosts), []);
  });

  it('a guest with neither kvm_interfaces nor mac and bridge is refused before any host is contacted', () => {
    const line = readFileSync(PLAYBOOK, 'utf8').split('\n').findIndex((l) => /^\s+interfaces: "\{\{ kvm_interfaces/.test(l)) + 1;
    assert.ok(line > 0);
    assert.deepEqual(problems({ ...hosts, web3: base }), [`${line}: undefined variable 'mac' for host web3`, `${line}: undefined variable 'bridge' for host web3`]);
  });

  it('defines every vif as a NIC in order, VLANs included; one NIC from mac and bridge otherwise', () => {
    const nics = (h: string) => {
      const vars = { ...play.vars, ...hosts[h], inventory_hostname: h };
      const rendered = renderString(define.args.interfaces as string, vars);
      return virshDefineModule.params.parse({ name: h, memory_mb: 512, interfaces: rendered }).interfaces;
    };
    assert.deepEqual(nics('web1'), [
      { mac: '00:16:3e:00:00:02', bridge: 'br-back', model: 'virtio' },
      { mac: '00:16:3e:66:92:9c', bridge: 'ovsbr0', model: 'virtio', virtualport: 'openvswitch', vlan: { tags: [42, 43], trunk: true } },
    ]);
    assert.deepEqual(nics('web2'), [{ mac: '00:16:3e:00:00:09', bridge: 'xenbr0', model: 'virtio' }]);
  });
});

describe('playbooks/xen-to-kvm.yaml: heavy copies are limited per volume group and per hypervisor', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  /** Every node with its enclosing blocks' limits, as the engine inherits them. */
  const limited = (nodes: Node[], outer: NonNullable<TaskNode['limits']> = []): [TaskNode, NonNullable<TaskNode['limits']>][] =>
    nodes.flatMap((n) => {
      const limits = [...outer, ...(n.limits ?? [])];
      if (n.kind === 'task') return limits.length ? [[n, limits] as [TaskNode, typeof limits]] : [];
      return n.kind === 'block' ? limited([...n.block, ...n.rescue, ...n.always], limits) : [];
    });
  const render = (limits: NonNullable<TaskNode['limits']>, vars: Record<string, unknown>) =>
    Object.fromEntries(limits.map((l) => [renderString(l.key, vars), renderString(String(l.max), vars)]));

  it('the rsync copy and every step of the dd copy hold both keys; the defaults are 1 per VG and 2 per hypervisor', () => {
    const all = limited(play.tasks);
    assert.deepEqual(all.map(([t]) => t.module), ['rsync', 'lvm', 'filesystem', 'filesystem', 'blockcopy', 'filesystem', 'lvm']);
    const vars = { ...play.vars, ferry_hypervisor: 'hv1', vg: 'vg1', lv: 'web1' };
    for (const [, limits] of all) assert.deepEqual(render(limits, vars), { 'hv1:vg1': 1, hv1: 2 });
    assert.deepEqual(render(all[0]![1], { ...vars, ferry_copy_limit: 3, ferry_vg_copy_limit: 2 }), { 'hv1:vg1': 2, hv1: 3 });
  });
});
