// The command shell runs commands for the mounter without forking the agent per command: each
// command's status and output come back in order, arguments reach the command verbatim (never
// interpreted by the shell), and a shell that dies fails what waits on it and is replaced.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandShell } from './command-shell.ts';

describe('CommandShell', () => {
  it('answers each command with its exit status and its output, stdout and stderr together', async () => {
    const sh = new CommandShell();
    try {
      assert.deepEqual(await sh.run(['sh', '-c', 'echo out; echo err >&2; exit 3']), { code: 3, output: 'out err' });
      assert.deepEqual(await sh.run(['true']), { code: 0, output: '' });
      assert.equal((await sh.run(['rudder-no-such-command'])).code, 127);
    } finally {
      sh.close();
    }
  });

  it('passes arguments verbatim: quotes, globs, variables and spaces are not the shell\'s', async () => {
    const sh = new CommandShell();
    try {
      const odd = ['a b', '$HOME', '`id`', '"q"', "'s'", '*', '-n', ''];
      const r = await sh.run(['printf', '[%s]', ...odd]);
      assert.deepEqual(r, { code: 0, output: odd.map((a) => `[${a}]`).join('') });
    } finally {
      sh.close();
    }
  });

  it('keeps the answers of many commands given at once in their order', async () => {
    const sh = new CommandShell();
    try {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => sh.run(['echo', String(i)])));
      assert.deepEqual(rs.map((r) => r.output), Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      sh.close();
    }
  });

  it('refuses an argument with a newline (it would split the command)', async () => {
    const sh = new CommandShell();
    await assert.rejects(sh.run(['echo', 'a\nb']), /newline/);
    sh.close();
  });

  it('fails the commands waiting on a shell that dies, and runs the next one in a new shell', async () => {
    const sh = new CommandShell();
    try {
      const pid = Number((await sh.run(['sh', '-c', 'echo $PPID'])).output);
      assert.ok(pid > 0);
      const waiting = sh.run(['sleep', '3']);
      process.kill(pid, 'SIGKILL');
      await assert.rejects(waiting, /command shell exited/);
      assert.deepEqual(await sh.run(['echo', 'again']), { code: 0, output: 'again' });
    } finally {
      sh.close();
    }
  });
});
