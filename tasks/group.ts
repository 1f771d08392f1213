// The `group` module (Ansible's ansible.builtin.group on Linux): groupadd, groupmod -g, groupdel.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { getent, getentCommand, idOwner, parseGroupEntry, type GroupEntry } from './lib/accounts.js';
import { runBatch } from './lib/run-command.js';
import { accountNameField } from './lib/schema.js';

const params = z
  .strictObject({
    name: accountNameField('Name of the group to manage'),
    gid: z.number().int().nonnegative().optional().describe('GID the group should have (groupadd -g; an existing group is moved to it with groupmod -g)'),
    state: z.enum(['present', 'absent']).default('present').describe('Whether the group should exist'),
    system: z.boolean().default(false).describe('Create a system group (groupadd -r: a GID from the system range); an existing group is left as it is'),
    local: z.boolean().default(false).describe('Read only /etc/group (getent -s files) and use lgroupadd/lgroupmod/lgroupdel (libuser), for hosts with central authentication'),
    non_unique: z.boolean().default(false).describe('Allow a GID another group has (-o); needs gid'),
  })
  .refine((p) => !p.non_unique || p.gid !== undefined, { message: 'non_unique: true needs gid', path: ['non_unique'] });

type Params = z.output<typeof params>;

/** What read found: the group, the group holding the wanted GID, and (local) whether the libuser tools are there. */
export interface GroupFacts {
  group: GroupEntry | null;
  /** The name of the group that has the wanted gid now, when gid was given and one has it. */
  gidOwner?: string;
  /** local: whether lgroupadd is on the host's PATH. */
  localTools?: boolean;
}

/** The facts from what `getent group NAME` and `getent group GID` printed. */
export function groupFactsFrom(p: Params, byName: ToolOutput, byGid?: ToolOutput, localTools?: boolean): GroupFacts {
  const owner = byGid && p.gid !== undefined ? idOwner(byGid, p.gid) : undefined;
  return { group: parseGroupEntry(byName, p.name), ...(owner !== undefined ? { gidOwner: owner } : {}), ...(localTools !== undefined ? { localTools } : {}) };
}

/** Reads the group by name and, when gid is given, whoever holds that GID, in one round trip (I/O only). */
async function readGroup(ctx: TaskContext, p: Params): Promise<GroupFacts> {
  const o = await runBatch(ctx, {
    byName: getentCommand('group', p.name, p.local),
    byGid: p.gid !== undefined ? getentCommand('group', String(p.gid), p.local) : undefined,
    localTools: p.local ? sh`command -v lgroupadd` : undefined,
  });
  return groupFactsFrom(p, o.byName!, o.byGid, o.localTools ? o.localTools.exitCode === 0 : undefined);
}

/** The result Ansible registers: name and state, and gid and system while the group exists. */
export function groupResult(p: Params, g: GroupEntry | null): Record<string, unknown> {
  return { name: p.name, state: p.state, ...(g ? { gid: g.gid, system: p.system } : {}) };
}

/** Decides groupadd / groupmod / groupdel (pure). */
export function decideGroup(p: Params, f: GroupFacts): Verdict {
  const tool = (t: 'groupadd' | 'groupmod' | 'groupdel') => (p.local ? `l${t}` : t);
  if (p.local && f.localTools === false) return { refused: `local: true needs ${tool('groupadd')} (libuser), which is not on the host's PATH` };
  const g = f.group;
  if (p.state === 'absent') {
    if (!g) return { changed: false, reason: `group ${p.name} does not exist`, data: groupResult(p, null) };
    return { changed: true, steps: [{ title: `remove group ${p.name}`, cmd: sh`${tool('groupdel')} -- ${p.name}` }], data: groupResult(p, null) };
  }
  const gidTaken = p.gid !== undefined && f.gidOwner !== undefined && f.gidOwner !== p.name && !p.non_unique;
  if (gidTaken) return { refused: `GID '${p.gid}' already exists with group '${f.gidOwner}' (give another gid, or non_unique: true)` };
  const gidOpts = p.gid !== undefined ? ['-g', p.gid, ...(p.non_unique ? ['-o'] : [])] : [];
  if (!g) {
    const what = [p.system ? 'system group' : 'group', p.name, p.gid !== undefined ? `with GID ${p.gid}` : ''].filter(Boolean).join(' ');
    return { changed: true, steps: [{ title: `add ${what}`, cmd: sh`${[tool('groupadd'), ...gidOpts, ...(p.system ? ['-r'] : []), '--', p.name]}` }], data: { name: p.name, state: p.state } };
  }
  if (p.gid !== undefined && g.gid !== p.gid) {
    return { changed: true, steps: [{ title: `change the GID of group ${p.name} from ${g.gid} to ${p.gid}`, cmd: sh`${[tool('groupmod'), ...gidOpts, '--', p.name]}` }], data: groupResult(p, g) };
  }
  return { changed: false, reason: `group ${p.name} exists with GID ${g.gid}`, data: groupResult(p, g) };
}

/** The group module. */
export const groupModule = defineModule({
  name: 'group',
  params,
  doc: {
    summary: 'Add, change the GID of, or remove a group (groupadd, groupmod, groupdel)',
    description:
      'As Ansible\'s group module on Linux. Facts: `getent group NAME` (with local: `getent -s files`, /etc/group only) and, when gid is ' +
      'given, `getent group GID`: a GID another group holds is refused before anything runs (unless non_unique). system ' +
      'only matters when the group is created. The name is passed after `--` and may not start with \'-\'.',
    checkMode: 'full',
    result: { name: 'the group name', state: 'present or absent', gid: 'its GID (while it exists)', system: 'the system parameter (while it exists)' },
    example: ['- group:', '    name: docker', '    gid: 1750', '', '- group: { name: olddept, state: absent }'].join('\n'),
  },
  read: readGroup,
  decide: decideGroup,
  async result(ctx, p) {
    return groupResult(p, parseGroupEntry(await getent(ctx, 'group', p.name, p.local), p.name));
  },
});
