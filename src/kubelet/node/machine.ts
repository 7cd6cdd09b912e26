// What the node is made of, read from the machine (upstream gets it from cAdvisor): CPUs, memory,
// the filesystem of the kubelet's root dir, the OS image, kernel, architecture, machine and boot
// IDs — and, for the pressure conditions, what is available now. Hollow nodes pass their own.
import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, arch, hostname, release, totalmem } from 'node:os';

export interface MachineInfo {
  hostname: string;
  cpus: number;
  memoryBytes: bigint;
  /** Capacity of the filesystem holding the kubelet's root dir. */
  ephemeralStorageBytes: bigint;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  operatingSystem: string;
  /** GOARCH naming: amd64, arm64, … */
  architecture: string;
}

export interface MachineUsage {
  memoryAvailableBytes: bigint;
  fsAvailableBytes: bigint;
  fsCapacityBytes: bigint;
  fsInodesFree: bigint;
  fsInodes: bigint;
  pidsAvailable: number;
  pidMax: number;
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export function goArch(nodeArch: string = arch()): string {
  const m: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return m[nodeArch] ?? nodeArch;
}

/** PRETTY_NAME of /etc/os-release, as cAdvisor reports osImage. */
export function osImage(text?: string): string {
  const t = text ?? (readTrim('/etc/os-release') || readTrim('/usr/lib/os-release'));
  const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(t);
  return m ? (m[1] ?? m[2] ?? '').trim() : 'Linux';
}

/** MemTotal of /proc/meminfo in bytes (os.totalmem() when unreadable). */
export function parseMeminfo(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]] = BigInt(m[2]) * (line.includes('kB') ? 1024n : 1n);
  }
  return out;
}

export function readMachineInfo(rootDir: string): MachineInfo {
  let fsBytes = 0n;
  try {
    const s = statfsSync(rootDir, { bigint: true });
    fsBytes = s.blocks * s.bsize;
  } catch {
    // unknown
  }
  const mem = parseMeminfo(readTrim('/proc/meminfo'));
  return {
    hostname: hostname().toLowerCase(),
    cpus: availableParallelism(),
    memoryBytes: mem.MemTotal ?? BigInt(totalmem()),
    ephemeralStorageBytes: fsBytes,
    machineID: readTrim('/etc/machine-id') || readTrim('/var/lib/dbus/machine-id'),
    systemUUID: readTrim('/sys/class/dmi/id/product_uuid').toLowerCase(),
    bootID: readTrim('/proc/sys/kernel/random/boot_id'),
    kernelVersion: release(),
    osImage: osImage(),
    operatingSystem: 'linux',
    architecture: goArch(),
  };
}

/** What is available now, for MemoryPressure, DiskPressure and PIDPressure. */
export function readMachineUsage(rootDir: string): MachineUsage {
  const mem = parseMeminfo(readTrim('/proc/meminfo'));
  let fs = { avail: 0n, cap: 0n, ifree: 0n, inodes: 0n };
  try {
    const s = statfsSync(rootDir, { bigint: true });
    fs = { avail: s.bavail * s.bsize, cap: s.blocks * s.bsize, ifree: s.ffree, inodes: s.files };
  } catch {
    // unknown: no pressure is reported from it
  }
  const pidMax = Number(readTrim('/proc/sys/kernel/pid_max')) || 32768;
  const threads = Number(/^\S+\s+\S+\s+\S+\s+\d+\/(\d+)/.exec(readTrim('/proc/loadavg'))?.[1] ?? 0);
  return {
    memoryAvailableBytes: mem.MemAvailable ?? mem.MemFree ?? 0n,
    fsAvailableBytes: fs.avail,
    fsCapacityBytes: fs.cap,
    fsInodesFree: fs.ifree,
    fsInodes: fs.inodes,
    pidsAvailable: pidMax - threads,
    pidMax,
  };
}
