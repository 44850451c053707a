// Run locks with real processes: a second process is refused naming the holder, a holder killed
// with -9 leaves a stale lock that the next process takes over with a notice, several processes
// racing on one stale lock leave exactly one holder, and a lock is only ever removed by its owner.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, describeLock, LOCK_FILE, lockNote, refuseIfLocked, RunLockError, type LockHolder } from '../../src/runs/lock.ts';

const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface ChildEvent {
  event: 'acquired' | 'refused' | 'released';
  pid: number;
  notice?: string | null;
  name?: string;
  message?: string;
  holder?: LockHolder | null;
}

/** lock-child.ts in its own process: its JSON lines, and its exit. */
class LockChild {
  readonly child: ChildProcess;
  readonly events: ChildEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', './bin/register.mjs', 'test/runs/lock-child.ts', ...args], { cwd: root });
    children.push(this.child);
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines.filter(Boolean)) this.events.push(JSON.parse(line) as ChildEvent);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first event, once printed (rejects if the process exits without one). */
  async first(): Promise<ChildEvent> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
    while (this.events.length === 0) {
      if (exited) throw new Error(`lock-child exited without a word; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.events[0];
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }
}

const lockFile = (dir: string) => join(dir, LOCK_FILE);
const readHolder = (dir: string) => JSON.parse(readFileSync(lockFile(dir), 'utf8')) as LockHolder;
let dirs = 0;
const freshDir = () => join(work, `dir-${++dirs}`);

/** A pid that no process has now: a child's, once it has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('two processes, one directory', () => {
  it('refuses the second process, naming the directory, the holder and what to do', async () => {
    const dir = freshDir();
    const holder = new LockChild(['hold', dir]);
    const held = await holder.first();
    expect(held).toMatchObject({ event: 'acquired', notice: null });
    expect(readHolder(dir)).toMatchObject({ pid: held.pid, host: hostname(), command: 'lock-child hold' });

    const second = new LockChild(['hold', dir]);
    const refused = await second.first();
    expect((await second.exited).code).toBe(3);
    expect(refused.event).toBe('refused');
    expect(refused.name).toBe('RunLockError');
    const { startedAt } = readHolder(dir);
    expect(refused.message).toContain(`${dir} is in use by another webgpu-mlp process, pid ${held.pid} on host ${hostname()}, started ${startedAt}`);
    expect(refused.message).toContain(': lock-child hold.');
    expect(refused.message).toContain(`Wait for it to finish, or stop it (kill ${held.pid})`);
    expect(refused.holder).toMatchObject({ pid: held.pid, startedAt });
    console.log(`second process refused:\n  ${refused.message}`);

    // What report and export see meanwhile, reading only.
    expect(describeLock(dir)).toMatchObject({ pid: held.pid, host: hostname() });
    expect(lockNote(dir)).toBe(`${dir} is being written by pid ${held.pid} on host ${hostname()} (started ${startedAt}: lock-child hold); reading it as it is now`);
    expect(() => refuseIfLocked(dir)).toThrow(RunLockError);

    holder.send('release');
    expect((await holder.exited).code).toBe(0);
    expect(existsSync(lockFile(dir))).toBe(false);
    expect(describeLock(dir)).toBeUndefined();
    // Once released, the next process takes it without a notice.
    const third = new LockChild(['hold', dir]);
    expect(await third.first()).toMatchObject({ event: 'acquired', notice: null });
    third.send('release');
    await third.exited;
  });

  it('takes over the lock of a holder killed with -9, saying whose it was', async () => {
    const dir = freshDir();
    const holder = new LockChild(['hold', dir]);
    const held = await holder.first();
    const { startedAt } = readHolder(dir);
    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    // The lock file is still there, but nobody holds it: report and export say nothing.
    expect(existsSync(lockFile(dir))).toBe(true);
    expect(describeLock(dir)).toBeUndefined();

    const next = new LockChild(['hold', dir]);
    const taken = await next.first();
    expect(taken.event).toBe('acquired');
    expect(taken.notice).toBe(`took over a stale lock on ${dir} left by pid ${held.pid} on ${hostname()}, started ${startedAt} (lock-child hold): that process is gone`);
    console.log(`stale lock taken over:\n  ${taken.notice}`);
    expect(readHolder(dir).pid).toBe(taken.pid);
    next.send('release');
    await next.exited;
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('releases at process.exit and at an uncaught error without release() (the exit handler)', async () => {
    for (const how of ['exit', 'throw']) {
      const dir = freshDir();
      const holder = new LockChild(['hold', dir]);
      expect((await holder.first()).event).toBe('acquired');
      holder.send(how);
      const { code } = await holder.exited;
      expect(code, how).toBe(how === 'exit' ? 0 : 1);
      expect(existsSync(lockFile(dir)), how).toBe(false);
    }
  });
});

describe('several processes racing on one stale lock', () => {
  it.each([1, 2])('leaves exactly one holder (round %i)', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const dead = deadPid();
    writeFileSync(lockFile(dir), JSON.stringify({ pid: dead, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', command: 'webgpu-mlp train' }) + '\n');
    // All start, then all try at the same moment; the winner holds it until every loser has looked.
    const at = Date.now() + 3000;
    const racers = Array.from({ length: 6 }, () => new LockChild(['race', dir, String(at)]));
    const results = await Promise.all(racers.map((r) => r.first()));
    const winners = results.filter((r) => r.event === 'acquired');
    expect(winners).toHaveLength(1);
    expect(winners[0].notice).toMatch(new RegExp(`^took over a stale lock on .* left by pid ${dead} on `));
    for (const loser of results.filter((r) => r.event === 'refused')) {
      expect(loser.message).toContain(`is in use by another webgpu-mlp process, pid ${winners[0].pid} on host`);
    }
    expect(readHolder(dir).pid).toBe(winners[0].pid);
    racers[results.indexOf(winners[0])].send('release');
    await Promise.all(racers.map((r) => r.exited));
    // Released by the winner; no claim or temporary file left behind.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never lets two processes hold it at once while holders keep dying with it held', async () => {
    // Each process waits for the lock, writes +pid and -pid into a log while holding it, then dies
    // by SIGKILL: every lock after the first is a stale one, taken over by one of the waiters.
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const log = join(work, `churn-${dirs}.log`);
    writeFileSync(log, '');
    const at = String(Date.now() + 3000); // all waiting at once from the start
    const churners = Array.from({ length: 8 }, () => new LockChild(['churn', dir, log, at]));
    const exits = await Promise.all(churners.map((c) => c.exited));
    expect(exits.map((e) => e.signal)).toEqual(churners.map(() => 'SIGKILL'));
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(16);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i], `line ${i}: ${lines.join(' ')}`).toMatch(/^\+\d+$/);
      expect(lines[i + 1], `line ${i + 1}: ${lines.join(' ')}`).toBe(`-${lines[i].slice(1)}`);
    }
    // Only the last holder's lock (stale) and no claims or temporary files.
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });
});

describe('one process', () => {
  it('removes only its own lock file', async () => {
    const dir = freshDir();
    const lock = await acquireLock(dir);
    expect(lock.held).toBe(true);
    expect(describeLock(dir)).toBeUndefined(); // our own: nothing to note
    // Someone replaced the file (by hand, say): release leaves theirs alone.
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: '2025-01-01T00:00:00.000Z', command: 'webgpu-mlp train' }) + '\n';
    writeFileSync(lockFile(dir), theirs);
    lock.release();
    expect(lock.held).toBe(false);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(theirs);
    rmSync(lockFile(dir));

    const again = await acquireLock(dir);
    again.release();
    again.release(); // idempotent
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('refuses a second lock on a directory it already holds', async () => {
    const dir = freshDir();
    const lock = await acquireLock(dir);
    await expect(acquireLock(dir)).rejects.toThrow(/This process already holds it/);
    lock.release();
  });

  it('refuses a lock held on another host, which it cannot judge', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(lockFile(dir), JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: '2025-01-01T00:00:00.000Z', command: 'webgpu-mlp study' }));
    const refusal = acquireLock(dir);
    await expect(refusal).rejects.toThrow(`${dir} is in use by another webgpu-mlp process, pid 1 on host elsewhere, started 2025-01-01T00:00:00.000Z`);
    await expect(refusal).rejects.toThrow(`That process runs on another host, so this one cannot tell whether it still does: wait for it to finish, or, if you are sure it is gone, remove ${lockFile(dir)} and try again.`);
    expect(lockNote(dir)).toMatch(/ is locked by pid 1 on host elsewhere \(started 2025-01-01T00:00:00.000Z: webgpu-mlp study\)/);
  });

  it('takes over a lock left by an earlier process with its own pid (a restarted container)', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(lockFile(dir), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', command: 'webgpu-mlp train' }));
    const lock = await acquireLock(dir);
    expect(lock.notice).toMatch(/^took over a stale lock on .* left by pid \d+ on .*, started 2025-01-01T00:00:00.000Z \(webgpu-mlp train\): that process is gone$/);
    lock.release();
  });

  it('refuses an unreadable lock file while young, takes it over once old', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(lockFile(dir), '');
    await expect(acquireLock(dir, { waitMs: 100 })).rejects.toThrow(/has a lock file that is empty or unreadable, written \d\.\d s ago: another process may be starting there/);
    expect(describeLock(dir)).toBeUndefined();
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(dir), old, old);
    const lock = await acquireLock(dir);
    expect(lock.notice).toMatch(/^took over an unreadable lock file on .* \(empty or corrupt, 60 s old\): its process is gone$/);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
