// Stopping a command on an exec channel when the connection that started it is gone (the controller
// SIGKILLed, the network cut): sshd does not signal a session without a terminal when its client
// goes, so a resumed run would meet the old command still at work. The persistent shell has its own
// watcher (SHELL_WATCHER). Exec channels share one watcher per connection: each command's shell
// writes its pid and start time into the connection's list with shell builtins alone (no process
// forked before the command starts), and the watcher, waiting in GNU `tail --pid` on the
// connection's sshd, stops the process groups of the listed commands that still run once it is gone.
// sudo commands are listed the same way on the become side (listedBecomeCommand), for one watcher
// per connection and become user that their first command starts.

/**
 * The connection's folder, holding its list: in the host's temporary folder, named by a random
 * token, made (mode 700) by the exec that starts the watcher. A command writes into it only when
 * it is a folder of its own user and not a link, so that another user who read the token in `ps`
 * cannot make it write elsewhere.
 */
function listFolder(token: string): string {
  return `"\${TMPDIR:-/tmp}/.ferry-exec-${token}"`;
}

/**
 * Shell text that reads field 22 of /proc/$1/stat (the process's start time) into $t, failing when
 * there is none; what follows the command name's ")" is split, so that a name holding spaces does
 * not shift the fields. Every watcher (this file's and the persistent shell's) tells a process from
 * a later one with the same pid by it.
 */
export const START_TIME = `read -r t <"/proc/$1/stat" 2>/dev/null && set -- \${t##*) } && t=\${20}`;

/**
 * The script of a connection's watcher, given $pp (the session's sshd) and $d (the folder): once
 * $pp is gone it runs `stop` on the list, where `k SIG [-]` sends SIG to each listed process (with
 * `-`: its process group) whose pid still runs with the start time it wrote (not another process
 * that got its pid), setting $n when one was signalled; then it removes the folder. Where tail has
 * no --pid it polls /proc each second, as SHELL_WATCHER does.
 */
function watcherScript(stop: string): string {
  return [
    `f="$d/list"`,
    `st() { ${START_TIME}; }`,
    // (a `while` read from a file runs in this shell, so $n stays set)
    `k() { n=0; while read -r p t0; do st "$p" && [ "$t" = "$t0" ] && kill -"$1" $2"$p" && n=1; done <"$f"; }`,
    `tail --pid="$pp" -f /dev/null 2>/dev/null || while [ -d "/proc/$pp" ]; do sleep 1; done`,
    `if [ -f "$f" ]; then ${stop}; fi`,
    `rm -rf "$d"`,
  ].join('\n');
}

/**
 * The text of the exec that starts a connection's watcher (forked twice, so that it outlives the
 * exec). Once the session's sshd ($PPID) is gone it sends TERM, then KILL 2 s later, to each listed
 * process group still running. Without /proc, or when the folder exists already (another user's),
 * it starts nothing. It prints the login shell ($SHELL) first, for the transport (login-shell.ts).
 */
export function connectionWatcherCommand(token: string): string {
  const watch = watcherScript(`k TERM -; [ "$n" = 0 ] || { sleep 2; k KILL -; }`);
  return `printf '%s\\n' "$SHELL"; d=${listFolder(token)}; if [ -d "/proc/$PPID" ] && mkdir -m 700 "$d" 2>/dev/null; then (pp=$PPID; (${watch}\n) </dev/null >/dev/null 2>&1 &); fi`;
}

/**
 * `text` as an exec channel runs it, written first into the connection's list (see
 * connectionWatcherCommand). Builtins only, on the command's first line (its line numbers stay);
 * it leaves no variable, no positional parameter (an exec's shell has none) and $? at 0. Without
 * the connection's folder (no watcher: no /proc) it does nothing.
 */
export function listedCommand(token: string, text: string): string {
  return `${listSelf(listFolder(token), `${listFolder(token)}/list`)}unset __ferry_t; ${text}`;
}

/**
 * Shell text (builtins alone) that appends this shell's pid and start time to `list`, the list in
 * `dir` (both shell text, quoted), when `dir` is a folder of this user's own, not a link; else it
 * does nothing. It uses __ferry_t and clears the positional parameters.
 */
function listSelf(dir: string, list: string): string {
  return (
    `if [ -O ${dir} ] && [ ! -h ${dir} ] && read -r __ferry_t <"/proc/$$/stat"; then ` +
    `set -- \${__ferry_t##*) }; { echo "$$ \${20}" >>${list}; } 2>/dev/null; set --; fi; `
  );
}

/**
 * Shell text, run by the supervising shell of a sudo command (become.ts) as the become user (who
 * alone may signal the command; the login user's watcher may not), that lists that shell for the
 * watcher of its connection and become user, starting that watcher when it is the first: one
 * watcher per connection and become user, as on the exec side, rather than one forked per
 * command. `pp` (shell text) is the session's sshd; the folder is named by it and by `token`
 * (random per transport and become user). Once `pp` is gone the watcher HUPs each listed shell that
 * still runs, whose trap then stops its command. The watcher runs in a session of its own (setsid),
 * so that a supervising shell stopping its own process group does not stop it. Only the first
 * command forks (mkdir, the watcher); the others use builtins alone. It leaves $? at 0 and $! as it
 * was and sets no variable; it clears the positional parameters (the supervising shell's, unused
 * after). Without /proc, or when the folder is not the become user's own, nothing is listed.
 */
export function listedBecomeCommand(token: string, pp: string): string {
  const watch = `exec >/dev/null; pp=$1 d=$2\n${watcherScript('k HUP')}`;
  // read until the watcher lets go of the pipe, which it does only once setsid made it a session of
  // its own: a stop of this command (its trap kills its process group) must not stop the watcher
  const start = `mkdir -m 700 "$__ferry_d" 2>/dev/null && __ferry_t=$( (setsid sh -c '${watch}' sh "${pp}" "$__ferry_d" </dev/null 2>/dev/null &) )`;
  return (
    `__ferry_d="\${TMPDIR:-/tmp}/.ferry-become-${token}-${pp}"; ` +
    `if [ -d "/proc/${pp}" ]; then [ -e "$__ferry_d" ] || { ${start}; }; ` +
    `${listSelf('"$__ferry_d"', '"$__ferry_d/list"')}fi; unset __ferry_d __ferry_t; `
  );
}
