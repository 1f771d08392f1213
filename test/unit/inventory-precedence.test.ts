// Variable precedence of the inventory layer (SOURCE.md of the Ansible corpus, ansible-core 2.14):
// all inline < group inline (by depth, priority, name) < group_vars/all < group_vars/GROUP
// < host inline < host_vars/HOST. The fixture sets each lN in two adjacent layers.
import { strict as assert } from 'node:assert';
import { loadInventory } from '../../runner/inventory/index.js';

const inv = loadInventory('test/fixtures/inventory/precedence/inventory');

describe('inventory: variable precedence', function () {
  const table: [string, string, unknown, string][] = [
    ['web1', 'l1', 'all-inline', '[all:vars] alone'],
    ['web1', 'l2', 'prod-inline', '[prod:vars] beats [all:vars]'],
    ['web1', 'l3', 'web-inline', 'a child group beats its parent ([web:vars] over [prod:vars])'],
    ['db1', 'l3', 'prod-inline', 'the parent value where the child does not set it'],
    ['web1', 'l4', 'group_vars-all', 'group_vars/all beats any inline group vars'],
    ['web1', 'l5', 'group_vars-prod', 'group_vars/prod beats group_vars/all'],
    ['db1', 'l5', 'group_vars-db', 'group_vars/db.json (child) beats group_vars/prod'],
    ['web1', 'l6', 'group_vars-web', 'group_vars/web/ (a directory) beats group_vars/prod'],
    ['web1', 'l7', 'host-inline', 'inline host vars beat group_vars/'],
    ['web2', 'l7', 'group_vars-web', 'group_vars/ where the host sets nothing inline'],
    ['web1', 'l8', 'host_vars', 'host_vars/ beats inline host vars'],
    ['web1', 'by_name', 'omega', 'equal depth: the alphabetically later group wins'],
    ['web1', 'by_prio', 'p_high', 'ansible_group_priority beats the name order'],
    ['web1', 'split', 'second', 'files of a group_vars/NAME/ directory load in sorted order'],
    ['web1', 'd', { c: 3 }, 'dicts are replaced, not merged'],
    ['db1', 'd', { a: 1, b: 2 }, 'the group_vars/all dict where no group replaces it'],
    ['db1', 'from_json', true, 'a .json group_vars file'],
  ];
  for (const [host, key, want, why] of table) {
    it(`${host}.${key} = ${JSON.stringify(want)}: ${why}`, function () {
      assert.deepEqual(inv.varsOf(host)[key], want);
    });
  }

  it('does not keep ansible_group_priority as a variable', function () {
    assert.ok(!('ansible_group_priority' in inv.varsOf('web1')));
  });
  it('ignores group_vars files naming no group and extensions that are not vars files', function () {
    const v = inv.varsOf('web1');
    assert.ok(!('ignored' in v));
    assert.notEqual(v.split, 'ignored because .txt is not a vars file extension');
  });
  it('orders groups by depth, then priority, then name', function () {
    assert.deepEqual(inv.sortGroups(['web', 'prod', 'p_low', 'omega', 'p_high', 'alpha', 'ungrouped']), [
      'alpha',
      'omega',
      'p_low',
      'prod',
      'ungrouped',
      'p_high',
      'web',
    ]);
  });
  it('returns a copy: changing it does not change the inventory', function () {
    (inv.varsOf('web1').d as Record<string, unknown>).c = 99;
    assert.deepEqual(inv.varsOf('web1').d, { c: 3 });
  });
});
