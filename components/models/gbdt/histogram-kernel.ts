/**
 * The two inner loops of a GBDT fit as small WebAssembly functions,
 * assembled here from their instructions (no toolchain, no binary file):
 * summing a leaf's rows into a histogram (histogram.ts) and partitioning a
 * leaf's rows by a split.
 *
 * Why: histogram sums are most of a fit, and V8's code for the loop in
 * JavaScript costs about 3.7 ns per added entry on the example matrix (three
 * bounds-checked read-modify-writes), C at -O2 about 1.6 ns and this kernel
 * 1.4 ns: the gradient and hessian pair is one 128-bit load, add and store
 * (f64x2), and memory accesses need no bounds checks of their own. The
 * partition was the next largest part (about 13% of a fit after that).
 *
 * Every array the functions read or write lives in one WebAssembly.Memory
 * (KernelMemory below); they take byte addresses into it.
 */

/**
 * The part of the WebAssembly API used here: Node has all of it, but the
 * project's TypeScript lib (ES2023 and Node's types, no DOM) declares none.
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Unsigned LEB128. */
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

// Opcodes used (WebAssembly core 2.0, SIMD proposal).
const I32 = 0x7f;
const V128 = 0x7b;
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const GET = 0x20;
const SET = 0x21;
const TEE = 0x22;
const SELECT = 0x1b;
const I32_LOAD = 0x28;
const I32_LOAD8_U = 0x2d;
const I32_STORE = 0x36;
const F64_LOAD = 0x2b;
const F64_STORE = 0x39;
const I32_CONST = 0x41;
const F64_CONST = 0x44;
const I32_EQ = 0x46;
const I32_LE_U = 0x4d;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const F64_ADD = 0xa0;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const V128_STORE = [SIMD, 0x0b];
const F64X2_ADD = [SIMD, ...uleb(0xf0)];

const F64_ONE = Array.from(new Uint8Array(Float64Array.of(1).buffer));

// accumulate(hist, at, end, start, entry, gh): for each u32 row r at byte
// addresses at, at + 4, ..., end - 4, adds the (gradient, hessian) pair
// gh[r] (16 bytes at gh + 16 r) and a count of 1 to each (g, h, count)
// triple whose byte offset from hist is one of r's entries
// entry[start[r]] .. entry[start[r + 1] - 1] (u32 arrays at start, entry).
const HIST = 0;
const AT = 1;
const END_AT = 2;
const START = 3;
const ENTRY = 4;
const GH = 5;
const ROW = 6;
const E = 7;
const LAST = 8;
const P = 9;
const PAIR = 10;

const body: number[] = [
  ...[BLOCK, VOID, LOOP, VOID],
  // if (at >= end) break
  ...[GET, AT, GET, END_AT, I32_GE_U, BR_IF, 1],
  // row = u32[at]
  ...[GET, AT, I32_LOAD, 2, 0, SET, ROW],
  // pair = v128[gh + 16 row]
  ...[GET, GH, GET, ROW, I32_CONST, 4, I32_SHL, I32_ADD, ...V128_LOAD, 3, 0, SET, PAIR],
  // p = start + 4 row; e = entry + 4 u32[p]; last = entry + 4 u32[p + 4]
  ...[GET, START, GET, ROW, I32_CONST, 2, I32_SHL, I32_ADD, TEE, P],
  ...[I32_LOAD, 2, 0, I32_CONST, 2, I32_SHL, GET, ENTRY, I32_ADD, SET, E],
  ...[GET, P, I32_LOAD, 2, 4, I32_CONST, 2, I32_SHL, GET, ENTRY, I32_ADD, SET, LAST],
  ...[BLOCK, VOID, LOOP, VOID],
  // if (e >= last) break
  ...[GET, E, GET, LAST, I32_GE_U, BR_IF, 1],
  // p = hist + u32[e]; v128[p] += pair; f64[p + 16] += 1
  ...[GET, HIST, GET, E, I32_LOAD, 2, 0, I32_ADD, TEE, P],
  ...[GET, P, ...V128_LOAD, 3, 0, GET, PAIR, ...F64X2_ADD, ...V128_STORE, 3, 0],
  ...[GET, P, GET, P, F64_LOAD, 3, 16, F64_CONST, ...F64_ONE, F64_ADD, F64_STORE, 3, 16],
  // e += 4; continue
  ...[GET, E, I32_CONST, 4, I32_ADD, SET, E, BR, 0],
  ...[END, END],
  // at += 4; continue
  ...[GET, AT, I32_CONST, 4, I32_ADD, SET, AT, BR, 0],
  ...[END, END],
  END,
];
const locals = [2, ...uleb(4), I32, 1, V128];

// partition(col, at, end, tmp, bin, missingBin, missingLeft) -> left count:
// a stable partition of the u32 rows at byte addresses at .. end - 4 by
// their byte col[row]: rows going left (missingLeft for the missing bin,
// else byte <= bin) are compacted in place from at, rows going right are
// written from tmp. Branch-free: each row is stored on both sides and only
// one side's cursor advances (the side is data-dependent, a branch would
// mispredict often).
const COL = 0;
const P_AT = 1;
const P_END = 2;
const TMP = 3;
const BIN = 4;
const MISSING_BIN = 5;
const MISSING_LEFT = 6;
const P_ROW = 7;
const LEFT = 8;
const OUT = 9;
const TMP_AT = 10;
const FIRST = 11;
const BYTE = 12;
const partitionBody: number[] = [
  ...[GET, P_AT, TEE, FIRST, SET, OUT, GET, TMP, SET, TMP_AT],
  ...[BLOCK, VOID, LOOP, VOID],
  ...[GET, P_AT, GET, P_END, I32_GE_U, BR_IF, 1],
  ...[GET, P_AT, I32_LOAD, 2, 0, SET, P_ROW],
  // left = byte === missingBin ? missingLeft : byte <= bin
  ...[GET, MISSING_LEFT],
  ...[GET, COL, GET, P_ROW, I32_ADD, I32_LOAD8_U, 0, 0, TEE, BYTE, GET, BIN, I32_LE_U],
  ...[GET, BYTE, GET, MISSING_BIN, I32_EQ, SELECT, SET, LEFT],
  ...[GET, OUT, GET, P_ROW, I32_STORE, 2, 0, GET, TMP_AT, GET, P_ROW, I32_STORE, 2, 0],
  // out += 4 left; tmpAt += 4 (1 - left)
  ...[GET, OUT, GET, LEFT, I32_CONST, 2, I32_SHL, I32_ADD, SET, OUT],
  ...[GET, TMP_AT, I32_CONST, 4, GET, LEFT, I32_CONST, 2, I32_SHL, I32_SUB, I32_ADD, SET, TMP_AT],
  ...[GET, P_AT, I32_CONST, 4, I32_ADD, SET, P_AT, BR, 0],
  ...[END, END],
  ...[GET, OUT, GET, FIRST, I32_SUB, I32_CONST, 2, I32_SHR_U],
  END,
];
const partitionLocals = [1, ...uleb(6), I32];

function funcBody(locals: number[], body: number[]): number[] {
  return [...uleb(locals.length + body.length), ...locals, ...body];
}

const MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [2, 0x60, 6, ...Array(6).fill(I32), 0, 0x60, 7, ...Array(7).fill(I32), 1, I32]),
  ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x00, 0]),
  ...section(3, [2, 0, 1]),
  ...section(7, [2, ...name("accumulate"), 0x00, 0, ...name("partition"), 0x00, 1]),
  ...section(10, [2, ...funcBody(locals, body), ...funcBody(partitionLocals, partitionBody)]),
]);

const compiled = new wasm.Module(MODULE);

/** The kernel bound to one memory. */
export type AccumulateKernel = (
  hist: number,
  at: number,
  end: number,
  start: number,
  entry: number,
  gh: number,
) => void;

/** The partition kernel bound to one memory; returns the number of rows that went left. */
export type PartitionKernel = (
  col: number,
  at: number,
  end: number,
  tmp: number,
  bin: number,
  missingBin: number,
  missingLeft: number,
) => number;

const PAGE = 65536;

/** This process's one kernel memory, its kernels, and the KernelMemory using it now. */
let shared: {
  memory: WasmMemory;
  accumulate: AccumulateKernel;
  partition: PartitionKernel;
  owner: KernelMemory | null;
} | null = null;

/**
 * The kernel memory for one fit, handed out as typed arrays in order
 * (16-byte aligned). There is one WebAssembly.Memory per process, taken
 * over by each new KernelMemory (and grown when too small): a fresh memory
 * per fit is freed only when the garbage collector gets to it, and in the
 * train step's 5-fold cross-validation at 100k rows the lingering ones
 * raised the peak RSS by 42 MB. Fits are synchronous, so two never run at
 * once; a KernelMemory whose memory was taken over refuses to run.
 */
export class KernelMemory {
  private readonly buffer: ArrayBuffer;
  private next = 0;

  /** The process's kernel memory, at least `bytes` bytes, for this fit. */
  constructor(bytes: number) {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    if (shared === null) {
      const memory = new wasm.Memory({ initial: pages });
      const instance = new wasm.Instance(compiled, { env: { memory } });
      shared = {
        memory,
        accumulate: instance.exports.accumulate as AccumulateKernel,
        partition: instance.exports.partition as PartitionKernel,
        owner: null,
      };
    } else {
      const have = shared.memory.buffer.byteLength / PAGE;
      if (have < pages) shared.memory.grow(pages - have);
    }
    shared.owner = this;
    this.buffer = shared.memory.buffer;
  }

  /** The histogram kernel (see AccumulateKernel) on this memory. */
  accumulate(hist: number, at: number, end: number, start: number, entry: number, gh: number): void {
    this.own().accumulate(hist, at, end, start, entry, gh);
  }

  /** The partition kernel (see PartitionKernel) on this memory. */
  partition(
    col: number,
    at: number,
    end: number,
    tmp: number,
    bin: number,
    missingBin: number,
    missingLeft: number,
  ): number {
    return this.own().partition(col, at, end, tmp, bin, missingBin, missingLeft);
  }

  private own(): NonNullable<typeof shared> {
    if (shared === null || shared.owner !== this) {
      throw new Error("KernelMemory: a later fit has taken over the kernel memory of this one");
    }
    return shared;
  }

  /** Bytes a request for `length` elements of `bytesPer` bytes takes, alignment included. */
  static size(length: number, bytesPer: number): number {
    return Math.ceil((length * bytesPer) / 16) * 16;
  }

  /** The next `length` doubles. */
  f64(length: number): Float64Array {
    return new Float64Array(this.buffer, this.take(KernelMemory.size(length, 8)), length);
  }

  /** The next `length` bytes. */
  u8(length: number): Uint8Array {
    return new Uint8Array(this.buffer, this.take(KernelMemory.size(length, 1)), length);
  }

  /** The next `length` unsigned 32-bit integers. */
  u32(length: number): Uint32Array {
    return new Uint32Array(this.buffer, this.take(KernelMemory.size(length, 4)), length);
  }

  private take(bytes: number): number {
    const at = this.next;
    if (at + bytes > this.buffer.byteLength) {
      throw new RangeError(`KernelMemory: ${bytes} more bytes do not fit in ${this.buffer.byteLength}`);
    }
    this.next = at + bytes;
    // A reused memory holds the previous fit's arrays: start every array at 0, as a new one would.
    new Uint8Array(this.buffer, at, bytes).fill(0);
    return at;
  }
}
