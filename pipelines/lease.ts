import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { type LeaseRecord, parseLease } from "../components/common/documents/lease.js";
import { ConflictError } from "../components/common/errors.js";
import { leaseObject, writtenBy } from "../components/common/layout/index.js";
import type { Storage } from "../components/common/storage/index.js";

/**
 * One run at a time per run id (DESIGN): a lease object `runs/<id>/lease`
 * created only if absent, renewed by heartbeat with a conditional write on its
 * generation, and taken over only after it expired. A killed runner stops
 * renewing, so the next invocation resumes once ~ttl has passed.
 */

export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A unique holder id: host, pid and a random tag (so two runners in one process differ). */
export function newHolderId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
}

export type AcquireResult =
  | { acquired: true; lease: Lease }
  | { acquired: false; holder: string; expiresInMs: number };

export interface LeaseOptions {
  ttlMs?: number;
  now?: () => number;
  /** Called when a heartbeat finds the lease taken by someone else. */
  onLost?: (reason: string) => void;
}

/** A held lease: renews itself until released. */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  /** The heartbeat's renewal in flight, which release() waits for (else it deletes with a stale generation). */
  private renewal: Promise<unknown> | null = null;
  constructor(
    private readonly storage: Storage,
    readonly runId: string,
    readonly holder: string,
    private generation: string,
    private readonly options: Required<Pick<LeaseOptions, "ttlMs" | "now">> & LeaseOptions,
  ) {}

  /**
   * Renew every ttl/3; a renewal that finds another holder calls onLost.
   * One renewal at a time: on a slow store a tick could otherwise start a
   * second write with the generation the first is about to replace, lose
   * that race against itself and take its own lease for someone else's
   * (the long chaos run saw 8 of 100 resumed runs stop that way).
   */
  startHeartbeat(): void {
    const interval = Math.max(50, Math.floor(this.options.ttlMs / 3));
    let renewing = false;
    this.timer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      this.renewal = this.renew()
        .catch(async (error) => {
          if (!(error instanceof ConflictError)) return; // transient storage trouble: try again next tick
          if (await this.stillOurs()) return;
          this.lost = true;
          this.stopHeartbeat();
          this.options.onLost?.(error.message);
        })
        .catch(() => {})
        .finally(() => {
          renewing = false;
          this.renewal = null;
        });
    }, interval);
    this.timer.unref();
  }

  /**
   * After a conflicting renewal: is the lease still ours (our own earlier
   * write won)? Then carry on with its generation; a lease another holder
   * wrote is lost.
   */
  private async stillOurs(): Promise<boolean> {
    const current = await readLease(this.storage, this.runId);
    if (current?.record?.holder !== this.holder) return false;
    this.generation = current.generation;
    return true;
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** Extend the expiry; throws ConflictError when the lease is no longer ours. */
  async renew(): Promise<void> {
    const now = this.options.now();
    const record: LeaseRecord = { holder: this.holder, acquired: now, expires: now + this.options.ttlMs };
    const info = await this.storage.write(leaseObject(this.runId), JSON.stringify(record), {
      ifGenerationMatch: this.generation,
      contentType: "application/json",
      metadata: writtenBy("runner"),
    });
    this.generation = info.generation;
  }

  /** Stop renewing and delete the lease if it is still ours. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    // A renewal that lands after the delete would leave the lease behind until it expires.
    await this.renewal;
    if (this.lost) return;
    try {
      await this.storage.delete(leaseObject(this.runId), { ifGenerationMatch: this.generation });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

async function readLease(
  storage: Storage,
  runId: string,
): Promise<{ record: LeaseRecord | null; generation: string } | null> {
  const info = await storage.stat(leaseObject(runId));
  if (!info) return null;
  try {
    const name = leaseObject(runId);
    const record = parseLease(await storage.readText(name), name);
    return { record, generation: info.generation };
  } catch {
    // A lease we cannot read (half-written by hand, or gone between stat and read) counts as expired.
    return { record: null, generation: info.generation };
  }
}

/**
 * True while someone holds the run's lease (it exists and has not expired).
 * A run record that says `running` without a live lease belongs to a runner
 * that died: readers show it as interrupted, and the next invocation resumes it.
 */
export async function isLeaseLive(
  storage: Storage,
  runId: string,
  now: () => number = Date.now,
): Promise<boolean> {
  const current = await readLease(storage, runId);
  return current?.record ? current.record.expires > now() : false;
}

/** Try once to take the lease of a run: create it, or take over an expired one. */
export async function tryAcquireLease(
  storage: Storage,
  runId: string,
  holder: string,
  options: LeaseOptions = {},
): Promise<AcquireResult> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const now = options.now ?? Date.now;
  const settings = { ...options, ttlMs, now };
  const record = (): string => {
    const t = now();
    return JSON.stringify({ holder, acquired: t, expires: t + ttlMs } satisfies LeaseRecord);
  };
  const meta = { contentType: "application/json", metadata: writtenBy("runner") };
  const created = await storage.createIfAbsent(leaseObject(runId), record(), meta);
  if (created)
    return { acquired: true, lease: new Lease(storage, runId, holder, created.generation, settings) };

  const current = await readLease(storage, runId);
  if (current === null) return tryAcquireLease(storage, runId, holder, options);
  const expiresInMs = current.record ? current.record.expires - now() : 0;
  if (expiresInMs > 0 && current.record?.holder !== holder) {
    return { acquired: false, holder: current.record!.holder, expiresInMs };
  }
  try {
    const info = await storage.write(leaseObject(runId), record(), {
      ...meta,
      ifGenerationMatch: current.generation,
    });
    return { acquired: true, lease: new Lease(storage, runId, holder, info.generation, settings) };
  } catch (error) {
    if (error instanceof ConflictError) {
      const again = await readLease(storage, runId);
      return {
        acquired: false,
        holder: again?.record?.holder ?? "another runner",
        expiresInMs: again?.record ? again.record.expires - now() : ttlMs,
      };
    }
    throw error;
  }
}
