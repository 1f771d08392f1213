// Every module is written in one dialect, so a new one cannot drift from the others: its parameters
// are strict objects all the way down (an unknown key is bad input, nested ones too), every parameter
// is documented (nested options too), and `ferry doc`'s one-line texts (summary, parameters, result keys) end without a period.
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { moduleParams, type ParamDoc } from '../../runner/doc.js';
import { builtinModules } from '../../tasks/index.js';

/** Modules whose parameters are not an object, and why. */
const NOT_AN_OBJECT: Record<string, string> = {
  set: 'each key is a variable name chosen by the playbook (a record)',
};

type Def = { type: string } & Record<string, unknown>;
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** The object schemas inside a schema (itself, fields, list items, union options, wrappers), with where each is. */
function objectsIn(schema: z.ZodType, at: string): { at: string; def: Def }[] {
  const def = defOf(schema);
  const inner = (key: string, where = at) => objectsIn(def[key] as z.ZodType, where);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      return [{ at, def }, ...Object.entries(shape).flatMap(([k, v]) => objectsIn(v, at ? `${at}.${k}` : k))];
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return inner('innerType');
    case 'array':
      return inner('element', `${at}[]`);
    case 'union':
      return (def.options as z.ZodType[]).flatMap((o) => objectsIn(o, at));
    case 'pipe':
      return [...inner('in'), ...inner('out')];
    case 'record':
      return inner('valueType', `${at}.*`);
    default:
      return [];
  }
}

describe('one module dialect', () => {
  const registry = builtinModules();

  it('walks nested objects and tells a strict one from a plain .object()', async () => {
    const { z } = await import('zod');
    const s = z.strictObject({ a: z.array(z.object({ b: z.string() })).optional() });
    const found = objectsIn(s, '');
    assert.deepEqual(found.map((o) => o.at), ['', 'a[]']);
    assert.deepEqual(found.map((o) => defOf(o.def.catchall ?? { _zod: { def: { type: 'none' } } }).type), ['never', 'none']);
  });

  for (const name of registry.names()) {
    const m = registry.get(name)!;
    describe(name, () => {
      it('takes a strict object of parameters, nested objects strict too', () => {
        const objects = objectsIn(m.params, '');
        if (NOT_AN_OBJECT[name]) {
          assert.notEqual(defOf(m.params).type, 'object', `${name} is listed as not an object (${NOT_AN_OBJECT[name]})`);
        } else {
          assert.equal(objects[0]?.at, '', `${name}: its parameters are not an object schema (z.strictObject)`);
        }
        for (const o of objects) {
          const catchall = o.def.catchall === undefined ? undefined : defOf(o.def.catchall).type;
          assert.equal(catchall, 'never', `${name}: ${o.at || 'the parameters'} must be a z.strictObject (an unknown key is bad input)`);
        }
      });

      it('documents every parameter; summary, parameters and result keys end without a period', () => {
        assert.ok(m.doc.summary.length > 0, `${name}: no summary`);
        assert.ok(!m.doc.summary.endsWith('.'), `${name}: the summary ends with a period: ${m.doc.summary}`);
        const check = (p: ParamDoc, at: string): void => {
          assert.ok(p.description.length > 0, `${name}: parameter ${at} has no description`);
          assert.ok(!p.description.endsWith('.'), `${name}: parameter ${at}'s description ends with a period: ${p.description}`);
          for (const o of p.options ?? []) check(o, `${at}.${o.name}`);
        };
        for (const p of moduleParams(m)) check(p, p.name);
        for (const [k, v] of Object.entries(m.doc.result ?? {})) {
          assert.ok(!v.endsWith('.'), `${name}: result ${k}'s description ends with a period: ${v}`);
        }
      });
    });
  }
});
