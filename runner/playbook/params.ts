// Checks a task's parameters against its module's zod schema, turning zod issues into problems
// that name file:line and suggest the parameter the user probably meant.
import { z } from 'zod';
import { ansibleBoolean } from '../boolean.js';
import { ValidationError, type Loc, type Problem } from '../errors.js';
import type { TaskModule } from '../module.js';
import { nearest } from '../suggest.js';
import { isTemplated } from '../template.js';
import { locOf } from '../yaml-source.js';

/** The top-level parameter names a module's schema accepts (for suggestions and docs). */
export function schemaKeys(schema: z.ZodType): string[] {
  let s: unknown = schema;
  for (let i = 0; i < 5 && s; i++) {
    if (s instanceof z.ZodObject) return Object.keys(s.shape);
    const def = (s as { _zod?: { def?: { in?: unknown; innerType?: unknown; schema?: unknown } } })._zod?.def;
    s = def?.in ?? def?.innerType ?? def?.schema;
  }
  return [];
}

function valueAt(args: unknown, path: readonly PropertyKey[]): unknown {
  let cur = args;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function locAt(args: unknown, path: readonly PropertyKey[], fallback: Loc): Loc {
  let cur = args;
  let loc = fallback;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') break;
    loc = locOf(cur, p as string | number) ?? loc;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return loc;
}

function containsTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplated(v);
  if (Array.isArray(v)) return v.some(containsTemplate);
  if (v && typeof v === 'object') return Object.values(v).some(containsTemplate);
  return false;
}

function issueProblems(mod: TaskModule, args: unknown, issues: readonly z.core.$ZodIssue[], loc: Loc, tolerant: boolean): Problem[] {
  const out: Problem[] = [];
  const keys = schemaKeys(mod.params);
  for (const issue of issues) {
    const value = valueAt(args, issue.path);
    // Before rendering, a templated value cannot be typed yet: it is checked again once rendered. A parameter
    // the module does not have is bad input whatever the values around it (its issue's value is the whole mapping).
    if (tolerant && issue.code !== 'unrecognized_keys' && containsTemplate(value)) continue;
    if (tolerant && issue.code === 'custom' && containsTemplate(args)) continue;
    const where = locAt(args, issue.path, loc);
    const pathText = issue.path.length ? issue.path.join('.') : '';
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const kLoc = locAt(args, [...issue.path, k], loc);
        const guess = issue.path.length === 0 ? nearest(k, keys) : undefined;
        out.push({
          loc: kLoc,
          message: `module '${mod.name}' has no parameter '${[...issue.path, k].join('.')}'`,
          hint: guess ? `did you mean '${guess}'? ('ferry doc ${mod.name}' lists its parameters)` : `see 'ferry doc ${mod.name}'`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && value === undefined && pathText) {
      // zod words a missing parameter as a wrong type ("expected string, received undefined").
      out.push({ loc: where, message: `module '${mod.name}' needs the parameter '${pathText}'`, hint: `see 'ferry doc ${mod.name}'` });
      continue;
    }
    out.push({
      loc: where,
      message: `module '${mod.name}'${pathText ? `, parameter '${pathText}'` : ''}: ${issue.message}`,
      hint: `see 'ferry doc ${mod.name}'`,
    });
  }
  return out;
}

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `root` with the value at `path` replaced; only the containers on the path are copied (values such as secrets stay as they are). */
function withValueAt(root: unknown, path: readonly PropertyKey[], value: unknown): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as Record<PropertyKey, unknown>) }) as Record<PropertyKey, unknown>;
  copy[head as PropertyKey] = withValueAt(copy[head as PropertyKey], rest, value);
  return copy;
}

/**
 * Parses as Ansible's argument spec converts: a number or a boolean given as text — from `-e
 * t=15`, an inventory, or a quoted YAML value — is taken as one (`"15"`, `"yes"`, `"off"`), also
 * where a parameter is one of a union (rsync's `direct: true | {host, ...}`).
 */
function parseLikeAnsible<P>(mod: TaskModule<P>, args: Record<string, unknown>): ReturnType<TaskModule<P>['params']['safeParse']> {
  let r = mod.params.safeParse(args);
  for (let round = 0; round < 3 && !r.success; round++) {
    let converted: unknown;
    for (const issue of r.error.issues) {
      // a plain type, or each alternative of a union (boolean | {...}): the first the text reads as
      const expected = issue.code === 'invalid_type' ? [issue.expected] : issue.code === 'invalid_union' ? issue.errors.flatMap((alt) => (alt.length === 1 && alt[0]!.code === 'invalid_type' && !alt[0]!.path.length ? [alt[0]!.expected] : [])) : [];
      const v = valueAt(converted ?? args, issue.path);
      if (typeof v !== 'string') continue;
      const text = v.trim();
      const to = expected.map((e) => (e === 'number' && NUMBER_TEXT.test(text) ? Number(text) : e === 'boolean' ? ansibleBoolean(text) : undefined)).find((x) => x !== undefined);
      if (to !== undefined) converted = withValueAt(converted ?? args, issue.path, to);
    }
    if (converted === undefined) break;
    r = mod.params.safeParse(converted);
  }
  return r;
}

/** Load-time check of a task's arguments (templated values are accepted until rendered). */
export function checkParams(mod: TaskModule, args: Record<string, unknown>, loc: Loc): Problem[] {
  const r = parseLikeAnsible(mod, args);
  return r.success ? [] : issueProblems(mod, args, r.error.issues, loc, true);
}

/** Run-time check of rendered arguments; returns the parsed parameters or throws ValidationError. */
export function parseParams<P>(mod: TaskModule<P>, args: Record<string, unknown>, loc: Loc): P {
  const r = parseLikeAnsible(mod, args);
  if (r.success) return r.data;
  throw new ValidationError(issueProblems(mod as TaskModule, args, r.error.issues, loc, false));
}
