import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, toolSkip } from './helpers';

/** The Debian chromium package's browser (POSWIPE_CHROMIUM overrides); tests that need it skip, saying so, when it is missing. */
export const CHROMIUM = process.env.POSWIPE_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumSkip: string | false = toolSkip(existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium): browser test skipped`);

export const ARTIFACTS = path.join(ROOT, 'build', 'test-artifacts');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** uncaught page errors and console errors, for assertions */
  errors: string[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile (user data dir) of its own. */
export async function launchChromium(viewport = { width: 1500, height: 1000 }): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'poswipe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport, timeout: 30000 });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
