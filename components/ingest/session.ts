import type { DecodeInfo } from "../common/csv/decode.js";
import { CsvParser } from "../common/csv/parse.js";
import { sniffDecimal, sniffDelimiter } from "../common/csv/sniff.js";
import { InputError } from "../common/errors.js";
import { GENERATED_ID_COLUMN, inferSchema } from "../common/schema/infer.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { RowConverter } from "./converter.js";
import { checkHeader } from "./header.js";
import { negativeFromSample, wrongPositiveMessage } from "./label-values.js";
import type { IngestOptions, IngestResult, IngestSinks } from "./types.js";

/** Characters read before the delimiter is sniffed and the parser starts. */
export const SNIFF_CHARS = 64 * 1024;

/** A record of the sample (rows held until the schema is inferred from them). */
interface SampledRow {
  fields: string[];
  line: number;
  raw: string;
  bad?: { field: number; reason: string };
}

/**
 * Where one ingest is: before the header, sampling rows to infer the schema
 * from, or converting every row under a fixed schema. Each phase holds what
 * exists in it, so nothing is read before it is set.
 */
type Phase =
  | { kind: "header" }
  | { kind: "sampling"; header: string[]; sample: SampledRow[] }
  | {
      kind: "converting";
      header: string[];
      schema: DatasetSchema;
      converter: RowConverter;
      schemaSent: boolean;
    };

/**
 * The state of one ingest: the CSV parser's callbacks move it from phase to
 * phase; `drain` hands what is ready to the sinks between chunks; `result`
 * checks the whole file once it ended.
 */
export class IngestSession {
  private phase: Phase = { kind: "header" };
  private parser: CsvParser | null = null;
  private delimiter: string;
  private decimal: "." | ",";
  readonly info: DecodeInfo = { encoding: "utf-8", bom: false, gzip: false };

  constructor(private readonly options: IngestOptions) {
    const { ingest } = options.config;
    this.delimiter = ingest.delimiter === "auto" ? "," : ingest.delimiter;
    this.decimal = ingest.decimal === "auto" ? "." : ingest.decimal;
  }

  /** Start parsing once enough text was read to sniff the delimiter (or the file ended). */
  startParser(head: string): void {
    if (this.options.config.ingest.delimiter === "auto") this.delimiter = sniffDelimiter(head);
    this.parser = new CsvParser(
      { delimiter: this.delimiter, source: this.options.source },
      (fields, line) => this.onRecord(fields, line),
      (line, field, reason) => this.onBad(line, field, reason),
    );
    this.parser.push(head);
  }

  get started(): boolean {
    return this.parser !== null;
  }

  push(chunk: string): void {
    this.requireParser().push(chunk);
  }

  end(): void {
    this.requireParser().end();
  }

  private requireParser(): CsvParser {
    if (!this.parser) throw new Error("ingest: the parser has not started");
    return this.parser;
  }

  /** The current record's raw text (for rejected.csv). */
  private raw(): string {
    return this.requireParser().raw();
  }

  private onRecord(fields: string[], line: number): void {
    const phase = this.phase;
    if (phase.kind === "header") {
      // Whitespace-only lines before the header are blank lines, not a header.
      if (fields.every((f) => f.trim() === "")) return;
      const header = checkHeader(fields.slice(), this.options, this.delimiter);
      this.phase = { kind: "sampling", header, sample: [] };
      if (this.options.schema) this.startConverting();
    } else if (phase.kind === "converting") {
      phase.converter.record(fields, line);
    } else {
      phase.sample.push({ fields: fields.slice(), line, raw: this.raw() });
      if (phase.sample.length >= (this.options.sampleRows ?? 10_000)) this.startConverting();
    }
  }

  private onBad(line: number, field: number, reason: string): void {
    const phase = this.phase;
    if (phase.kind === "header") {
      this.requireParser().records--;
      throw new InputError(`${this.options.source}, line ${line}: the header cannot be read (${reason})`);
    }
    if (phase.kind === "converting") phase.converter.bad(line, field, reason, this.raw());
    else phase.sample.push({ fields: [], line, raw: this.raw(), bad: { field, reason } });
  }

  /** The sample is complete (or the schema was given): fix the schema and convert the sample and every row after it. */
  private startConverting(): void {
    const phase = this.phase;
    if (phase.kind !== "sampling") return;
    const { header, sample } = phase;
    const { options } = this;
    const { config } = options;
    if (config.ingest.decimal === "auto") {
      this.decimal =
        options.schema && this.delimiter === ","
          ? "."
          : sniffDecimal(
              sample.map((s) => s.fields),
              this.delimiter,
            );
    }
    const schema = options.schema ?? this.inferFrom(header, sample);
    const labelIndex = schema.label ? header.indexOf(schema.label.column) : -1;
    const negative =
      options.mode === "training" && schema.label && labelIndex >= 0
        ? negativeFromSample(
            sample.map((s) => s.fields),
            labelIndex,
            schema.label.positive,
            config.ingest.missing_values,
          )
        : null;
    const converter = new RowConverter(
      schema,
      header,
      options,
      this.decimal === ",",
      this.delimiter,
      () => this.raw(),
      negative,
    );
    this.phase = { kind: "converting", header, schema, converter, schemaSent: false };
    for (const row of sample) {
      if (row.bad) converter.bad(row.line, row.bad.field, row.bad.reason, row.raw);
      else converter.record(row.fields, row.line, row.raw);
    }
  }

  private inferFrom(header: string[], sample: SampledRow[]): DatasetSchema {
    const { config, source } = this.options;
    const decimal = this.decimal;
    const format = { delimiter: this.delimiter, encoding: this.info.encoding, gzip: this.info.gzip };
    return inferSchema(
      header,
      sample.filter((s) => !s.bad).map((s) => s.fields),
      {
        idColumn: config.id_column,
        generateId: config.generate_id,
        label: config.label,
        exclude: config.exclude,
        pii: config.pii,
        passthrough: config.passthrough,
        missingValues: config.ingest.missing_values,
        decimal,
        source: { ...format, decimal },
        file: source,
      },
    );
  }

  /** Hand the schema (once), rejected rows and finished batches to the sinks. */
  async drain(sinks: IngestSinks): Promise<void> {
    const phase = this.phase;
    if (phase.kind !== "converting") return;
    const c = phase.converter;
    if (!phase.schemaSent) {
      phase.schemaSent = true;
      await sinks.schema?.(phase.schema);
    }
    if (c.rejectedText.length > 0) {
      const chunk = c.rejectedText.join("");
      c.rejectedText = [];
      await sinks.rejected?.(chunk);
    }
    while (c.ready.length > 0) {
      // Shift before the optional call: `f?.(x)` skips evaluating x when f is absent.
      const batch = c.ready.shift()!;
      await sinks.batch?.(batch);
    }
  }

  /**
   * The file ended: convert a sample shorter than `sampleRows`, flush the last
   * batch, and check the file as a whole (a header, data rows, and in
   * training a label column that holds the positive value).
   */
  async finish(sawText: boolean, sinks: IngestSinks): Promise<IngestResult> {
    const { source, config } = this.options;
    if (!sawText || this.phase.kind === "header")
      throw new InputError(`${source} is empty: expected a header line and data rows`);
    this.startConverting();
    const phase = this.phase;
    if (phase.kind !== "converting") throw new Error("ingest: the sample was not converted");
    const { converter: c, schema, header } = phase;
    if (c.rowsIn === 0) throw new InputError(`${source} has a header but no data rows`);
    c.flush();
    await this.drain(sinks);
    const profile = c.profile.result(c.rowsIn, c.rejected);
    if (
      this.options.mode === "training" &&
      schema.label &&
      c.accepted > 0 &&
      (profile.label?.positives ?? 0) === 0
    )
      throw new InputError(wrongPositiveMessage(source, schema.label, c.labelValues));
    const maxShare = config.ingest.max_reject_share;
    return {
      source,
      schema,
      rowsIn: c.rowsIn,
      accepted: c.accepted,
      rejected: c.rejected,
      reasons: c.reasons,
      firstRejects: c.firstRejects,
      profile,
      format: { ...this.info, delimiter: this.delimiter, decimal: this.decimal },
      unseenCategories: c.unseen?.result() ?? [],
      ignoredColumns: header.filter(
        (name) => !schema.columns.some((col) => col.name === name) && name !== GENERATED_ID_COLUMN,
      ),
      maxRejectShare: maxShare,
      rejectShareExceeded: c.rejected > maxShare * c.rowsIn,
    };
  }
}
