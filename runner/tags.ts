// Tag selection (--tags, --skip-tags) as Ansible decides it: the engine asks it for each task,
// `--list-tasks` for each listed one.

/** Whether a task with these (inherited) tags runs under --tags `only` and --skip-tags `skip`, as Ansible decides. */
export function selectedByTags(tags: string[], only: string[], skip: string[]): boolean {
  const set = new Set(tags);
  if (skip.some((t) => set.has(t) || (t === 'all' && !set.has('always')))) return false;
  if (set.has('never') && !only.some((t) => set.has(t))) return false;
  if (only.length === 0 || only.includes('all')) return true;
  if (set.has('always')) return true;
  if (only.includes('tagged') && set.size > 0) return true;
  if (only.includes('untagged') && set.size === 0) return true;
  return only.some((t) => set.has(t));
}
