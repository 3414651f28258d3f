import { describe, expect, it } from "vitest";
import { ChurnError, UsageError } from "../../components/common/errors.js";
import type { RawRow, ScoredRow } from "../../components/models/inference.js";
import { decodeSeldonRequest, encodeSeldonError, encodeSeldonResponse } from "./seldon.js";
import { type Datatype, datatypeFor, decodeTensor, elementProblem, encodeTensor } from "./tensor.js";
import { COLUMNS_PARAMETER, decodeInferRequest, encodeInferResponse, REASON_SEPARATOR } from "./v2.js";

describe("tensor codec", () => {
  const cases: Array<[Datatype, unknown[]]> = [
    ["FP64", [1.5, -2, 0, null]],
    ["INT64", [1, -2, 9_007_199_254_740_991]],
    ["INT8", [-128, 127]],
    ["UINT8", [0, 255]],
    ["BOOL", [true, false]],
    ["BYTES", ["a", "", "é", null, 3, true]],
  ];
  for (const [datatype, values] of cases) {
    it(`round-trips ${datatype}`, () => {
      const tensor = encodeTensor("x", datatype, [values.length], values as never);
      expect(decodeTensor(JSON.parse(JSON.stringify(tensor)))).toEqual(values);
    });
  }

  it("accepts data nested as deep as the shape, and flat data", () => {
    const flat = decodeTensor({ name: "m", shape: [2, 2], datatype: "FP64", data: [1, 2, 3, 4] });
    const nested = decodeTensor({
      name: "m",
      shape: [2, 2],
      datatype: "FP64",
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(nested).toEqual(flat);
  });

  const bad: Array<[Datatype, unknown, string]> = [
    ["FP64", "1.5", "not a finite FP64"],
    ["INT8", 128, "out of range"],
    ["INT32", 1.5, "not an integer"],
    ["UINT8", -1, "out of range"],
    ["BOOL", 1, "not a BOOL"],
    ["BOOL", null, "null is not a BOOL"],
    ["BYTES", { a: 1 }, "not a BYTES element"],
  ];
  for (const [datatype, value, reason] of bad) {
    it(`rejects ${JSON.stringify(value)} as ${datatype}`, () => {
      expect(elementProblem(datatype, value)).toContain(reason);
      expect(() => decodeTensor({ name: "c", shape: [1], datatype, data: [value] })).toThrow(reason);
    });
  }

  it("rejects shape/data disagreements and bad shapes with a UsageError naming the input", () => {
    expect(() => decodeTensor({ name: "age", shape: [3], datatype: "FP64", data: [1, 2] })).toThrow(
      /age.*3 elements/,
    );
    expect(() => decodeTensor({ name: "age", shape: [-1], datatype: "FP64", data: [] })).toThrow(UsageError);
    expect(() => decodeTensor({ name: "age", shape: [2, 2], datatype: "FP64", data: [[1, 2], 3] })).toThrow(
      /nested/,
    );
    expect(() => decodeTensor({ name: "age", shape: [1], datatype: "FP64", data: [[[1]]] })).toThrow(
      UsageError,
    );
  });

  it("picks the narrowest datatype a client would declare", () => {
    expect(datatypeFor([1, 2, null])).toBe("INT64");
    expect(datatypeFor([1.5, 2])).toBe("FP64");
    expect(datatypeFor([true, false])).toBe("BOOL");
    expect(datatypeFor([true, null])).toBe("BYTES");
    expect(datatypeFor(["a", 1])).toBe("BYTES");
  });
});

const rows: RawRow[] = [
  { age: 45, gender: "M", app: true, note: null },
  { age: 51.5, gender: "F", app: false, note: "x" },
];

function perColumnRequest(rs: RawRow[]) {
  const names = Object.keys(rs[0]!);
  return {
    id: "r1",
    inputs: names.map((name) => {
      const values = rs.map((r) => r[name]!);
      return encodeTensor(name, datatypeFor(values), [rs.length], values);
    }),
  };
}

describe("V2 request codec", () => {
  it("round-trips rows through per-column inputs", () => {
    const decoded = decodeInferRequest(JSON.parse(JSON.stringify(perColumnRequest(rows))));
    expect(decoded.rows).toEqual(rows);
    expect(decoded.id).toBe("r1");
  });

  it("round-trips rows through one row-major input with parameters.columns (on the input or the request)", () => {
    const columns = Object.keys(rows[0]!);
    const data = rows.flatMap((r) => columns.map((c) => r[c]!));
    const onInput = {
      inputs: [
        {
          name: "input-0",
          shape: [2, 4],
          datatype: "BYTES",
          parameters: { [COLUMNS_PARAMETER]: columns },
          data,
        },
      ],
    };
    expect(decodeInferRequest(onInput).rows).toEqual(rows);
    const onRequest = {
      parameters: { [COLUMNS_PARAMETER]: columns },
      inputs: [{ name: "input-0", shape: [2, 4], datatype: "BYTES", data }],
    };
    expect(decodeInferRequest(onRequest).rows).toEqual(rows);
  });

  it("names the problem in malformed requests", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /inputs/],
      [{ inputs: [] }, /at least one input/],
      [{ inputs: [{ name: "a", shape: [1], datatype: "FP65", data: [1] }] }, /datatype/],
      [{ inputs: [{ name: "a", shape: [1], datatype: "FP64", data: [1] }], extra: 1 }, /extra/],
      [{ inputs: [{ name: "a", shape: [1, 2], datatype: "FP64", data: [1, 2] }] }, /\[rows, 1\]/],
      [
        {
          inputs: [
            { name: "a", shape: [1], datatype: "FP64", data: [1] },
            { name: "b", shape: [2], datatype: "FP64", data: [1, 2] },
          ],
        },
        /disagree/,
      ],
      [
        {
          inputs: [
            { name: "a", shape: [1], datatype: "FP64", data: [1] },
            { name: "a", shape: [1], datatype: "FP64", data: [1] },
          ],
        },
        /twice/,
      ],
      [
        {
          parameters: { columns: ["a", "b"] },
          inputs: [{ name: "x", shape: [1, 3], datatype: "FP64", data: [1, 2, 3] }],
        },
        /\[rows, 2\]/,
      ],
      [
        { parameters: { columns: "a" }, inputs: [{ name: "x", shape: [1], datatype: "FP64", data: [1] }] },
        /columns/,
      ],
    ];
    for (const [body, message] of cases) {
      expect(() => decodeInferRequest(body), JSON.stringify(body)).toThrow(message);
      try {
        decodeInferRequest(body);
      } catch (error) {
        expect((error as ChurnError).httpStatus).toBe(400);
      }
    }
  });

  it("encodes scored rows with the outputs filter and echoes the id", () => {
    const scored: ScoredRow[] = [
      {
        probability: 0.9,
        tier: "high",
        reasons: ["A: 1 (typical 0.5)", "B: x"],
        reasonCodes: "a:+0.84;b:+0.41",
      },
      { probability: 0.1, tier: "low", reasons: [], reasonCodes: "" },
    ];
    const all = encodeInferResponse({ name: "churn", version: "v1" }, scored, { id: "q" });
    expect(all.id).toBe("q");
    expect(all.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ["probability", "FP64", [2]],
      ["tier", "BYTES", [2]],
      ["reasons", "BYTES", [2]],
      ["reason_codes", "BYTES", [2]],
    ]);
    expect(all.outputs[2]!.data).toEqual([`A: 1 (typical 0.5)${REASON_SEPARATOR}B: x`, ""]);
    expect(all.outputs[3]!.data).toEqual(["a:+0.84;b:+0.41", ""]);
    const some = encodeInferResponse({ name: "churn", version: "v1" }, scored, { outputs: ["tier"] });
    expect(some.outputs.map((o) => o.name)).toEqual(["tier"]);
    expect(() =>
      encodeInferResponse({ name: "churn", version: "v1" }, scored, { outputs: ["nope"] }),
    ).toThrow(/unknown output "nope"/);
  });
});

describe("Seldon v1 codec", () => {
  const features = ["age", "gender", "app", "note"];
  it("decodes names+ndarray, tensor, jsonData and unnamed ndarray to the same rows", () => {
    const ndarray = rows.map((r) => features.map((f) => r[f]));
    expect(decodeSeldonRequest({ data: { names: features, ndarray } }, features).rows).toEqual(rows);
    expect(decodeSeldonRequest({ data: { ndarray } }, features).rows).toEqual(rows);
    expect(
      decodeSeldonRequest(
        { data: { names: features, tensor: { shape: [2, 4], values: ndarray.flat() } } },
        features,
      ).rows,
    ).toEqual(rows);
    expect(decodeSeldonRequest({ jsonData: rows }, features).rows).toEqual(rows);
    expect(decodeSeldonRequest({ jsonData: rows[0], meta: { puid: "p" } }, features)).toEqual({
      rows: [rows[0]],
      puid: "p",
    });
  });

  it("names the problem in malformed messages", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /exactly one of data and jsonData/],
      [{ data: { names: ["a"] } }, /exactly one of data.ndarray and data.tensor/],
      [{ data: { names: ["a", "b"], ndarray: [[1]] } }, /1 values for 2 names/],
      [{ data: { names: ["a"], ndarray: [[{ x: 1 }]] } }, /not a scalar/],
      [{ data: { names: ["a", "a"], ndarray: [[1, 2]] } }, /twice/],
      [{ strData: "hello" }, /strData/],
      [{ jsonData: [1] }, /jsonData\[0\]/],
    ];
    for (const [body, message] of cases)
      expect(() => decodeSeldonRequest(body, ["a"]), JSON.stringify(body)).toThrow(message);
  });

  it("answers like the sklearn server and maps errors to Seldon's status shape", () => {
    const out = encodeSeldonResponse(
      { name: "churn", version: "v" },
      [{ probability: 0.25, tier: "low", reasons: [], reasonCodes: "" }],
      "p",
    );
    expect(out.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[0.75, 0.25]] });
    expect(out.meta).toEqual({
      puid: "p",
      tags: { tiers: ["low"], reasons: [[]], reason_codes: [""], model_version: "v" },
      requestPath: { churn: "v" },
    });
    expect(encodeSeldonError(new UsageError("bad"))).toEqual({
      status: { code: 400, info: "bad", reason: "MICROSERVICE_BAD_DATA", status: "FAILURE" },
    });
    expect(encodeSeldonError(new ChurnError("boom")).status.reason).toBe("MICROSERVICE_INTERNAL_ERROR");
  });
});
