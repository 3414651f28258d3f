import type { Readable } from "node:stream";
import { TransientError } from "../errors.js";
import type { ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";

/** gs:// driver through @google-cloud/storage. (Being written: see the storage issue work.) */
export class GcsStorage implements Storage {
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    readonly uri: string,
  ) {}
  private todo(): never {
    throw new TransientError("the gs:// driver is not implemented yet");
  }
  stat(_name: string): Promise<ObjectInfo | null> {
    return this.todo();
  }
  list(_prefix: string, _options?: ListOptions): Promise<ObjectInfo[]> {
    return this.todo();
  }
  createReadStream(_name: string, _options?: ReadOptions): Readable {
    return this.todo();
  }
  readBytes(_name: string): Promise<Buffer> {
    return this.todo();
  }
  readText(_name: string): Promise<string> {
    return this.todo();
  }
  write(_name: string, _data: unknown, _options?: WriteOptions): Promise<ObjectInfo> {
    return this.todo();
  }
  createIfAbsent(_name: string, _data: unknown): Promise<ObjectInfo | null> {
    return this.todo();
  }
  copy(_s: string, _t: string): Promise<ObjectInfo> {
    return this.todo();
  }
  delete(_name: string): Promise<void> {
    return this.todo();
  }
  deletePrefix(_prefix: string): Promise<number> {
    return this.todo();
  }
}
