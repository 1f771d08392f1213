// The connection pool's become settings are read by connectionOf's reader, whichever layer sets them:
// a value the validator refuses is refused, never read with a truthiness of its own.
import { strict as assert } from 'node:assert';
import { Secret } from '../../runner/command.js';
import { CONNECT_CONCURRENCY, ConnectionPool } from '../../runner/connection-pool.js';
import { ValidationError } from '../../runner/errors.js';
import { connectionOf } from '../../runner/inventory/connection.js';
import type { InventoryView } from '../../runner/inventory-view.js';
import type { Transport } from '../../runner/transport/types.js';

type Obj = Record<string, unknown>;

/** An inventory of one host, `web1`, with these variables. */
function inventoryOf(vars: Obj): InventoryView {
  const hv = { inventory_hostname: 'web1', ...vars };
  return { resolve: () => ['web1'], hostVars: () => hv, groups: () => ({ all: ['web1'] }), hostNames: () => ['web1'], has: (h) => h === 'web1' };
}

const noTransport = (): never => assert.fail('becomeFor opens no connection');

/** What the validator (preflight, checkConnections) reads from the value, or the error it gives. */
function validated(name: string, value: unknown): boolean | undefined | string {
  try {
    return connectionOf({ inventory_hostname: 'web1', [name]: value }).become;
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    return e.problems[0]!.message;
  }
}

/** What becomeFor reads from the value set in one layer, or the error it gives. */
function readByPool(layer: 'inventory' | 'extra' | 'defaults' | 'play', name: string, value: unknown): boolean | undefined | string {
  const v = { [name]: value };
  const pool = new ConnectionPool(inventoryOf(layer === 'inventory' ? v : {}), noTransport, layer === 'extra' ? v : {}, layer === 'defaults' ? v : {});
  try {
    return pool.becomeFor('web1', {}, layer === 'play' ? { inventory_hostname: 'web1', ...v } : undefined) !== false;
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    return e.problems[0]!.message;
  }
}

describe('connection pool: become is read by one reader', () => {
  const values: unknown[] = [true, false, 'yes', 'no', 'True', 'FALSE', 'on', 'off', 1, 0, '1', '0', 'y', 'n', 'maybe', 'sure', '2', 'enabled'];
  for (const name of ['ferry_become', 'ansible_become']) {
    for (const layer of ['inventory', 'extra', 'defaults', 'play'] as const) {
      it(`${name} set in the ${layer} layer: read as the validator reads it, refused when it refuses`, () => {
        for (const value of values) {
          const expected = validated(name, value);
          const got = readByPool(layer, name, value);
          if (typeof expected === 'string') assert.equal(got, expected, `${JSON.stringify(value)} is refused with the validator's message`);
          else assert.equal(got, expected === true, `${JSON.stringify(value)} reads ${String(expected)}`);
        }
      });
    }
  }

  it('the password and user come from the same names as connectionOf reads; a Secret stays one', () => {
    const pw = new Secret('s3');
    const pool = new ConnectionPool(inventoryOf({ ansible_become: 'yes', ansible_become_pass: 'inv-pw', ansible_become_user: 'ops' }), noTransport, {}, { ferry_become_password: pw });
    const b = pool.becomeFor('web1', {});
    assert.ok(b);
    assert.equal(b.user, 'ops');
    assert.equal(b.password?.value, 'inv-pw', "the inventory's password is above -K's");
    const prompted = new ConnectionPool(inventoryOf({ ferry_become: true }), noTransport, {}, { ferry_become_password: pw }).becomeFor('web1', { becomeUser: 'app' });
    assert.ok(prompted);
    assert.equal(prompted.password, pw);
    assert.equal(prompted.user, 'app');
  });
});

describe('ConnectionPool: how many connections open at once', () => {
  /** An inventory of `n` hosts h0..h(n-1). */
  function fleet(n: number): InventoryView {
    const names = Array.from({ length: n }, (_, i) => `h${i}`);
    return { resolve: () => names, hostVars: (h) => ({ inventory_hostname: h }), groups: () => ({ all: names }), hostNames: () => names, has: (h) => names.includes(h) };
  }

  it('opens at most CONNECT_CONCURRENCY at once; each waits its turn, a failed one frees its place and stays failed', async () => {
    let open = 0;
    let most = 0;
    const connected: string[] = [];
    // A transport whose connect takes a few turns of the event loop; every 7th host refuses.
    const factory = (host: string) =>
      ({
        connect: async () => {
          open++;
          most = Math.max(most, open);
          await new Promise((r) => setTimeout(r, 2));
          open--;
          if (Number(host.slice(1)) % 7 === 0) throw new Error(`${host}: refused`);
          connected.push(host);
        },
      }) as unknown as Transport;
    const pool = new ConnectionPool(fleet(300), factory);
    const all = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => pool.transport(`h${i}`)));
    assert.equal(most, CONNECT_CONCURRENCY);
    assert.equal(connected.length, 300 - Math.ceil(300 / 7));
    assert.equal(all.filter((r) => r.status === 'rejected').length, Math.ceil(300 / 7));
    // a host that failed stays unreachable: asking again does not connect again
    await assert.rejects(pool.transport('h7'), /h7: refused/);
    assert.equal(connected.length, 300 - Math.ceil(300 / 7));
    // and the limit is the pool's own: a pool of 5 keeps to 5
    most = 0;
    const small = new ConnectionPool(fleet(40), factory, {}, {}, 5);
    await Promise.allSettled(Array.from({ length: 40 }, (_, i) => small.transport(`h${i}`)));
    assert.equal(most, 5);
  });
});
