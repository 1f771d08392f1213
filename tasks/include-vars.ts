// include_vars: read variables from YAML/JSON files on the controller (Ansible's include_vars).
// The values are set for the host's later tasks, as set_fact's are; each keeps its file:line.
// read: the files found on the controller, loaded, and the task's variables (nothing on the host);
// decide: pure, the values rendered in file order (test/fixtures/decide/include_vars).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { SET_VARS_KEY } from '../runner/task-outcome.js';
import { formatLoc, TaskFailedError, ValidationError } from '../runner/errors.js';
import { Undefined } from '../runner/expr/index.js';
import { varsFileSearchPath } from '../runner/lookups.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { renderDeep } from '../runner/template.js';
import { loadYamlFile, locOf } from '../runner/yaml-source.js';

type Obj = Record<string, unknown>;

const params = z
  .strictObject({
    file: z.string().min(1).optional().describe("A vars file: in a role, looked for in the role's vars/ first; then vars/ beside the playbook, then the playbook's folder"),
    free_form: z.string().min(1).optional().describe('The file, written as `include_vars: FILE`'),
    dir: z.string().min(1).optional().describe('A folder whose files (by extensions, sorted by name) are all read, later ones winning'),
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name: letters, digits and _').optional().describe('Put the variables under this one variable instead of setting each'),
    files_matching: z.string().optional().describe('dir: only files whose name matches this regular expression'),
    ignore_files: z.array(z.string()).default([]).describe('dir: file names to leave out'),
    extensions: z.array(z.string()).default(['yaml', 'yml', 'json']).describe('dir: the file name extensions read'),
  })
  .refine((p) => [p.file, p.free_form, p.dir].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of file (or the free-form file name) and dir' });

type Params = z.output<typeof params>;

function exists(path: string, dir: boolean): boolean {
  try {
    const st = statSync(path);
    return dir ? st.isDirectory() : st.isFile();
  } catch {
    return false;
  }
}

/** The files a dir: reads, in order. */
function dirFiles(dir: string, p: Params): string[] {
  const match = p.files_matching !== undefined ? new RegExp(p.files_matching) : undefined;
  return readdirSync(dir)
    .filter((f) => p.extensions.some((e) => f.endsWith(`.${e}`)) && !p.ignore_files.includes(f) && (!match || match.test(f)))
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => exists(f, false));
}

/** Reads one vars file: a mapping, each value with its file:line. */
function readVarsFile(path: string, display: string): Obj {
  let data: unknown;
  try {
    data = loadYamlFile(path, display);
  } catch (e) {
    if (e instanceof ValidationError) throw new TaskFailedError(e.message, { file: path });
    throw e;
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new TaskFailedError(`include_vars: ${display} must hold a mapping of variable names to values`, { file: path });
  return data as Obj;
}

/** One vars file as read: its path and its mapping (each value keeps its file:line). */
export interface VarsFile {
  path: string;
  data: Obj;
}

/** What include_vars's read found on the controller: the places looked in, the files read in order (absent: none found), and the task's variables. */
export interface IncludeVarsFacts {
  tried: string[];
  files?: VarsFile[];
  vars: Obj;
}

/** The file (or folder) the params name. */
const wanted = (p: Params): string => p.dir ?? p.file ?? p.free_form!;

/** Looks for the file or folder along the search path and loads what it names (a broken file fails the task with its file:line). */
async function readIncludeVars(ctx: TaskContext, p: Params): Promise<IncludeVarsFacts> {
  const tried = varsFileSearchPath(wanted(p), ctx.baseDir, ctx.roleDir);
  const found = tried.find((t) => exists(t, p.dir !== undefined));
  if (!found) return { tried, vars: ctx.vars };
  const paths = p.dir !== undefined ? dirFiles(found, p) : [found];
  const files = paths.map((path) => {
    const rel = relative(process.cwd(), path);
    return { path, data: readVarsFile(path, rel && !rel.startsWith('..') ? rel : path) };
  });
  return { tried, files, vars: ctx.vars };
}

/** Decides include_vars (pure): a refusal when nothing was found, else no change with the values rendered in file order as data. */
export function decideIncludeVars(p: Params, f: IncludeVarsFacts): Verdict {
  if (!f.files) return { refused: `include_vars: ${p.dir !== undefined ? 'folder' : 'file'} ${wanted(p)} not found (looked for ${f.tried.join(', ')})` };
  // Rendered in file order, so a value may use one set above it in the same files.
  const scope: Obj = { ...f.vars };
  const vars: Obj = {};
  for (const { data } of f.files) {
    for (const [key, value] of Object.entries(data)) {
      const loc = locOf(data, key);
      try {
        vars[key] = renderDeep(value, scope, loc);
      } catch (e) {
        // The message names the value's file:line (the rendering error starts with it).
        const msg = (e as Error).message;
        vars[key] = new Undefined(key, `its value cannot be rendered: ${loc && !msg.startsWith(formatLoc(loc)) ? `${formatLoc(loc)}: ` : ''}${msg}`);
      }
      scope[key] = vars[key];
    }
  }
  const set = p.name !== undefined ? { [p.name]: vars } : vars;
  const n = f.files.length;
  return {
    changed: false,
    reason: `set ${Object.keys(set).join(', ') || 'nothing'} from ${n} file${n === 1 ? '' : 's'}`,
    data: { ansible_included_var_files: f.files.map((x) => x.path), [SET_VARS_KEY]: set },
  };
}

export const includeVarsModule = defineModule({
  name: 'include_vars',
  params,
  freeForm: 'free_form',
  doc: {
    summary: "Set variables from YAML/JSON files on the controller, for this host's later tasks (Ansible's include_vars)",
    description:
      'Relative names are looked for in the role\'s vars/ and folder (inside a role), then in vars/ beside the playbook and the ' +
      'playbook\'s folder. A file named literally is read when the playbook is loaded too, so a missing or broken file is an ' +
      'error before any host is contacted. Templated values are rendered now, with the variables the task sees; a value that ' +
      'cannot be rendered is undefined, and using it names its file:line. The values rank as set_fact values do (above task vars, below -e).',
    checkMode: 'full',
    checkModeNote: 'the files are read in check mode too, so later tasks see the values',
    result: { ansible_included_var_files: 'the files read', [SET_VARS_KEY]: 'the variables set' },
    example: ['- include_vars: "{{ ansible_os_family }}.yml"', '', '- include_vars:', '    dir: vars/site', '    name: site'].join('\n'),
  },
  read: readIncludeVars,
  decide: decideIncludeVars,
});
