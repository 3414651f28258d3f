import { PassThrough } from "node:stream";
import type { ObjectRef } from "../common/component/spec.js";
import { REJECTED_HEADER } from "../common/csv/rejected.js";
import { messageOf } from "../common/errors.js";
import { ArrowStreamWriter } from "../common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { drained } from "../common/storage/streams.js";
import type { IngestSinks } from "./types.js";

/** How the step writes a declared output (ComponentContext.writeOutput). */
export type WriteOutput = (
  port: string,
  data: NodeJS.ReadableStream,
  options: { contentType: string },
) => Promise<ObjectRef>;

/**
 * The ingest step's two streamed outputs, over all its files:
 * rejected.csv streams out as rows are rejected (one header for all files),
 * rows.arrow as batches complete (opened with the first file's schema).
 * Both writes are awaited by `end`; `abort` makes both fail.
 */
export class IngestStepOutputs implements IngestSinks {
  private readonly rejectedStream = new PassThrough();
  private readonly rejectedDone: Promise<ObjectRef>;
  private writer: ArrowStreamWriter | null = null;
  private rowsDone: Promise<ObjectRef> | null = null;

  constructor(
    private readonly write: WriteOutput,
    /** Training rows carry the label column; scoring rows do not. */
    private readonly withLabel: boolean,
  ) {
    this.rejectedDone = write("rejected", this.rejectedStream, { contentType: "text/csv" });
    // Failures surface when end() awaits the writes; keep them off the event loop meanwhile.
    this.rejectedDone.catch(() => {});
    this.rejectedStream.on("error", () => {});
    this.rejectedStream.write(REJECTED_HEADER);
  }

  /** The first file's schema opens rows.arrow; later files are read with it, so it stays. */
  schema(schema: DatasetSchema): void {
    if (this.writer) return;
    this.writer = new ArrowStreamWriter(schema, this.withLabel);
    this.rowsDone = this.write("rows", this.writer.readable, {
      contentType: "application/vnd.apache.arrow.stream",
    });
    this.rowsDone.catch(() => {});
  }

  async batch(batch: RowBatch): Promise<void> {
    if (!this.writer) throw new Error("ingest: a batch came before the schema");
    await this.writer.write(batch);
  }

  async rejected(text: string): Promise<void> {
    // rejected.csv has one header for all files.
    const body = text.startsWith(REJECTED_HEADER) ? text.slice(REJECTED_HEADER.length) : text;
    // drained() also settles when the write of rejected.csv failed (no "drain" ever comes then).
    if (!this.rejectedStream.write(body)) await drained(this.rejectedStream);
  }

  /** Finish both outputs and wait until they are stored. */
  async end(): Promise<void> {
    this.rejectedStream.end();
    this.writer?.end();
    await this.rejectedDone;
    if (this.rowsDone) await this.rowsDone;
  }

  /** Make both writes fail (nothing half-written is recorded as an output). */
  abort(error: unknown): void {
    const reason = error instanceof Error ? error : new Error(messageOf(error));
    this.rejectedStream.destroy(reason);
    this.writer?.destroy(reason);
  }
}
