import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerLogPath, formatCriLogLine, nanosToDate, normalizeImageName, parseCriLogLine, podLogDirectory } from './runtime.ts';

describe('runtime conventions', () => {
  it('normalizes image names as docker does', () => {
    assert.equal(normalizeImageName('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeImageName('busybox:1.36'), 'docker.io/library/busybox:1.36');
    assert.equal(normalizeImageName('me/app:2'), 'docker.io/me/app:2');
    assert.equal(normalizeImageName('localhost/app'), 'localhost/app:latest');
    assert.equal(normalizeImageName('127.0.0.1:5000/team/app'), '127.0.0.1:5000/team/app:latest');
    assert.equal(normalizeImageName('registry.k8s.io/pause:3.10'), 'registry.k8s.io/pause:3.10');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(normalizeImageName(`nginx@${digest}`), `docker.io/library/nginx@${digest}`);
  });

  it('lays out pod and container logs as upstream does', () => {
    assert.equal(podLogDirectory('/var/log/pods', 'default', 'web-1', 'u-1'), '/var/log/pods/default_web-1_u-1');
    assert.equal(containerLogPath('nginx', 2), 'nginx/2.log');
  });

  it('reads and writes CRI log lines', () => {
    assert.deepEqual(parseCriLogLine('2026-01-02T03:04:05.123456789Z stderr P half a line'), {
      time: '2026-01-02T03:04:05.123456789Z', stream: 'stderr', partial: true, text: 'half a line',
    });
    assert.deepEqual(parseCriLogLine('2026-01-02T03:04:05Z stdout F '), { time: '2026-01-02T03:04:05Z', stream: 'stdout', partial: false, text: '' });
    assert.equal(parseCriLogLine('garbage'), null);
    const line = formatCriLogLine(new Date('2026-01-02T03:04:05.123Z'), 'stdout', 'hello');
    assert.equal(line, '2026-01-02T03:04:05.123000000Z stdout F hello\n');
    assert.equal(parseCriLogLine(line.trimEnd())?.text, 'hello');
  });

  it('turns CRI nanosecond timestamps into dates', () => {
    assert.equal(nanosToDate('1795307065204204146').toISOString(), '2026-11-22T00:24:25.204Z');
  });
});
