// Stopping a command on an exec channel when the connection that started it is gone (the controller
// SIGKILLed, the network cut): sshd does not signal a session without a terminal when its client
// goes, so a resumed run would meet the old command still at work. The persistent shell has its own
// watcher (SHELL_WATCHER). Exec channels share one watcher per connection: each command's shell
// writes its pid and start time into the connection's list with shell builtins alone (no process
// forked before the command starts), and the watcher, waiting in GNU `tail --pid` on the
// connection's sshd, stops the process groups of the listed commands that still run once it is gone.

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
 * The text of the exec that starts a connection's watcher (forked twice, so that it outlives the
 * exec). Once the session's sshd ($PPID) is gone it sends TERM, then KILL 2 s later, to each listed
 * process group whose leader still runs with the start time it wrote (not another process that got
 * its pid), then removes the folder. Without /proc, or when the folder exists already (another
 * user's), it starts nothing. Where tail has no --pid it polls /proc each second, as SHELL_WATCHER does.
 */
export function connectionWatcherCommand(token: string): string {
  const watch = [
    `f="$d/list"`,
    `st() { ${START_TIME}; }`,
    // $n: whether a group was signalled (a `while` read from a file runs in this shell)
    `k() { n=0; while read -r p t0; do st "$p" && [ "$t" = "$t0" ] && kill -"$1" -"$p" && n=1; done <"$f"; }`,
    `tail --pid="$pp" -f /dev/null 2>/dev/null || while [ -d "/proc/$pp" ]; do sleep 1; done`,
    `if [ -f "$f" ]; then k TERM; [ "$n" = 0 ] || { sleep 2; k KILL; }; fi`,
    `rm -rf "$d"`,
  ].join('\n');
  return `d=${listFolder(token)}; if [ -d "/proc/$PPID" ] && mkdir -m 700 "$d" 2>/dev/null; then (pp=$PPID; (${watch}\n) </dev/null >/dev/null 2>&1 &); fi`;
}

/**
 * `text` as an exec channel runs it, written first into the connection's list (see
 * connectionWatcherCommand). Builtins only, on the command's first line (its line numbers stay);
 * it leaves no variable, no positional parameter (an exec's shell has none) and $? at 0. Without
 * the connection's folder (no watcher: no /proc) it does nothing.
 */
export function listedCommand(token: string, text: string): string {
  return (
    `if [ -O ${listFolder(token)} ] && [ ! -h ${listFolder(token)} ] && read -r __ferry_t <"/proc/$$/stat"; then ` +
    `set -- \${__ferry_t##*) }; { echo "$$ \${20}" >>${listFolder(token)}/list; } 2>/dev/null; set --; fi; unset __ferry_t; ${text}`
  );
}

/**
 * Shell text that forks a watcher for one command (twice, so that a `wait` of the command never
 * waits for it), for the shell running it ($$) and process `pp` (shell text): it waits in GNU
 * `tail --pid` on both, and runs `act` once `pp` is gone while the shell still runs with its start
 * time. Where tail has no --pid both tails fail at once and nothing happens. It sets no variable of
 * the shell and leaves $? at 0 and $! as they were. Used on the become side, where the login user's
 * watcher may not signal the command.
 */
export function startWatcher(pp: string, act: string): string {
  const watch =
    `st() { ${START_TIME}; }; st "$s" || exit 0; t0=$t; ` +
    `tail --pid="$pp" -f /dev/null & a=$!; { tail --pid="$s" -f /dev/null; kill "$a"; } & wait "$a"; ` +
    `[ ! -d "/proc/$pp" ] && st "$s" && [ "$t" = "$t0" ] || exit 0; ${act}`;
  return `if [ -d "/proc/${pp}" ]; then (s=$$ pp=${pp}; (${watch}) </dev/null >/dev/null 2>&1 &); fi; `;
}
