// The `user` module (Ansible's ansible.builtin.user on Linux): useradd, usermod, userdel.
import { posix } from 'node:path';
import { z } from 'zod';
import { secret, sh } from '../runner/command.js';
import { defineModule, type Diff, type StepRun, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { getent, getentCommand, idOwner, parseGroupEntries, parsePasswdEntry, parseShadowEntry, type GroupEntry, type PasswdEntry, type ShadowEntry } from './lib/accounts.js';
import { accountNameProblem } from './lib/operands.js';
import { absolutePathField, accountNameField, checkedBy } from './lib/schema.js';
import { runBatch } from './lib/run-command.js';

/** Why `g` cannot name a group for useradd -g/-G: a GID (digits) or a valid group name. */
function groupRefProblem(g: string): string | undefined {
  return /^\d+$/.test(g) ? undefined : accountNameProblem(g);
}

/** Why `hash` is not what /etc/shadow holds (Ansible warns; ferry refuses, so no plain text password is ever stored). The value is never quoted. */
function passwordProblem(hash: string): string | undefined {
  if (['*', '!', '!!', ''].includes(hash)) return undefined;
  const h = hash.replace(/^!/, '');
  if (!/^\$[^$:\s]+\$[^:\s]*$/.test(h) && !/^[./0-9A-Za-z]{13}$/.test(h)) {
    return "must be a crypt(3) hash as /etc/shadow holds it ('$6$salt$...', or '*' / '!' to disable logins), not a plain text password; make one with mkpasswd -m sha-512 or openssl passwd -6";
  }
  return undefined;
}

const groupRef = z.string().min(1).superRefine(checkedBy(groupRefProblem));

const params = z
  .strictObject({
    name: accountNameField('Name of the user to create, change or remove'),
    state: z.enum(['present', 'absent']).default('present').describe('Whether the account should exist'),
    uid: z.number().int().nonnegative().optional().describe('UID of the user (useradd/usermod -u)'),
    non_unique: z.boolean().default(false).describe('Allow a UID another user has (-o); needs uid'),
    group: z.union([groupRef, z.number().int().nonnegative().transform(String)]).optional().describe("Primary group: a name or GID that must exist (default on creation: a group named as the user, or -N when one exists)"),
    groups: z
      .union([z.array(groupRef), z.string().transform((s) => s.split(',').map((g) => g.trim()).filter(Boolean))])
      .pipe(z.array(groupRef))
      .optional()
      .describe("Supplementary groups (a list, or 'a,b'); each must exist. [] (or '') with append: false removes them all"),
    append: z.boolean().default(false).describe('Add the user to groups, keeping the others (usermod -a); false: groups is the whole list'),
    shell: z.string().min(1).optional().describe('Login shell'),
    home: absolutePathField('Home directory').optional(),
    create_home: z.boolean().default(true).describe('On creation, make the home directory from the skeleton (useradd -m; false: -M); missing parent directories are made'),
    skeleton: absolutePathField('Skeleton directory for a new home (useradd -k)').optional(),
    move_home: z.boolean().default(false).describe('When home changes, move the contents (usermod -m)'),
    system: z.boolean().default(false).describe('On creation, make a system account (useradd -r); an existing user is left as it is'),
    comment: z.string().optional().describe('The GECOS field (full name)'),
    password: z.string().superRefine(checkedBy(passwordProblem)).optional().describe("The crypt(3) hash to put in /etc/shadow ('$6$...'); never shown in output, events or diffs"),
    update_password: z.enum(['always', 'on_create']).default('always').describe('always: set password when the hash differs; on_create: only for a new user'),
    expires: z.number().optional().describe('Account expiry in seconds since the epoch (UTC date kept, as in /etc/shadow); a negative number: never expires'),
    remove: z.boolean().default(false).describe('state absent: remove the home directory and mail spool too (userdel -r)'),
    force: z.boolean().default(false).describe('state absent: remove the user even while logged in (userdel -f)'),
    local: z.boolean().default(false).describe('Read only /etc/passwd and /etc/group (getent -s files) and refuse unless libuser (luseradd) is installed; ferry runs useradd/usermod/userdel either way'),
  })
  .refine((p) => !p.non_unique || p.uid !== undefined, { message: 'non_unique: true needs uid', path: ['non_unique'] });

type Params = z.output<typeof params>;

/** What read found. */
export interface UserFacts {
  user: PasswdEntry | null;
  /** The shadow entry, read when password or expires is given and the user exists. */
  shadow?: ShadowEntry | null;
  /** The user's supplementary groups (`id -Gn` without the primary), read when groups is given and the user exists. */
  memberOf?: string[];
  /** The groups that exist among those named by group, groups and (creation without group) the user's own name. */
  groups: GroupEntry[];
  /** The name of the user holding the wanted uid, if any. */
  uidOwner?: string;
  /** Creation with create_home and home: whether the home's parent directory exists. */
  homeParentExists?: boolean;
  /** local: whether luseradd is on the host's PATH. */
  localTools?: boolean;
}

/** The raw outputs read collects, which the decide table gives as they were printed. */
export interface UserOutputs {
  passwd: ToolOutput;
  shadow?: ToolOutput;
  idGroups?: ToolOutput;
  groups?: ToolOutput;
  byUid?: ToolOutput;
  homeParentExists?: boolean;
  localTools?: boolean;
}

/** The group names/GIDs read must look up. */
function groupKeys(p: Params, exists: boolean): string[] {
  const keys = [...(p.group !== undefined ? [p.group] : exists ? [] : [p.name]), ...(p.groups ?? [])];
  return [...new Set(keys)];
}

/** The facts from the outputs of getent passwd/shadow/group, id -Gn and the directory test. */
export function userFactsFrom(p: Params, o: UserOutputs): UserFacts {
  const user = parsePasswdEntry(o.passwd, p.name);
  // read looks up the user's own name as a group too; it applies only to a creation without group
  const wanted = new Set(groupKeys(p, user !== null));
  const groups = parseGroupEntries(o.groups?.stdout ?? '').filter((g) => wanted.has(g.name) || wanted.has(String(g.gid)));
  const words = o.idGroups && o.idGroups.exitCode === 0 ? o.idGroups.stdout.trim().split(/\s+/).filter(Boolean) : undefined;
  const uidOwner = o.byUid && p.uid !== undefined ? idOwner(o.byUid, p.uid) : undefined;
  return {
    user,
    ...(o.shadow ? { shadow: parseShadowEntry(o.shadow, p.name) } : {}),
    // id -Gn prints the primary group first
    ...(words ? { memberOf: words.slice(1) } : {}),
    groups,
    ...(uidOwner !== undefined ? { uidOwner } : {}),
    ...(o.homeParentExists !== undefined ? { homeParentExists: o.homeParentExists } : {}),
    ...(o.localTools !== undefined ? { localTools: o.localTools } : {}),
  };
}

/** Reads the account, its shadow entry, groups and the groups named in one round trip (I/O only). */
async function readUser(ctx: TaskContext, p: Params): Promise<UserFacts> {
  const present = p.state !== 'absent';
  // Everything that may matter is read at once; userFactsFrom keeps what applies once it knows whether the user exists.
  const keys = groupKeys(p, false);
  const o = await runBatch(ctx, {
    passwd: getentCommand('passwd', p.name, p.local),
    localTools: p.local ? sh`command -v luseradd` : undefined,
    shadow: present && (p.password !== undefined || p.expires !== undefined) ? getentCommand('shadow', p.name, p.local) : undefined,
    idGroups: present && p.groups !== undefined ? sh`id -Gn -- ${p.name}` : undefined,
    groups: present && keys.length ? sh`getent ${p.local ? ['-s', 'files'] : []} group -- ${keys}` : undefined,
    byUid: present && p.uid !== undefined ? getentCommand('passwd', String(p.uid), p.local) : undefined,
    homeParent: present && p.create_home && p.home !== undefined ? sh`test -d ${posix.dirname(p.home)}` : undefined,
  });
  const exists = o.passwd!.exitCode === 0;
  return userFactsFrom(p, {
    passwd: o.passwd!,
    ...(o.localTools ? { localTools: o.localTools.exitCode === 0 } : {}),
    ...(exists && o.shadow ? { shadow: o.shadow } : {}),
    ...(exists && o.idGroups ? { idGroups: o.idGroups } : {}),
    ...(o.groups ? { groups: o.groups } : {}),
    ...(o.byUid ? { byUid: o.byUid } : {}),
    ...(!exists && o.homeParent ? { homeParentExists: o.homeParent.exitCode === 0 } : {}),
  });
}

/** The date useradd -e takes for `expires` (seconds since the epoch), or '' for never. */
function expiryDate(expires: number): string {
  return expires < 0 ? '' : new Date(Math.floor(expires) * 1000).toISOString().slice(0, 10);
}

/** The group entry `ref` (a name or a GID) names, among those read. */
function findGroup(groups: GroupEntry[], ref: string): GroupEntry | undefined {
  return groups.find((g) => g.name === ref) ?? (/^\d+$/.test(ref) ? groups.find((g) => g.gid === Number(ref)) : undefined);
}

/** What Ansible registers for a present user: the passwd fields and what the task gave. */
export function userResult(p: Params, u: PasswdEntry | null, created?: boolean): Record<string, unknown> {
  const r: Record<string, unknown> = { name: p.name, state: p.state };
  if (p.state === 'absent') return u ? r : { ...r, force: p.force, remove: p.remove };
  if (created === true) Object.assign(r, { system: p.system, create_home: p.create_home });
  if (created === false) Object.assign(r, { append: p.append, move_home: p.move_home });
  if (p.password !== undefined) r.password = 'NOT_LOGGING_PASSWORD';
  if (u) Object.assign(r, { uid: u.uid, group: u.gid, comment: u.comment, home: u.home, shell: u.shell });
  if (u && p.groups !== undefined) r.groups = p.groups.join(',');
  return r;
}

/** Decides useradd / usermod / userdel (pure). */
export function decideUser(p: Params, f: UserFacts): Verdict {
  if (p.local && f.localTools === false) return { refused: "local: true needs luseradd (libuser), which is not on the host's PATH" };
  const u = f.user;
  if (p.state === 'absent') {
    if (!u) return { changed: false, reason: `user ${p.name} does not exist`, data: { name: p.name, state: p.state } };
    const opts = [...(p.force ? ['-f'] : []), ...(p.remove ? ['-r'] : [])];
    return { changed: true, steps: [{ title: `remove user ${p.name}${p.remove ? ' and its home' : ''}`, cmd: sh`${['userdel', ...opts, '--', p.name]}` }], data: userResult(p, null) };
  }
  if (p.uid !== undefined && f.uidOwner !== undefined && f.uidOwner !== p.name && !p.non_unique) {
    return { refused: `UID '${p.uid}' already exists with user '${f.uidOwner}' (give another uid, or non_unique: true)` };
  }
  const missing = [...(p.group !== undefined ? [p.group] : []), ...(p.groups ?? [])].filter((g) => !findGroup(f.groups, g));
  if (missing.length) return { refused: `Group ${missing.join(', ')} does not exist` };
  const primary = p.group !== undefined ? findGroup(f.groups, p.group)! : undefined;
  const pass = p.password !== undefined ? ['-p', secret(p.password)] : [];
  if (!u) return createUser(p, f, primary, pass);
  const args: (string | number | ReturnType<typeof secret>)[] = [];
  const changed: string[] = [];
  const before: string[] = [];
  const after: string[] = [];
  const field = (what: string, was: string | number, now: string | number, opts: (string | number)[]) => {
    changed.push(what);
    before.push(`${what}: ${was}\n`);
    after.push(`${what}: ${now}\n`);
    args.push(...opts);
  };
  if (p.uid !== undefined && u.uid !== p.uid) field('uid', u.uid, p.uid, ['-u', p.uid, ...(p.non_unique ? ['-o'] : [])]);
  if (primary && u.gid !== primary.gid) field('group', u.gid, primary.gid, ['-g', primary.gid]);
  if (p.groups !== undefined) {
    const have = f.memberOf ?? [];
    const want = p.groups.map((g) => findGroup(f.groups, g)!.name);
    const lacking = want.filter((g) => !have.includes(g));
    const extra = have.filter((g) => !want.includes(g));
    if (p.append ? lacking.length > 0 : lacking.length + extra.length > 0) {
      field('groups', have.join(','), (p.append ? [...have, ...lacking] : want).join(','), [...(p.append ? ['-a'] : []), '-G', p.groups.join(',')]);
    }
  }
  if (p.comment !== undefined && u.comment !== p.comment) field('comment', u.comment, p.comment, ['-c', p.comment]);
  if (p.home !== undefined && u.home !== p.home) field('home', u.home, p.home, ['-d', p.home, ...(p.move_home ? ['-m'] : [])]);
  if (p.shell !== undefined && u.shell !== p.shell) field('shell', u.shell, p.shell, ['-s', p.shell]);
  if (p.expires !== undefined) {
    const have = f.shadow?.expireDays;
    const want = expiryDate(p.expires);
    const haveDate = have === undefined || have < 0 ? '' : new Date(have * 86_400_000).toISOString().slice(0, 10);
    if (haveDate !== want) field('expires', haveDate || 'never', want || 'never', ['-e', want]);
  }
  if (p.update_password === 'always' && p.password !== undefined && (f.shadow?.hash ?? '').replace(/^!/, '') !== p.password.replace(/^!/, '')) {
    // the hash never goes into a title or a diff
    changed.push('password');
    before.push('password: (hidden)\n');
    after.push('password: (changed, hidden)\n');
    args.push(...pass);
  }
  const data = userResult(p, u, false);
  if (!changed.length) return { changed: false, reason: `user ${p.name} exists as asked (uid ${u.uid}, group ${u.gid}, home ${u.home}, shell ${u.shell})`, data };
  const diff: Diff[] = [{ path: `user ${p.name}`, before: before.join(''), after: after.join('') }];
  return { changed: true, steps: [{ title: `change user ${p.name}: ${changed.join(', ')}`, cmd: sh`usermod ${args} -- ${p.name}` }], diff, data };
}

/** The useradd step (and the home's missing parents), as Ansible's create_user builds it. */
function createUser(p: Params, f: UserFacts, primary: GroupEntry | undefined, pass: (string | ReturnType<typeof secret>)[]): Verdict {
  const args: (string | number | ReturnType<typeof secret>)[] = [];
  if (p.uid !== undefined) args.push('-u', p.uid, ...(p.non_unique ? ['-o'] : []));
  // A group named as the user exists already: -N, or useradd (USERGROUPS_ENAB) fails making it.
  if (primary) args.push('-g', primary.name);
  else if (findGroup(f.groups, p.name)) args.push('-N');
  if (p.groups?.length) args.push('-G', p.groups.join(','));
  if (p.comment !== undefined) args.push('-c', p.comment);
  if (p.home !== undefined) args.push('-d', p.home);
  if (p.shell !== undefined) args.push('-s', p.shell);
  if (p.expires !== undefined) args.push('-e', expiryDate(p.expires));
  args.push(...pass);
  if (p.create_home) args.push('-m', ...(p.skeleton !== undefined ? ['-k', p.skeleton] : []));
  else args.push('-M');
  if (p.system) args.push('-r');
  const steps = [];
  if (p.home !== undefined && f.homeParentExists === false) steps.push({ title: `make ${posix.dirname(p.home)} (the new home's parent)`, cmd: sh`mkdir -p -- ${posix.dirname(p.home)}` });
  steps.push({ title: `add ${p.system ? 'system user' : 'user'} ${p.name}`, cmd: sh`useradd ${args} -- ${p.name}` });
  return { changed: true, steps, data: { name: p.name, state: p.state } };
}

/** The user module. */
export const userModule = defineModule({
  name: 'user',
  params,
  doc: {
    summary: 'Add, change or remove a user account (useradd, usermod, userdel)',
    description:
      "As Ansible's user module on Linux. Facts: `getent passwd NAME` (local: `getent -s files`), `getent shadow NAME` (password, " +
      'expires), `id -Gn NAME` (the supplementary groups: all but the first, the primary), `getent group` for the groups named ' +
      '(a missing one is refused before anything runs, as is a UID another user has unless non_unique). An existing user is ' +
      'compared field by field and changed with one usermod; uid, group, groups, comment, home, shell, expires and (update_password: ' +
      'always) the password hash are compared. system, create_home and skeleton only matter on creation. The password is passed as a ' +
      'secret: `--check -v`, events and --diff show ******** or (hidden), and the result says NOT_LOGGING_PASSWORD. Not done: ' +
      'recreating a missing home of an existing user, ssh keys, password_lock, password_expire_*.',
    checkMode: 'full',
    result: {
      name: 'the user name',
      state: 'present or absent',
      uid: 'its UID (present)',
      group: 'its primary GID (present)',
      groups: "the groups asked for, joined with ',' (when given)",
      comment: 'the GECOS field',
      home: 'the home directory',
      shell: 'the login shell',
      system: 'on creation: the system parameter',
      create_home: 'on creation: the create_home parameter',
      append: 'on change: the append parameter',
      move_home: 'on change: the move_home parameter',
      force: 'on removal: the force parameter',
      remove: 'on removal: the remove parameter',
      password: "'NOT_LOGGING_PASSWORD' when a password was given",
    },
    example: [
      '- user:',
      '    name: deploy',
      '    uid: 1500',
      '    groups: [sudo, adm]',
      '    append: true',
      '    shell: /bin/bash',
      '    password: "{{ deploy_password_hash }}"',
      '',
      '- user: { name: olduser, state: absent, remove: true }',
    ].join('\n'),
  },
  read: readUser,
  decide: decideUser,
  async result(ctx, p, ran: StepRun[]) {
    const u = parsePasswdEntry(await getent(ctx, 'passwd', p.name, p.local), p.name);
    return userResult(p, u, p.state === 'present' ? ran.some((r) => r.step.cmd?.display.startsWith('useradd ')) : undefined);
  },
});
