import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { checkObjectName, isGzipName, parseBucketUri } from "./uri.js";

describe("parseBucketUri", () => {
  const cwd = "/home/me/project";
  it.each([
    ["gs://my-bucket", { scheme: "gs", bucket: "my-bucket", prefix: "", uri: "gs://my-bucket" }],
    ["gs://my-bucket/", { scheme: "gs", bucket: "my-bucket", prefix: "", uri: "gs://my-bucket" }],
    [
      "gs://my-bucket/team/a",
      { scheme: "gs", bucket: "my-bucket", prefix: "team/a", uri: "gs://my-bucket/team/a" },
    ],
    [
      "gs://my.bucket_1//x//",
      { scheme: "gs", bucket: "my.bucket_1", prefix: "x", uri: "gs://my.bucket_1/x" },
    ],
    ["  gs://abc  ", { scheme: "gs", bucket: "abc", prefix: "", uri: "gs://abc" }],
    ["file:///data/bucket", { scheme: "file", root: "/data/bucket", uri: "file:///data/bucket" }],
    [
      "file:///data/my%20bucket/",
      { scheme: "file", root: "/data/my bucket", uri: "file:///data/my%20bucket" },
    ],
    ["/abs/folder", { scheme: "file", root: "/abs/folder", uri: "file:///abs/folder" }],
    [
      "rel/folder",
      { scheme: "file", root: "/home/me/project/rel/folder", uri: "file:///home/me/project/rel/folder" },
    ],
    [".", { scheme: "file", root: "/home/me/project", uri: "file:///home/me/project" }],
  ])("%s", (input, expected) => {
    expect(parseBucketUri(input, cwd)).toEqual(expected);
  });

  it.each([
    ["", /empty/],
    ["gs://", /not a valid gs:\/\/ bucket/],
    ["gs://UPPER", /not a valid gs:\/\/ bucket/],
    ["gs://ab", /not a valid gs:\/\/ bucket/],
    ["gs://-leading", /not a valid gs:\/\/ bucket/],
    ["file://", /names no folder/],
    ["s3://bucket", /unsupported scheme/],
    ["https://example.com/x", /unsupported scheme/],
  ])("refuses %j with a UsageError", (input, message) => {
    expect(() => parseBucketUri(input, cwd)).toThrow(UsageError);
    expect(() => parseBucketUri(input, cwd)).toThrow(message);
  });
});

describe("checkObjectName", () => {
  it.each([
    "a",
    "weekly/2024-01.csv.gz",
    "runs/r-0123/steps/ingest/output.json",
    "a b/ü.csv",
    ".hidden",
    "a..b",
  ])("accepts %j", (name) => {
    expect(checkObjectName(name)).toBe(name);
  });

  it.each([
    ["", /empty/],
    ["/abs", /starts with \//],
    ["../up", /segment/],
    ["a/../b", /segment/],
    ["a/./b", /segment/],
    ["a//b", /segment/],
    ["trailing/", /segment/],
    ["line\nbreak", /line break/],
    ["nul\0", /NUL/],
    ["x".repeat(1025), /1024 bytes/],
  ])("refuses %j", (name, message) => {
    expect(() => checkObjectName(name)).toThrow(UsageError);
    expect(() => checkObjectName(name)).toThrow(message);
  });
});

describe("isGzipName", () => {
  it.each([
    ["a.csv.gz", true],
    ["A.CSV.GZ", true],
    ["a.gz", true],
    ["a.csv", false],
    ["a.gzip", false],
    ["gz", false],
  ])("%s → %s", (name, expected) => {
    expect(isGzipName(name)).toBe(expected);
  });
});
