import { existsSync } from 'node:fs';

/** The system Chromium the browser tests launch (CHROME_PATH, as the runner reads it). */
export const CHROME = process.env.CHROME_PATH ?? '/usr/bin/chromium';

/** `describe` when Chromium is installed; otherwise `describe.skip`, saying so in one line. */
export function describeWithChromium(suite: string): jest.Describe {
  if (existsSync(CHROME)) return describe;
  process.stderr.write(`${suite}: skipped, no Chromium at ${CHROME} (apt-get install -y chromium, or set CHROME_PATH)\n`);
  return describe.skip;
}
