// Host patterns and --limit, evaluated as Ansible does: unions, then intersections, then exclusions.
import { strict as assert } from 'node:assert';
import { ValidationError, type Problem } from '../../runner/errors.js';
import { loadIniInventory } from '../../runner/inventory/ini-inventory.js';
import { Inventory } from '../../runner/inventory/inventory.js';
import { globToRegExp, limitHosts, matchHosts, orderPatterns, splitHostPattern } from '../../runner/inventory/patterns.js';

const TEXT = `
[web]
web1
web2
web10
[db]
db1
db2
[prod:children]
web
db
[staging]
web2
db2
stage-x
[empty]
`;

const inv = new Inventory();
const problems: Problem[] = [];
loadIniInventory(inv, TEXT, 'patterns.ini', problems);
inv.reconcile();

describe('inventory: host patterns', function () {
  it('loads the pattern inventory cleanly', function () {
    assert.deepEqual(problems, []);
    assert.deepEqual(inv.hostNames(), ['web1', 'web2', 'web10', 'db1', 'db2', 'stage-x']);
  });

  const table: [string, string[]][] = [
    ['web1', ['web1']],
    ['web', ['web1', 'web2', 'web10']],
    ['all', ['web1', 'web2', 'web10', 'db1', 'db2', 'stage-x']],
    ['*', ['web1', 'web2', 'web10', 'db1', 'db2', 'stage-x']],
    ['web*', ['web1', 'web2', 'web10']],
    ['db?', ['db1', 'db2']],
    ['web[!1]', ['web2']],
    ['~web[0-9]$', ['web1', 'web2']],
    ['~db', ['db1', 'db2']],
    ['web:db', ['web1', 'web2', 'web10', 'db1', 'db2']],
    ['web,db1', ['web1', 'web2', 'web10', 'db1']],
    ['staging:web', ['web1', 'web2', 'web10', 'db2', 'stage-x']],
    ['prod:!staging', ['web1', 'web10', 'db1']],
    ['prod:&staging', ['web2', 'db2']],
    ['!staging:prod', ['web1', 'web10', 'db1']],
    ['&staging:web', ['web2']],
    ['web:!web2:db:&prod', ['web1', 'web10', 'db1', 'db2']],
    ['!db', ['web1', 'web2', 'web10', 'stage-x']],
    ['web[0]', ['web1']],
    ['web[-1]', ['web10']],
    ['web[1:2]', ['web2', 'web10']],
    ['empty', []],
    ['ungrouped', []],
    ['localhost', ['localhost']],
  ];
  for (const [pattern, want] of table) {
    it(`${pattern} -> ${JSON.stringify(want)}`, function () {
      assert.deepEqual(matchHosts(inv, pattern), want);
    });
  }

  it('splits at : and , but not inside [..] or an IPv6 address', function () {
    assert.deepEqual(splitHostPattern('a:b,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitHostPattern('web[0:2]:!db'), ['web[0:2]', '!db']);
    assert.deepEqual(splitHostPattern('fe80::1'), ['fe80::1']);
    assert.deepEqual(splitHostPattern('~a:b,c'), ['~a:b', 'c']);
  });
  it('orders unions, then intersections, then exclusions', function () {
    assert.deepEqual(orderPatterns(['!a', '&b', 'c', '!d', 'e']), ['c', 'e', '&b', '!a', '!d']);
    assert.deepEqual(orderPatterns(['!a']), ['all', '!a']);
  });
  it('translates globs like fnmatch', function () {
    assert.ok(globToRegExp('w[!0-9]*').test('wx1'));
    assert.ok(!globToRegExp('w[!0-9]*').test('w1'));
    assert.ok(!globToRegExp('web.example').test('webXexample'), 'a dot is literal');
    assert.ok(globToRegExp('a[').test('a['), 'an unclosed [ is literal');
  });

  it('reports every term that matches nothing, with a hint and a suggestion', function () {
    const loc = { file: 'play.yml', line: 3 };
    assert.throws(
      () => matchHosts(inv, 'web:wbe:!nosuch', loc),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(
          e.problems.map((p) => p.message),
          ["host pattern 'wbe' matches no host or group (did you mean 'web'?)", "host pattern 'nosuch' matches no host or group"],
        );
        assert.deepEqual(e.problems[0].loc, loc);
        assert.match(e.problems[0].hint ?? '', /ferry inventory -i INV --list/);
        return true;
      },
    );
  });
  // As in Ansible, `name[N]` is a subscript, not a glob: web[12] asks for the 13th host of web.
  it('reports an invalid regex and an out-of-range subscript', function () {
    assert.throws(() => matchHosts(inv, '~web('), (e: unknown) => e instanceof ValidationError && /invalid regular expression/.test(e.message));
    assert.throws(() => matchHosts(inv, 'web[12]'), (e: unknown) => e instanceof ValidationError && /no host at index 12/.test(e.message));
  });
});

describe('inventory: --limit', function () {
  const play = matchHosts(inv, 'prod');
  it('keeps only the play hosts the limit selects, in play order', function () {
    assert.deepEqual(limitHosts(inv, play, 'web:!web2'), ['web1', 'web10']);
    assert.deepEqual(limitHosts(inv, play, 'stage-x'), []);
  });
  it('reads @file limits one pattern per line', function () {
    const files: Record<string, string> = { 'retry.txt': 'db2\n\nweb1\n' };
    assert.deepEqual(
      limitHosts(inv, play, '@retry.txt', (p) => files[p]),
      ['web1', 'db2'],
    );
  });
  it('rejects a limit naming an unknown host', function () {
    assert.throws(() => limitHosts(inv, play, 'web99'), ValidationError);
  });
});

describe('inventory: 100,000 hosts', function () {
  // Behaviour only (bench/inventory-load.ts times it): every host in its groups once, patterns exact.
  this.timeout(60_000);
  const big = new Inventory();
  const p: Problem[] = [];
  loadIniInventory(big, '[web]\nweb[1:100000]\n[db]\ndb[1:10]\n[web]\nweb[1:10]\n[old]\nweb[99991:100000]\n', 'big.ini', p);
  big.reconcile();

  it('loads a range of 100,000 hosts, each listed once in its group', function () {
    assert.deepEqual(p, []);
    assert.equal(big.hostNames().length, 100_010);
    assert.equal(big.groups.get('web')?.hosts.length, 100_000);
    assert.deepEqual(big.groups.get('ungrouped')?.hosts, []);
  });
  const table: [string, number, string[]][] = [
    ['all', 100_010, ['web1', 'db10']],
    ['web:!web1*', 88_888, ['web2', 'web99999']],
    ['web:&old', 10, ['web99991', 'web100000']],
    ['~web9999[0-9]$', 10, ['web99990', 'web99999']],
    ['web[99998:]', 2, ['web99999', 'web100000']],
  ];
  for (const [pattern, count, ends] of table) {
    it(`${pattern} -> ${count} hosts`, function () {
      const hosts = matchHosts(big, pattern);
      assert.equal(hosts.length, count);
      assert.deepEqual([hosts[0], hosts.at(-1)], ends);
    });
  }
});
