import { describe, expect, it } from "vitest";
import { componentNames, loadComponent } from "../../index.js";
import { parseConfigText } from "../config/load.js";
import { CONFIG_PORT, configDigest, effectiveSettings } from "./reads.js";

describe("the churn.yaml sections a component reads", () => {
  it("every component with a config input declares them, and only real sections", async () => {
    const known = Object.keys(
      parseConfigText("id_column: id\nlabel: {column: flag, positive: yes}\n", "churn.yaml"),
    );
    for (const name of componentNames()) {
      const component = await loadComponent(name);
      if (!(CONFIG_PORT in component.inputs)) continue;
      expect(component.reads, `${name} declares no reads`).not.toBeNull();
      for (const section of component.reads ?? [])
        expect(known, `${name} reads ${section}`).toContain(section);
    }
  });

  it("the training steps never read the notify, campaign or passthrough settings", async () => {
    for (const name of ["train", "feature", "evaluate"]) {
      const reads = (await loadComponent(name)).reads ?? [];
      for (const section of ["notify", "campaign", "passthrough", "publish"] as const)
        expect(reads, `${name} reads ${section}`).not.toContain(section);
    }
    expect((await loadComponent("contact-list")).reads).toContain("campaign");
    expect((await loadComponent("score")).reads).toContain("passthrough");
  });

  it("the digest is of the effective settings: key order and comments do not count", () => {
    const a = "id_column: id\ntrain: {seed: 3, cv_folds: 4}\n";
    const b = "# hello\ntrain:\n  cv_folds: 4\n  seed: 3\nid_column: id\n";
    expect(configDigest(a, "a", ["train"])).toBe(configDigest(b, "b", ["train"]));
    expect(configDigest(a, "a", ["train"])).not.toBe(configDigest(a, "a", ["train", "tiers"]));
    const settings = effectiveSettings(parseConfigText(a, "a"), ["train"]);
    expect(Object.keys(settings)).toEqual(["train"]);
  });
});
