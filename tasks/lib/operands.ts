// The rules a parameter must meet before it may stand as an operand on a command line: a value
// that starts with '-' is read as an option by most tools (`mv -f TMP --help`, `lvrename vg1 old
// --test`), and some tools read more into an operand than a name (rsync: `host:path`). Each rule
// returns why a value breaks it, or undefined; tasks/lib/schema.ts turns them into zod fields, so
// a literal value is refused at load time and a templated one, with the same message, once rendered.

/** Why `value` would be read as an option: it starts with '-'. */
export function optionLikeProblem(value: string): string | undefined {
  return value.startsWith('-') ? `'${value}' starts with '-', so the command would read it as an option` : undefined;
}

/** Why `path` is not an absolute path (a device, an image file, a mount point). */
export function absolutePathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return path.startsWith('/') ? undefined : `'${path}' is not an absolute path (it must start with /)`;
}

// lvm(8), VALID NAMES: the characters, no leading hyphen, not . or .., and the names and parts
// of names lvm keeps for its own volumes. NAME_LEN is 128 in lvm2 with the terminating NUL.
const LVM_CHARS = /^[A-Za-z0-9+_.-]+$/;
const LVM_MAX = 127;
const LV_RESERVED_NAMES = ['snapshot', 'pvmove'];
const LV_RESERVED_PARTS = ['_cdata', '_cmeta', '_corig', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig'];

function lvmNameProblem(name: string, what: string): string | undefined {
  const bad = `'${name}' is not a valid LVM ${what} name`;
  if (name === '') return `${bad}: it is empty`;
  if (name.startsWith('-')) return `${bad}: it must not start with '-' (lvm would read it as an option)`;
  if (!LVM_CHARS.test(name)) return `${bad}: lvm allows only letters, digits and + _ . - (lvm(8), VALID NAMES)`;
  if (name === '.' || name === '..') return `${bad}: . and .. are not allowed`;
  if (name.length > LVM_MAX) return `${bad}: it is longer than ${LVM_MAX} characters`;
  return undefined;
}

/** Why `name` is not a valid LVM volume group name (lvm(8), VALID NAMES). */
export function vgNameProblem(name: string): string | undefined {
  return lvmNameProblem(name, 'volume group');
}

/** Why `name` is not a valid LVM logical volume name (lvm(8), VALID NAMES, with lvm's reserved names). */
export function lvNameProblem(name: string): string | undefined {
  const p = lvmNameProblem(name, 'logical volume');
  if (p) return p;
  if (LV_RESERVED_NAMES.includes(name)) return `'${name}' is not a valid LVM logical volume name: lvm reserves it`;
  const part = LV_RESERVED_PARTS.find((r) => name.includes(r));
  if (part) return `'${name}' is not a valid LVM logical volume name: lvm reserves names containing ${part} for its internal volumes`;
  return undefined;
}

/**
 * Why rsync would not read `path` as a path on the host it runs on: a leading '-' makes it an
 * option; a ':' before the first '/' makes it a remote spec (`host:path`, `host::module`,
 * `rsync://host/`, `[::1]:path`), for which rsync would start a remote shell or open a socket.
 */
export function rsyncPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain a NUL byte';
  if (path.startsWith('-')) return `'${path}' starts with '-', so rsync would read it as an option; write ./${path} for a relative path`;
  const slash = path.indexOf('/');
  const colon = path.indexOf(':');
  if (colon >= 0 && (slash < 0 || colon < slash)) {
    return (
      `'${path}' has a ':' before its first '/', so rsync would read it as a remote host (host:path); ` +
      'write ./ before a relative path, and name another inventory host with src_host/dest_host'
    );
  }
  return undefined;
}

// shadow-utils (useradd(8), groupadd(8), CAVEATS): names are at most 32 characters; ':' and ','
// separate fields and members in /etc/passwd and /etc/group; a name of digits only reads as an id.
const ACCOUNT_NAME_MAX = 32;

/** Why `name` cannot be a user or group name that useradd/groupadd take as one operand. */
export function accountNameProblem(name: string): string | undefined {
  const bad = `'${name}' is not a valid user or group name`;
  if (name === '') return `${bad}: it is empty`;
  if (name.startsWith('-')) return `${bad}: it must not start with '-' (useradd and groupadd would read it as an option)`;
  if (/[:,/\s\p{Cc}]/u.test(name)) return `${bad}: it must not contain ':', ',', '/', white space or control characters (they separate fields in /etc/passwd and /etc/group)`;
  if (/^\d+$/.test(name)) return `${bad}: a name of digits only would be read as a numeric id`;
  if (name === '.' || name === '..') return `${bad}: . and .. are not allowed`;
  if (name.length > ACCOUNT_NAME_MAX) return `${bad}: it is longer than ${ACCOUNT_NAME_MAX} characters`;
  return undefined;
}
