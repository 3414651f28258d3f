import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStorage } from "../components/common/storage/index.js";
import { championSource } from "./champion-source.js";
import { fakeModel, testSchema } from "./testing/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("championSource", () => {
  it("loads through the loader and signals a change when models/champion is rewritten", async () => {
    const dir = mkdtempSync(join(tmpdir(), "champion-source-"));
    dirs.push(dir);
    const storage = await openStorage(dir);
    await storage.write("models/champion", "1\n");
    const loader = async () =>
      fakeModel(testSchema(), { seed: Number(await storage.readText("models/champion")) });
    const source = championSource(storage, loader, { pollMs: 10 });
    const first = await source.load();
    expect(first?.version).toBe(fakeModel(testSchema(), { seed: 1 }).version);
    let changes = 0;
    const stop = source.watch!(() => changes++);
    await new Promise((r) => setTimeout(r, 60));
    expect(changes).toBe(0);
    await new Promise((r) => setTimeout(r, 20)); // a different mtime for the file driver's generation
    await storage.write("models/champion", "2\n");
    for (let i = 0; i < 100 && changes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(changes).toBeGreaterThan(0);
    expect((await source.load())?.version).toBe(fakeModel(testSchema(), { seed: 2 }).version);
    const after = changes;
    await new Promise((r) => setTimeout(r, 60));
    expect(changes).toBe(after); // seen generation updated by the successful load
    stop();
  });
});
