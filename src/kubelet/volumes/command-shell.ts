// Running short commands (mount, umount) through one long-lived /bin/sh child instead of a fork of
// the agent per command. Node forks a child by copying the page tables of its whole process: for an
// agent of ~100-160 MiB that held the event loop ~6-12 ms per mount(8) (17% of the agent's busy
// time while bursts of pods started and stopped, bench/kubelet.ts --cpu-prof), and every pod has at
// least one tmpfs to mount and unmount. The shell is small: its forks are cheap and happen off the
// agent's event loop.
//
// Contract: commands run one at a time in the order given, with the agent's environment, stdin
// empty, stdout and stderr together as the output (newlines folded to spaces). Arguments carry no
// newline (refused). If the shell dies, the commands waiting on it fail and the next command starts
// a new shell. The shell ends by itself when the agent does (its stdin closes).
import { spawn, type ChildProcess } from 'node:child_process';

export interface CommandResult {
  /** The exit status (127: not found). */
  code: number;
  output: string;
}

// Per command: a line with the number of arguments, then each argument on a line. Answer: one line,
// "<status> <output>".
const SCRIPT = `
while IFS= read -r n; do
  set --
  while [ "$n" -gt 0 ]; do IFS= read -r a; set -- "$@" "$a"; n=$((n - 1)); done
  out=$("$@" 2>&1 </dev/null); rc=$?
  case $out in *"
"*) out=$(printf '%s' "$out" | tr '\\n' ' ') ;; esac
  printf '%s %s\\n' "$rc" "$out"
done
`;

interface Shell {
  child: ChildProcess;
  waiting: { resolve: (r: CommandResult) => void; reject: (e: Error) => void }[];
  buffered: string;
}

type Refable = { ref?: () => void; unref?: () => void };

export class CommandShell {
  #shell?: Shell;

  /** Runs argv[0] with the rest as its arguments; resolves with its status and output (a failing status is no rejection). */
  run(argv: string[]): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new Error('no command'));
    for (const a of argv) if (a.includes('\n') || a.includes('\0')) return Promise.reject(new Error(`argument ${JSON.stringify(a)} holds a newline or NUL`));
    const sh = this.#start();
    return new Promise((resolve, reject) => {
      // While commands wait, the shell's output holds the process up (an idle shell does not).
      if (sh.waiting.length === 0) (sh.child.stdout as unknown as Refable).ref?.();
      sh.waiting.push({ resolve, reject });
      sh.child.stdin!.write(`${argv.length}\n${argv.join('\n')}\n`);
    });
  }

  /** Ends the shell once the commands given have run. */
  close(): void {
    this.#shell?.child.stdin?.end();
    this.#shell = undefined;
  }

  #start(): Shell {
    if (this.#shell) return this.#shell;
    const child = spawn('/bin/sh', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const sh: Shell = { child, waiting: [], buffered: '' };
    this.#shell = sh;
    child.unref();
    (child.stdin as unknown as Refable).unref?.();
    (child.stdout as unknown as Refable).unref?.();
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      sh.buffered += chunk;
      for (let nl = sh.buffered.indexOf('\n'); nl >= 0; nl = sh.buffered.indexOf('\n')) {
        const line = sh.buffered.slice(0, nl);
        sh.buffered = sh.buffered.slice(nl + 1);
        const sp = line.indexOf(' ');
        const code = Number(sp < 0 ? line : line.slice(0, sp));
        sh.waiting.shift()?.resolve({ code: Number.isInteger(code) ? code : 1, output: sp < 0 ? '' : line.slice(sp + 1) });
      }
      if (sh.waiting.length === 0) (child.stdout as unknown as Refable).unref?.();
    });
    const fail = (why: string) => {
      if (this.#shell === sh) this.#shell = undefined;
      const waiting = sh.waiting;
      sh.waiting = [];
      for (const w of waiting) w.reject(new Error(why));
    };
    child.on('error', (e) => fail(`command shell: ${e.message}`));
    child.on('exit', (code, signal) => fail(`command shell exited (${signal ?? code})`));
    return sh;
  }
}
