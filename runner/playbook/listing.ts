// --list-hosts, --list-tasks, --list-tags: what a run would touch, printed as ansible-playbook
// prints it, from the loaded playbook and inventory alone (no host is contacted).
import { selectedByTags } from '../tags.js';
import { loadedTasks, taskDisplayName, type Node, type Play, type Playbook } from './model.js';

/** What to list; several may be asked at once, as with ansible-playbook. */
export interface ListingOptions {
  hosts?: boolean;
  tasks?: boolean;
  tags?: boolean;
  onlyTags?: string[];
  skipTags?: string[];
}

/** One task as listed: its name (the module when it has none) and its tags, inherited ones included. */
interface ListedTask {
  name: string;
  tags: string[];
}

/** The tasks of a node list that the tag selection keeps, in order (blocks, imports and roles flattened). */
function listTasks(nodes: Node[], inherited: string[], o: ListingOptions): ListedTask[] {
  const out: ListedTask[] = [];
  for (const e of loadedTasks(nodes, inherited)) {
    if (!selectedByTags(e.tags, o.onlyTags ?? [], o.skipTags ?? [])) continue;
    const n = e.node;
    const name = n.kind === 'task' ? taskDisplayName(n) : (n.name ?? (n.kind === 'role' ? `include_role: ${n.role}` : `include_tasks: ${n.file}`));
    out.push({ name, tags: e.tags });
  }
  return out;
}

const sortedUnique = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** The text ansible-playbook prints for --list-hosts / --list-tasks / --list-tags (and, with none, --syntax-check). */
export function formatListing(pb: Playbook, hostsOf: (play: Play) => string[], o: ListingOptions, shownPath = pb.file): string {
  const out: string[] = [`\nplaybook: ${shownPath}`];
  if (!o.hosts && !o.tasks && !o.tags) return out.join('\n') + '\n';
  pb.plays.forEach((play: Play, i) => {
    const playTags = sortedUnique(play.tags);
    let msg = `\n  play #${i + 1} (${play.hosts}): ${play.name}\tTAGS: [${playTags.join(',')}]`;
    if (o.hosts) {
      const hosts = hostsOf(play);
      msg += `\n    pattern: ['${play.hosts}']\n    hosts (${hosts.length}):`;
      for (const h of hosts) msg += `\n      ${h}`;
    }
    out.push(msg);
    if (!o.tasks && !o.tags) return;
    const tasks = listTasks(play.tasks, play.tags, o);
    let taskMsg = o.tasks ? '    tasks:\n' : '';
    if (o.tasks) for (const t of tasks) taskMsg += `      ${t.name}\tTAGS: [${sortedUnique(t.tags).join(', ')}]\n`;
    if (o.tags) taskMsg += `      TASK TAGS: [${sortedUnique([...play.tags, ...tasks.flatMap((t) => t.tags)]).join(', ')}]\n`;
    out.push(taskMsg);
  });
  return out.join('\n') + '\n';
}
