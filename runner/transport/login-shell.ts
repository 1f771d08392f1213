// sshd runs an exec channel's text as `$SHELL -c TEXT` in the user's login shell, which may be no
// POSIX shell at all: csh and tcsh refuse a newline inside quotes and read `${X:-y}` as a modifier,
// fish reads `\\` and `\'` as escapes inside single quotes and has its own `if`. ferry's texts are
// POSIX sh, so each is sent as one line that every login shell passes on literally to /bin/sh:
// `exec /bin/sh -c 'exec /bin/sh -c "$(printf "ENCODED")"'`, where ENCODED holds the text's plain characters
// as they are and every other byte as a 3-digit octal escape, which sh's printf (a builtin in dash
// and bash) decodes. Inside those single quotes csh, tcsh, fish, bash, dash and zsh all keep a
// backslash followed by a digit literally, and no character they treat specially remains.
// `exec` keeps the pid: $$ and $PPID (the session's sshd) are what the exec watchers expect, and
// the text runs as `sh -c TEXT` (not eval'd), so that sh execs a last simple command (sudo) as it
// would unwrapped, and a signal on the channel reaches it.
// The wrap costs a process or two per command, so a transport drops it once it knows the login
// shell is a POSIX one (from $SHELL, which ferry's first exec on a connection reports): those keep
// running ferry's texts as before, as `$SHELL -c TEXT`.

/** Login shells that run ferry's sh texts as they are (zsh does not split unquoted words). */
const POSIX_LOGIN_SHELLS = ['sh', 'dash', 'bash', 'ash', 'ksh', 'ksh93', 'mksh', 'posh', 'yash'];

/** Whether a login shell (a path, as $SHELL holds it) runs ferry's sh texts unwrapped. */
export function isPosixLoginShell(path: string): boolean {
  return POSIX_LOGIN_SHELLS.includes(path.slice(path.lastIndexOf('/') + 1));
}

/** sh text that sets $ferry_sh to the shell that runs ferry's texts: the login shell ($SHELL) when it is a POSIX one, else /bin/sh. */
export const CHOOSE_SHELL = `case "\${SHELL##*/}" in ${POSIX_LOGIN_SHELLS.join('|')}) ferry_sh=$SHELL ;; *) ferry_sh=/bin/sh ;; esac`;

/** Bytes passed as they are: special neither to a login shell inside single quotes, nor to sh inside double quotes, nor to printf. */
const PLAIN = new Set(Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.,/:;=+@#&*()[]{}<>|?~-'));
const DASH = 0x2d;

/** Each byte value's printf format: the character itself when plain, else its 3-digit octal escape. */
const BYTE_FORMAT = Array.from({ length: 256 }, (_, b) => octal(b, PLAIN.has(b)));

function octal(b: number, plain: boolean): string {
  return plain ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0');
}

/** printf format text that prints `text` exactly (UTF-8 bytes; a leading `-` escaped, so it is not read as an option). */
export function printfFormat(text: string): string {
  // a table and one join: every host's first commands (the shell loop, the watcher: ~2 KB) come
  // through here, and a string built a byte at a time cost ~1 ms of CPU per host (bench/README.md)
  const bytes = Buffer.from(text, 'utf8');
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = BYTE_FORMAT[bytes[i]!]!;
  if (bytes[0] === DASH) parts[0] = octal(DASH, false);
  return parts.join('');
}

/**
 * The exec-channel text that runs POSIX sh `text` in /bin/sh whatever the login shell. The trailing
 * newlines `$(…)` drops mean nothing to sh, a here-document's last line included.
 */
export function throughPosixSh(text: string): string {
  return `exec /bin/sh -c 'exec /bin/sh -c "$(printf "${printfFormat(text)}")"'`;
}
