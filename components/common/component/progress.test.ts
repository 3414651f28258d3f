import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { progressListener, progressOf, reportProgress } from "./progress.js";

describe("the progress contract", () => {
  it("a reported progress message comes back out of the step's JSON log lines, split chunks included", async () => {
    const stream = new PassThrough();
    const logger = createLogger({ stream, json: true, level: "info" }).child({ step: "train" });
    logger.info("train: read 5000 rows");
    reportProgress(logger, "gbdt: fold 3/5");
    stream.end();
    const text = (await stream.toArray()).join("");
    const got: string[] = [];
    const listen = progressListener((m) => got.push(m));
    for (let i = 0; i < text.length; i += 7) listen(text.slice(i, i + 7));
    expect(got).toEqual(["gbdt: fold 3/5"]);
  });

  it("other lines are not progress", () => {
    expect(progressOf("--- attempt 1 of step train")).toBeNull();
    expect(progressOf('{"event":"progress"}')).toBeNull();
    expect(progressOf('{"message":"fold 1/5"}')).toBeNull();
    expect(progressOf("{not json")).toBeNull();
  });
});
