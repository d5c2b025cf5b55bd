import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { CHROMIUM_ARGS } from '../../services/session-runner/src/engine/webjs.engine';

/** The system Chromium the browser tests launch (CHROME_PATH, as the runner reads it). */
export const CHROME = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** `describe` when Chromium is installed; otherwise `describe.skip`, saying so in one line. */
export function describeWithChromium(suite: string): jest.Describe {
  if (existsSync(CHROME)) return describe;
  process.stderr.write(`${suite}: skipped, no Chromium at ${CHROME} (apt-get install -y chromium, or set CHROME_PATH)\n`);
  return describe.skip;
}

export interface TestChromium {
  browser: Browser;
  /** Closes the browser, then removes its profile directory. */
  close(): Promise<void>;
}

/** The system Chromium, headless with the runner's flags, on a profile directory of its own. */
export async function launchChromium(label: string): Promise<TestChromium> {
  const profileDir = mkdtempSync(join(tmpdir(), `wa-sync-${label}-profile-`));
  const clean = () => rmSync(profileDir, { recursive: true, force: true });
  try {
    const browser = await puppeteer.launch({ executablePath: CHROME, headless: true, userDataDir: profileDir, args: CHROMIUM_ARGS });
    return {
      browser,
      async close() {
        try {
          await browser.close();
        } finally {
          clean();
        }
      },
    };
  } catch (err) {
    clean();
    throw err;
  }
}
