import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/**
 * Debian's chromium, installed by test/services/install-chromium.sh. Playwright's
 * bundled browsers come from a CDN CI cannot reach, so the tests drive the
 * system browser instead; CHROMIUM overrides the path.
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHROMIUM) return env.CHROMIUM;
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium is not installed: run bash test/services/install-chromium.sh");
  }
}

/** Launch headless chromium with no network beyond loopback. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: CI runs as root in a container, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

/** Where browser tests keep screenshots: kept after the run as test artefacts (gitignored). */
export const artefactDir = resolve(import.meta.dirname, "..", "..", "test-artefacts");

/** Save a full-page screenshot under test-artefacts/ and return its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artefactDir, { recursive: true });
  const path = join(artefactDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collect console errors and uncaught page errors, so a test can assert a page
 * rendered cleanly. Call before navigating.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}
