// Ansible's boolean() (module_utils.parsing.convert_bool): the one rule for a yes/no given as text,
// in inventories (ansible_become), ansible.cfg and module parameters.

const TRUE = new Set(['yes', 'y', 'true', 't', 'on', '1', '1.0']);
const FALSE = new Set(['no', 'n', 'false', 'f', 'off', '0', '0.0']);

/** yes/no, true/false, on/off, y/n, t/f, 1/0 in any case (a boolean as it is); undefined for anything else. */
export function ansibleBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  return TRUE.has(s) ? true : FALSE.has(s) ? false : undefined;
}
