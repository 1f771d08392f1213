// Variable precedence (README "Variables") and extra-vars parsing, as pure units.
import assert from 'node:assert/strict';
import { Undefined, UndefinedVariableError, evaluate, evaluateBool, parseExpr } from '../../runner/expr/index.js';
import { mergeVars, parseExtraVarArg, resolveLayers, resolveVarTemplates, type VarLayers } from '../../runner/vars.js';

const LAYERS: (keyof VarLayers)[] = ['inventory', 'play', 'varsFiles', 'blocks', 'task', 'registered', 'extra', 'magic'];

function layers(over: Partial<VarLayers>): VarLayers {
  return { inventory: {}, play: {}, varsFiles: {}, blocks: [], task: {}, registered: {}, extra: {}, magic: {}, ...over };
}

describe('variable precedence', () => {
  it('each layer beats every layer below it', () => {
    for (let hi = 1; hi < LAYERS.length; hi++) {
      for (let lo = 0; lo < hi; lo++) {
        const l: Partial<VarLayers> = {};
        for (const [i, name] of [[lo, LAYERS[lo]!], [hi, LAYERS[hi]!]] as const) {
          (l as Record<string, unknown>)[name] = name === 'blocks' ? [{ x: i }] : { x: i };
        }
        assert.equal(mergeVars(layers(l)).x, hi, `${LAYERS[hi]} should beat ${LAYERS[lo]}`);
      }
    }
  });

  it('an inner block beats an outer one', () => {
    assert.equal(mergeVars(layers({ blocks: [{ x: 'outer' }, { x: 'inner' }] })).x, 'inner');
  });

  it('replaces mappings whole rather than merging them (Ansible hash_behaviour=replace)', () => {
    assert.deepEqual(mergeVars(layers({ inventory: { m: { a: 1, b: 2 } }, play: { m: { a: 9 } } })).m, { a: 9 });
  });

  it('renders variables that refer to other variables, from any layer', () => {
    const v = resolveVarTemplates({ lv: 'xr1-disk', old: '{{ lv }}-old', dev: '/dev/{{ vg }}/{{ old }}', vg: 'vg1', list: ['{{ lv }}'] });
    assert.equal(v.old, 'xr1-disk-old');
    assert.equal(v.dev, '/dev/vg1/xr1-disk-old');
    assert.deepEqual(v.list, ['xr1-disk']);
  });

  it('a variable that cannot be rendered is undefined: an error only where it is used, naming why', () => {
    const v = resolveVarTemplates({ ok: 'fine', bad: '{{ nope }}', user: 'x{{ bad }}' });
    assert.equal(v.ok, 'fine');
    assert.equal(evaluateBool(parseExpr('bad is defined'), v), false);
    assert.throws(() => evaluate(parseExpr('bad'), v), (e: unknown) => e instanceof UndefinedVariableError && /'bad' is undefined \(its value cannot be rendered: undefined variable 'nope'/.test(e.message));
    assert.ok(v.user instanceof Undefined && /undefined variable 'bad'/.test(v.user.reason), String(v.user));
  });

  it('renders what the user wrote, never registered results or facts (data from hosts)', () => {
    const v = resolveLayers(
      layers({
        play: { a: '{{ 1 + 1 }}', shadowed: 'play' },
        registered: { out: { stdout: "{{ lookup('env', 'HOME') }}" }, shadowed: '{{ 2 }}' },
        extra: { shadowed: '{{ 3 }}' },
        magic: { ansible_facts: { motd: '{{ a }}' } },
      }),
    );
    assert.equal(v.a, 2);
    assert.deepEqual(v.out, { stdout: "{{ lookup('env', 'HOME') }}" });
    assert.deepEqual(v.ansible_facts, { motd: '{{ a }}' });
    assert.equal(v.shadowed, 3);
  });
});

describe('-e extra vars', () => {
  it('parses key=value pairs with quotes, JSON mappings and @files', () => {
    assert.deepEqual(parseExtraVarArg('guest=xr1 note="a b" q=\'c d\'', () => ({})), { guest: 'xr1', note: 'a b', q: 'c d' });
    assert.deepEqual(parseExtraVarArg('{"n": 3, "l": [1]}', () => ({})), { n: 3, l: [1] });
    assert.deepEqual(parseExtraVarArg('@vars.yaml', (p) => (p === 'vars.yaml' ? { a: 1 } : null)), { a: 1 });
  });
  it('rejects what is none of those', () => {
    assert.throws(() => parseExtraVarArg('just words', () => ({})), /key=value/);
    assert.throws(() => parseExtraVarArg('@list.yaml', () => [1, 2]), /mapping/);
  });
});
