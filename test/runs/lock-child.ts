// A process that takes a run lock, for test/runs/lock.test.ts (run through tsx, as the CLI is):
//
//   node --import ./bin/register.mjs test/runs/lock-child.ts hold DIR
//       takes the lock and holds it; stdin lines: "release" (release, then exit 0), "exit"
//       (process.exit(0) without releasing: the exit handler must), "throw" (an uncaught error)
//   ... race DIR AT
//       waits until the clock reads AT (ms since the epoch), then as hold
//   ... churn DIR LOG AT
//       from AT on, tries until it holds the lock, appends "+pid" to LOG, waits, appends "-pid",
//       then dies by SIGKILL still holding it (a stale lock for the next one)
//
// Each prints one JSON line on stdout: {"event":"acquired","pid":..,"notice":..} or
// {"event":"refused","pid":..,"name":..,"message":..}.
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, RunLockError, type RunLock } from '../../src/runs/lock.ts';

const [mode, dir, ...rest] = process.argv.slice(2);

function say(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...event, pid: process.pid }) + '\n');
}

async function tryAcquire(): Promise<RunLock | undefined> {
  try {
    const lock = await acquireLock(dir, { command: `lock-child ${mode}` });
    say({ event: 'acquired', notice: lock.notice ?? null });
    return lock;
  } catch (error) {
    if (!(error instanceof RunLockError)) throw error;
    say({ event: 'refused', name: error.name, message: error.message, holder: error.holder ?? null });
    return undefined;
  }
}

if (mode === 'hold' || mode === 'race') {
  if (mode === 'race') await sleep(Math.max(0, Number(rest[0]) - Date.now()));
  const lock = await tryAcquire();
  if (!lock) process.exit(3);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'release') {
      lock.release();
      say({ event: 'released' });
      process.exit(0);
    }
    if (line === 'exit') process.exit(0);
    if (line === 'throw') throw new Error('thrown while holding the lock');
  }
} else if (mode === 'churn') {
  const [log, at] = rest;
  await sleep(Math.max(0, Number(at) - Date.now()));
  for (;;) {
    try {
      await acquireLock(dir, { command: 'lock-child churn' });
      break;
    } catch (error) {
      if (!(error instanceof RunLockError)) throw error;
      await sleep(2 + Math.random() * 8);
    }
  }
  appendFileSync(log, `+${process.pid}\n`);
  await sleep(15);
  appendFileSync(log, `-${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
} else {
  throw new Error(`unknown mode ${mode}`);
}
