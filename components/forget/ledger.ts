import type { ObjectInfo } from "../common/storage/types.js";
import type { ForgetIds } from "./ids.js";
import type { NewRef } from "./json.js";
import type { NoncurrentVersion, ObjectChange, Unhandled } from "./record.js";

/** An object change before its write: the generation after is known only once written. */
export type PlannedChange = Omit<ObjectChange, "generation_after">;

/**
 * Everything one forget has done so far, in one place: the parts (object
 * rewrites, manifests, noncurrent versions) add to it, the record is built
 * from it. Progress lines are said as changes are noted.
 */
export class ForgetLedger {
  readonly changes: ObjectChange[] = [];
  readonly unhandled: Unhandled[] = [];
  /** Noncurrent versions deleted whose object was not rewritten now. */
  readonly noncurrent: NoncurrentVersion[] = [];
  /** New hash, size and generation of each rewritten object (run records and manifests point at them). */
  readonly refs = new Map<string, NewRef>();
  /** Forgotten ids some object held (latin1 form). */
  readonly found = new Set<string>();
  /** Objects whose old content (now noncurrent) held the customers. */
  readonly touched = new Set<string>();

  constructor(
    private readonly ids: ForgetIds,
    readonly dryRun: boolean,
    private readonly say: (line: string) => void,
  ) {}

  /** Note every forgotten id mentioned in a text. */
  noteMentions(text: string): void {
    for (const [start, end] of this.ids.mentions(text)) this.found.add(text.slice(start, end));
  }

  /** Note ids a streamed pass found. */
  noteFound(ids: Iterable<string>): void {
    for (const id of ids) this.found.add(id);
  }

  /** Note the object's new bytes, so references to it can be brought up to date. */
  noteRef(name: string, ref: NewRef): void {
    this.refs.set(name, ref);
  }

  /** Note a rewritten object in the record and on the progress line. */
  noteRewrite(info: ObjectInfo, change: PlannedChange, generationAfter: string | null): void {
    this.touched.add(info.name);
    const earlier = this.changes.find((c) => c.object === info.name);
    if (earlier) {
      // A second pass that only brought references up to date.
      earlier.rows_removed += change.rows_removed;
      earlier.redacted += change.redacted;
      earlier.generation_after = generationAfter;
    } else this.changes.push({ ...change, generation_after: generationAfter });
    const parts = [
      change.rows_removed > 0 ? `${change.rows_removed} row(s) removed` : "",
      change.redacted > 0 ? `${change.redacted} mention(s) redacted` : "",
    ].filter(Boolean);
    const what = parts.length > 0 ? parts.join(", ") : "references to rewritten objects updated";
    this.say(`${this.dryRun ? "would rewrite" : "rewrote"} ${info.name}: ${what}`);
  }

  /** Note a deleted cache entry. */
  noteDeletedCacheEntry(change: PlannedChange): void {
    this.touched.add(change.object);
    this.changes.push({ ...change, generation_after: null });
    this.say(`${this.dryRun ? "would delete" : "deleted"} cache entry ${change.object}`);
  }

  /** Note an object forget cannot rewrite. */
  noteUnhandled(object: string, reason: string): void {
    this.unhandled.push({ object, reason });
  }

  /** Note a deleted noncurrent version: counted on its object's change, or listed on its own. */
  noteVersionDeleted(version: NoncurrentVersion): void {
    const change = this.changes.find((c) => c.object === version.object);
    if (change) change.versions_deleted++;
    else this.noncurrent.push(version);
  }

  /** Noncurrent versions deleted so far. */
  versionsDeleted(): number {
    return this.changes.reduce((n, c) => n + c.versions_deleted, 0) + this.noncurrent.length;
  }

  /** True when some object's content mentions the name of an object rewritten or deleted now. */
  pointsAtTouched(text: string): boolean {
    return [...this.touched].some((name) => text.includes(`"${name}"`));
  }

  /** True when a JSON object was rewritten (records pointing at it need one more pass). */
  rewroteJson(): boolean {
    return this.changes.some((c) => c.kind === "json" && c.action === "rewritten");
  }
}
