// Run locks (Node only): one process at a time writes a run, search or study directory.
//
// The lock is a file in the directory, DIR/.webgpu-mlp.lock, holding who took it:
//   {"pid":1234,"host":"box","startedAt":"2025-01-01T12:00:00.000Z","command":"webgpu-mlp train --run-dir R"}
// It is created atomically and complete (written to a temporary file, then hard-linked into place:
// link() fails if the name exists, and unlike open(O_EXCL) it is atomic on NFS too), so a lock file
// never exists half-written; where the file system has no hard links, open(..., 'wx') then write.
//
// Acquiring, when the file exists:
//   - its process is alive, or it runs on another host (whose processes this host cannot see):
//     refused with a RunLockError naming the directory, the holder and what to do;
//   - it was taken on this host and its process is gone (process.kill(pid, 0) fails with ESRCH:
//     killed with -9, crashed, the machine rebooted): stale, taken over, with a notice to print;
//   - it is empty or not our JSON (a power loss, a hand edit, a writer without hard links killed
//     between create and write): stale only once older than a few seconds, refused before that.
// Releasing removes the file only if it still holds exactly what this process wrote.
// Every lock is released by `release()` (callers do it in finally blocks) and, as a backstop, by a
// synchronous process 'exit' handler; a process killed outright leaves a stale lock, taken over by
// the next one. This module installs no signal handlers: the CLI handles SIGINT/SIGTERM itself
// and returns normally, through those finally blocks.
//
// Why not proper-lockfile (or lockfile): they detect staleness by age (the holder refreshes the
// lock's mtime on a timer; older than ~10 s is stale), which takes over the lock of a live process
// whose event loop stalls or whose laptop sleeps, makes a process killed with -9 block the next one
// until the age passes, and records nothing about the holder, so a refusal cannot say who holds
// the directory. What a run needs (pid, host, start and command in the message; stale the moment
// the process is gone) is this small module.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlpError } from '../errors.ts';

/** The lock file's name inside the locked directory. */
export const LOCK_FILE = '.webgpu-mlp.lock';

/** A lock file this young that cannot be read may still be being written: refused, not taken over. */
export const UNREADABLE_GRACE_MS = 5_000;

/** Who holds a lock: what the lock file records. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601, when the lock was taken. */
  readonly startedAt: string;
  /** The command line that took it ("webgpu-mlp train --run-dir R"). */
  readonly command: string;
}

/** A directory cannot be locked: another process holds it (or its lock file cannot be judged). */
export class RunLockError extends MlpError {
  override name = 'RunLockError';
  constructor(
    message: string,
    /** The directory asked for. */
    readonly dir: string,
    /** The holder, when the lock file could be read. */
    readonly holder?: LockHolder,
  ) {
    super('RUN_LOCKED', message);
  }
}

export interface AcquireOptions {
  /** What the lock file records as the command (default: this process's command line). */
  readonly command?: string;
  /** How long to wait, at most, while other processes create or take over the lock (default 2 s). */
  readonly waitMs?: number;
}

/** A held lock. */
export interface RunLock {
  readonly dir: string;
  /** The lock file. */
  readonly file: string;
  readonly holder: LockHolder;
  /** Set when a stale lock was taken over: a line for the user ("took over a stale lock left by ..."). */
  readonly notice?: string;
  /** True until release() (or until the file was found to be no longer ours). */
  readonly held: boolean;
  /** Removes the lock file if it still holds what this process wrote. Idempotent, synchronous. */
  release(): void;
}

// ---------------------------------------------------------------------------------------------
// Reading a lock file

type Inspection =
  | { readonly state: 'absent' }
  /** Held by a live process, or by one on another host (which this host cannot see). */
  | { readonly state: 'live'; readonly holder: LockHolder; readonly text: string }
  | { readonly state: 'stale'; readonly holder?: LockHolder; readonly text: string; readonly ageMs: number }
  /** Empty or not a lock, and young: perhaps still being written. */
  | { readonly state: 'unreadable'; readonly text: string; readonly ageMs: number };

/** Locks this process holds, by lock file: released at exit, and how a lock with our own pid is judged. */
const heldHere = new Map<string, HeldLock>();

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(value.pid) && value.pid! > 0 && typeof value.host === 'string' && typeof value.startedAt === 'string') {
      return { pid: value.pid!, host: value.host, startedAt: value.startedAt, command: typeof value.command === 'string' ? value.command : '' };
    }
  } catch {
    // Not JSON: unreadable.
  }
  return undefined;
}

/** Whether the holder's process still runs: 'unknown' on another host. */
function processState(holder: LockHolder, file: string): 'alive' | 'dead' | 'unknown' {
  if (holder.host !== hostname()) return 'unknown';
  // Our own pid: ours if this process holds the file; otherwise an earlier process that had the same
  // pid (a restarted container numbers its processes from 1 again) and is gone.
  if (holder.pid === process.pid) return heldHere.has(file) ? 'alive' : 'dead';
  try {
    process.kill(holder.pid, 0);
    return 'alive';
  } catch (error) {
    // EPERM: the process exists but belongs to another user; alive.
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'alive';
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function inspect(file: string): Inspection {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw error;
  }
  const text = readText(file);
  if (text === undefined) return { state: 'absent' };
  const ageMs = Math.max(0, Date.now() - mtimeMs);
  const holder = parseHolder(text);
  if (!holder) return ageMs < UNREADABLE_GRACE_MS ? { state: 'unreadable', text, ageMs } : { state: 'stale', text, ageMs };
  return processState(holder, file) === 'dead' ? { state: 'stale', holder, text, ageMs } : { state: 'live', holder, text };
}

// ---------------------------------------------------------------------------------------------
// Messages

function ago(iso: string): string {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 90) return ` (${Math.round(seconds)} s ago)`;
  if (seconds < 90 * 60) return ` (${Math.round(seconds / 60)} min ago)`;
  return ` (${(seconds / 3600).toFixed(1)} h ago)`;
}

/** "pid 1234 on host box, started 2025-01-01T12:00:00.000Z (3 min ago): webgpu-mlp train --run-dir R" */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on host ${holder.host}, started ${holder.startedAt}${ago(holder.startedAt)}${holder.command ? `: ${holder.command}` : ''}`;
}

function refusal(dir: string, file: string, holder: LockHolder): RunLockError {
  const remote = holder.host !== hostname();
  const mine = !remote && holder.pid === process.pid;
  const what = mine
    ? 'This process already holds it (a second use of one directory within one process).'
    : remote
      ? `That process runs on another host, so this one cannot tell whether it still does: wait for it to finish, ` +
        `or, if you are sure it is gone, remove ${file} and try again.`
      : `Wait for it to finish, or stop it (kill ${holder.pid}) and try again, or choose another directory. ` +
        `(If pid ${holder.pid} is not webgpu-mlp, its process id was reused: remove ${file}.)`;
  return new RunLockError(
    `${dir} is in use by another webgpu-mlp process, ${describeHolder(holder)}. ` +
      `Two processes writing one directory would mix their files, so this one stops, whatever its flags. ${what}`,
    dir,
    holder,
  );
}

// ---------------------------------------------------------------------------------------------
// Creating and taking over

/** A new file beside `file` holding `text`, under a name no other process uses. */
function writeTemp(file: string, text: string): string {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, text, { flag: 'wx' });
  return temp;
}

/**
 * Creates `file` holding `text` if no file of that name exists; false if one does. The file appears
 * complete: written under a temporary name, then hard-linked into place (atomic, fails if the
 * name exists). Without hard links (some FAT, SMB or FUSE mounts) it falls back to open('wx').
 */
function createExclusive(file: string, text: string): boolean {
  const temp = writeTemp(file, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Replaces the stale lock file `file`, which held `staleText`, by ours. Race-free when several
 * processes find the same stale lock at once:
 *
 * A stale lock is removed only by the process that holds a *claim* on it: a file named after the
 * stale content (`<lock>.takeover-<hash>-<n>`), created exclusively, so at most one live process
 * holds a claim on one stale lock at a time. Holding the claim, it checks that the lock file still
 * holds the stale content (another claimant may have replaced it already, and a fresh lock has
 * other content: every lock names its pid and start time) and renames its own lock over it: one
 * atomic step, so there is no moment without a lock file in which a newcomer could create one (and
 * take the lock without knowing a stale one was there). Nobody else ever changes a lock file that
 * is present and not theirs, so the check-then-replace cannot replace a live lock. Claims are
 * removed once done; a claimant killed while holding its claim (a window of microseconds) leaves
 * claim n behind, whose process is gone: the others then claim n+1.
 *
 * 'taken': the lock is ours; 'busy': another process is taking it over, or took it: look again.
 */
function takeOver(file: string, staleText: string, ourText: string): 'taken' | 'busy' {
  const tag = createHash('sha256').update(staleText).digest('hex').slice(0, 12);
  const claimName = (n: number) => `${file}.takeover-${tag}-${n}`;
  for (let n = 1; n <= 64; n++) {
    const claim = claimName(n);
    if (createExclusive(claim, ourText)) {
      try {
        if (readText(file) !== staleText) return 'busy';
        const temp = writeTemp(file, ourText);
        try {
          renameSync(temp, file);
        } catch (error) {
          rmSync(temp, { force: true });
          throw error;
        }
        // Claims left by claimants that were killed: nobody needs them now.
        for (let k = 1; k < n; k++) rmSync(claimName(k), { force: true });
        return 'taken';
      } finally {
        rmSync(claim, { force: true });
      }
    }
    const claimant = inspect(claim);
    // A claimant that died holding claim n: try n+1. Otherwise someone is taking it over now.
    if (claimant.state !== 'stale') return 'busy';
  }
  return 'busy';
}

function commandLine(): string {
  const script = process.argv[1] ? basename(process.argv[1]).replace(/\.(mjs|js|ts)$/, '') : 'node';
  const words = [script, ...process.argv.slice(2)].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word)));
  const line = words.join(' ');
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}

class HeldLock implements RunLock {
  held = true;
  constructor(
    readonly dir: string,
    readonly file: string,
    readonly holder: LockHolder,
    private readonly text: string,
    readonly notice?: string,
  ) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.file);
    try {
      // Only our own lock: the file may have been removed by hand, or the directory with it.
      if (readText(this.file) === this.text) unlinkSync(this.file);
    } catch {
      // The directory is gone or unreadable: nothing of ours is left to remove.
    }
  }
}

let exitHandlerInstalled = false;

/** The backstop: locks still held when the process exits (process.exit included) are removed. */
function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const lock of [...heldHere.values()]) lock.release();
  });
}

/**
 * Takes the exclusive lock on `dir` (created if missing) for this process, or throws RunLockError
 * naming the holder. A stale lock (its process gone) is taken over: `notice` then says so.
 */
export async function acquireLock(dir: string, options: AcquireOptions = {}): Promise<RunLock> {
  dir = resolve(dir);
  const file = join(dir, LOCK_FILE);
  mkdirSync(dir, { recursive: true });
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: options.command ?? commandLine() };
  const text = JSON.stringify(holder) + '\n';
  const held = (notice?: string) => {
    const lock = new HeldLock(dir, file, holder, text, notice);
    heldHere.set(file, lock);
    installExitHandler();
    return lock;
  };
  const deadline = Date.now() + (options.waitMs ?? 2_000);
  for (;;) {
    if (createExclusive(file, text)) return held();
    const found = inspect(file);
    if (found.state === 'live') throw refusal(dir, file, found.holder);
    if (found.state === 'stale' && takeOver(file, found.text, text) === 'taken') {
      return held(
        found.holder
          ? `took over a stale lock on ${dir} left by pid ${found.holder.pid} on ${found.holder.host}, started ${found.holder.startedAt}` +
              `${found.holder.command ? ` (${found.holder.command})` : ''}: that process is gone`
          : `took over an unreadable lock file on ${dir} (empty or corrupt, ${Math.round(found.ageMs / 1000)} s old): its process is gone`,
      );
    }
    // Absent (released since), being taken over, or unreadable and young: look again shortly.
    if (Date.now() > deadline) {
      if (found.state === 'unreadable') {
        throw new RunLockError(
          `${dir} has a lock file that is empty or unreadable, written ${(found.ageMs / 1000).toFixed(1)} s ago: another process may be starting there. ` +
            `Try again in a few seconds; if this persists and no other webgpu-mlp process uses ${dir}, remove ${file}.`,
          dir,
        );
      }
      throw new RunLockError(`${dir}: could not take its lock: other processes kept taking it; try again`, dir);
    }
    await sleep(10 + Math.random() * 40);
  }
}

/**
 * The holder of a lock on `dir` held by another process (alive, or on another host), or undefined:
 * no lock, a stale one, or one this process holds. Reads only; for commands that read a run
 * directory (report, export) and say so when another process is writing it.
 */
export function describeLock(dir: string): LockHolder | undefined {
  const file = join(resolve(dir), LOCK_FILE);
  let found: Inspection;
  try {
    found = inspect(file);
  } catch {
    return undefined; // unreadable directory: the read that follows will say what is wrong
  }
  if (found.state !== 'live') return undefined;
  return heldHere.has(file) ? undefined : found.holder;
}

/** The line report and export print before reading a directory another process is writing, or undefined. */
export function lockNote(dir: string): string | undefined {
  const holder = describeLock(dir);
  if (!holder) return undefined;
  const how = holder.host === hostname() ? 'is being written by' : 'is locked by';
  return `${resolve(dir)} ${how} pid ${holder.pid} on host ${holder.host} (started ${holder.startedAt}${holder.command ? `: ${holder.command}` : ''}); reading it as it is now`;
}

/** Throws the refusal acquireLock would give if another process holds `dir`, touching nothing (to refuse early, before any work). */
export function refuseIfLocked(dir: string): void {
  const holder = describeLock(dir);
  if (holder) throw refusal(resolve(dir), join(resolve(dir), LOCK_FILE), holder);
}
