// Parameter fields that several file modules share, so `ferry doc` describes them the same way
// and a bad value is refused the same way before any host is contacted.
import { z } from 'zod';
import { deviceMapName } from '../guest-files/device-names.js';
import { parseModeSpec } from './mode.js';
import { absolutePathProblem, accountNameProblem, lvNameProblem, optionLikeProblem, rsyncPathProblem, vgNameProblem } from './operands.js';

/** A remote path: any bytes but NUL, which no command line can carry. */
export function pathField(description: string) {
  return z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => !s.includes('\0'), 'must not contain a NUL byte')
    .describe(description);
}

/** The file a line/block editing module edits, under `path` or any alias Ansible takes for it. */
export const editedPathFields = {
  path: pathField('').optional().describe('The file to edit on the host (aliases dest, destfile, name)'),
  dest: pathField('').optional().describe('Alias of path'),
  destfile: pathField('').optional().describe('Alias of path'),
  name: pathField('').optional().describe('Alias of path'),
};

type EditedPath = { path?: string; dest?: string; destfile?: string; name?: string };

/** Reports (inside .superRefine) an edited file given under none of its names, or under more than one. */
export function checkEditedPath(p: EditedPath, bad: (key: string, message: string) => void): void {
  const given = (['path', 'dest', 'destfile', 'name'] as const).filter((k) => p[k] !== undefined);
  if (given.length === 0) bad('path', 'path is required (the file to edit)');
  if (given.length > 1) bad(given[1]!, `give one of path, dest, destfile and name, not ${given.join(' and ')}`);
}

/** The parameters with the edited file's aliases folded into `path` (after checkEditedPath passed). */
export function foldEditedPath<T extends EditedPath>({ dest, destfile, name, ...p }: T): Omit<T, 'dest' | 'destfile' | 'name'> & { path: string } {
  return { ...p, path: (p.path ?? dest ?? destfile ?? name)! };
}

/** A zod check (for .superRefine) that reports what one of tasks/lib/operands.ts's rules says about a value. */
export function checkedBy(rule: (v: string) => string | undefined) {
  return (v: string, ctx: z.RefinementCtx): void => {
    const problem = rule(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  };
}

function ruleField(rule: (v: string) => string | undefined, description: string) {
  return z.string().min(1, 'must not be empty').superRefine(checkedBy(rule)).describe(description);
}

/** A path a command gets as an operand where only an absolute one makes sense (a device, an image file, a guest root). */
export function absolutePathField(description: string) {
  return ruleField(absolutePathProblem, description);
}

/** A word that reaches a command as an operand or option value and so must not start with '-' (a file system type, a host name). */
export function operandField(description: string) {
  return ruleField(optionLikeProblem, description);
}

/** An LVM volume group name, as lvm(8) allows it. */
export function vgNameField(description: string) {
  return ruleField(vgNameProblem, description);
}

/** An LVM logical volume name, as lvm(8) allows it. */
export function lvNameField(description: string) {
  return ruleField(lvNameProblem, description);
}

/** A path on the host rsync runs on: never an option, never a remote spec (only ferry builds those). */
export function rsyncPathField(description: string) {
  return ruleField(rsyncPathProblem, description);
}

// The optional fields carry .describe() outermost: zod 4 keeps a description on the schema it was
// given to, so `.optional()` after it would hide it from `ferry doc`.

/** `mode:` (optional) as playbooks write it: '0644', 644 (YAML 1.2's reading of 0644), or symbolic 'u=rw,g=r'. */
export const modeField = z
  .union([z.string(), z.number()])
  .superRefine((v, ctx) => {
    try {
      parseModeSpec(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  })
  .optional()
  .describe("Permissions: octal ('0644'; an unquoted 0644 is read as octal too) or symbolic ('u=rw,g=r,o=')");

/** A user or group (optional): a name or a numeric id. */
function principalField(what: string) {
  return z
    .union([z.string().min(1), z.number().int().nonnegative()])
    .transform((v) => String(v))
    .optional()
    .describe(`${what} name or numeric id that should own the path`);
}

/** `owner:` */
export const ownerField = principalField('User');
/** `group:` */
export const groupField = principalField('Group');

/**
 * `validate:` as Ansible's file modules take it: a command run on the new content (written to a temporary
 * file on the host, named where the command says %s) before it replaces the file; Ansible's message when
 * %s is missing, before any host is contacted.
 */
export const validateField = z
  .string()
  .superRefine((v, ctx) => {
    if (!v.includes('%s')) ctx.addIssue({ code: 'custom', message: `validate must contain %s: ${v} (write where the file goes, e.g. 'visudo -cf %s')` });
  })
  .optional()
  .describe("Command that checks the new content before it replaces the file, %s naming a temporary copy (e.g. 'visudo -cf %s'); split into words, no shell; a non-zero exit fails the task and leaves the file as it was");

/** The fields every text-editing module shares (lineinfile, replace, blockinfile): backup, mode, owner, group. */
export const editedFileFields = {
  backup: z.boolean().default(false).describe('Keep the previous file as path.<pid>.<date>@<time>~'),
  validate: validateField,
  mode: modeField,
  owner: ownerField,
  group: groupField,
};

/** A user or group name as useradd/groupadd take it (never an option, never a numeric id). */
export function accountNameField(description: string) {
  return ruleField(accountNameProblem, description);
}

const DEVICE_NAME = /^[a-z]+[0-9]*$/;

/**
 * `device_map:` (optional): Xen device -> KVM device names (an optional /dev/ is dropped), as renameDevice
 * (tasks/guest-files/device-names.ts) applies it; every bad name, key given twice and target shared is reported.
 * `applies` says what the module renames with it; the rest of the description is the same for every module.
 */
export function deviceMapField(applies: string) {
  return z
    .record(z.string(), z.string())
    .superRefine((map, ctx) => {
      const keys = new Map<string, string>();
      const values = new Map<string, string>();
      for (const [key, value] of Object.entries(map)) {
        for (const [what, name] of [['device', key], ['target', value]] as const) {
          if (!DEVICE_NAME.test(deviceMapName(name))) {
            ctx.addIssue({ code: 'custom', path: [key], message: `${what} ${JSON.stringify(name)} is not a device name like xvda2 or vdb (letters, then an optional partition number)` });
          }
        }
        const k = deviceMapName(key);
        const v = deviceMapName(value);
        const sameKey = keys.get(k);
        if (sameKey !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is mapped twice (also as ${sameKey})` });
        else keys.set(k, key);
        const sameValue = values.get(v);
        if (sameValue !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} and ${sameValue} both map to ${v}` });
        else values.set(v, key);
      }
    })
    .optional()
    .describe(
      'Xen device -> KVM device, both without /dev/ (e.g. {xvda2: vda1, xvda1: vdb, xvdb: vdc}): ' +
        `${applies}; a key naming a whole disk (xvdb) also maps its partitions (xvdb1 -> vdc1), each device is renamed once, ` +
        'and a device not in the map follows the xvdXN -> vdXN rule',
    );
}
