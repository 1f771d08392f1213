// Guest paths resolved on the host the way openat2(2) with RESOLVE_IN_ROOT resolves them: a guest
// is untrusted input, so its symlinks are read as text (readlink) and followed inside the root — an
// absolute target restarts at the root, `..` stops at it — and never by the host's kernel, which
// would follow `/etc/fstab -> /etc/shadow` onto the host's own file. No guest binary runs for it.
// The host has no openat2 tool, so this is POSIX sh built into the command: one round trip, and the
// directory reached is pinned with `cd -P` and checked with `pwd -P` before anything is read or
// written there, so a link swapped in after the check cannot redirect the operation.
import { Command, raw, sh } from '../command.js';

/** Guest directories no path may lead into: the host's own /dev, /proc, /sys and /run are bound there during chroot sessions. */
export const API_DIRS = ['/dev', '/proc', '/sys', '/run'] as const;

/** Exit status of a command that refused a guest path; the reason is on stderr after "ferry: ". */
export const GUEST_PATH_REFUSED = 45;

/** Symlinks followed in one path before it is refused (the kernel's limit, MAXSYMLINKS). */
const MAX_LINKS = 40;

const apiCase = API_DIRS.join('|');

/**
 * Shell functions: ferry_refuse MESSAGE (exit GUEST_PATH_REFUSED); ferry_resolve ROOT PATH FOLLOW
 * (sets ferry_path to PATH resolved inside ROOT, its last component followed when FOLLOW is 1;
 * ROOT is canonical, '' for /); ferry_cd GUESTDIR (cd into ROOT+GUESTDIR, refusing when the
 * directory reached is not that path; 1 when it does not exist).
 */
const FUNCTIONS = `
ferry_refuse() { printf 'ferry: %s\\n' "$*" >&2; exit ${GUEST_PATH_REFUSED}; }
ferry_resolve() {
  _rest=$2 _g= _n=0
  while [ -n "$_rest" ]; do
    case $_rest in /*) _rest=\${_rest#/}; continue ;; esac
    _c=\${_rest%%/*}
    case $_rest in */*) _rest=\${_rest#*/} ;; *) _rest= ;; esac
    case $_c in .) continue ;; ..) _g=\${_g%/*}; continue ;; esac
    case $_g/$_c in ${apiCase}) ferry_refuse "guest path $2 leads into $_g/$_c: the host's own $_g/$_c is bound there during chroot sessions, so ferry never reads or writes guest files through it" ;; esac
    if [ -L "$1$_g/$_c" ] && { [ -n "$_rest" ] || [ "$3" = 1 ]; }; then
      _n=$((_n + 1))
      [ "$_n" -le ${MAX_LINKS} ] || ferry_refuse "guest path $2: too many levels of symbolic links (a loop?)"
      _t=$(readlink -- "$1$_g/$_c") || ferry_refuse "guest path $2: cannot read the link $_g/$_c"
      case $_t in /*) _g= ;; esac
      _rest=$_t\${_rest:+/$_rest}
    else
      _g=$_g/$_c
    fi
  done
  ferry_path=\${_g:-/}
}
ferry_cd() {
  _want=$ferry_root$1
  [ -n "$_want" ] || _want=/
  [ -d "$_want" ] || return 1
  cd -P -- "$_want" && [ "$(pwd -P)" = "$_want" ] || ferry_refuse "$_want changed while ferry resolved it (a symbolic link appeared); not touching it"
}
`;

/**
 * The start of a host command that resolves guest `path` inside `root` (its last component followed
 * only when `followLast`) and sets $ferry_root (canonical root, '' for /), $ferry_path (the guest path
 * reached), $ferry_dir (its directory, '' for /) and $ferry_base (its last component, '' for /).
 * What comes after it calls `ferry_cd "$ferry_dir"` before touching "./$ferry_base".
 */
export function resolveInRoot(root: string, path: string, followLast: boolean): Command {
  const c = sh`${raw(FUNCTIONS)}
ferry_root=$(cd -P -- ${root} 2>/dev/null && pwd -P) || ferry_refuse ${`guest root ${root} is not a directory`}
[ "$ferry_root" != / ] || ferry_root=
ferry_resolve "$ferry_root" ${path} ${followLast ? 1 : 0}
ferry_dir=\${ferry_path%/*} ferry_base=\${ferry_path##*/}
`;
  // -v and error messages show what is done, not the resolver's shell functions
  return new Command(c.text, sh`: resolve ${path} inside ${root}; `.display, c.secrets);
}

/** The reason a guest path was refused, from the stderr of a command that exited GUEST_PATH_REFUSED. */
export function refusalReason(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('ferry: '));
  return line ? line.slice('ferry: '.length) : stderr.trim();
}
