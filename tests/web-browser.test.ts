import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildWeb } from '../host/web/build';
import { artifact, chromiumSkip, launchChromium } from './browser';

/**
 * The static Web Serial build (npm run build:web) in headless Chromium: the host core runs in the
 * page and erases the in-page emulated terminal, once through the Web Serial transport (a virtual
 * port) and once through the emulator transport with a stuck byte.
 */
test(
  'web build: the page erases in-page emulated terminals (via the Web Serial transport, and a stuck one)',
  { skip: chromiumSkip, timeout: 55000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'poswipe-web-'));
    const built = await buildWeb(dir);
    assert.ok(built.bundleBytes > 10000);
    // a plain static server on loopback (a secure context, as Web Serial needs)
    const server = createServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/$/, '/index.html').slice(1);
      const file = path.join(dir, path.basename(name));
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const type = file.endsWith('.html')
        ? 'text/html'
        : file.endsWith('.css')
          ? 'text/css'
          : file.endsWith('.js')
            ? 'text/javascript'
            : 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': statSync(file).size });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await launchChromium({ width: 1200, height: 900 });
    const { page } = browser;
    try {
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
      assert.ok((await page.locator('#board option').count()) >= 5, 'the boards are embedded');
      await page.selectOption('#board', 'stm32f407');
      await page.selectOption('#method', 'purge');
      await page.selectOption('#link', 'webserial');
      await page.click('#add-emulated');
      await page.selectOption('#link', 'direct');
      await page.selectOption('#fault', 'stuck@0x08012345');
      await page.click('#add-emulated');
      assert.equal(await page.locator('article.tile').count(), 2);
      assert.match((await page.locator('#tile-t1 .port').textContent()) ?? '', /via Web Serial/);
      assert.equal(await page.locator('#tile-t1 .cell').count(), 256);

      await page.click('#start-all');
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('article.tile')).every((t) =>
            ['verified', 'failed', 'error', 'stopped'].includes(t.getAttribute('data-status') ?? ''),
          ),
        null,
        { timeout: 40000 },
      );
      assert.equal(await page.locator('#tile-t1').getAttribute('data-status'), 'verified', (await page.locator('#tile-t1 .reason').textContent()) ?? '');
      assert.equal(await page.locator('#tile-t1 .cell[data-state="verified"]').count(), 256);
      assert.match((await page.locator('#tile-t1 .f-uid').textContent()) ?? '', /^[0-9a-f]{24}$/);
      // the run's JSON report, made in the page
      const report = await page.evaluate(async () => {
        const a = document.querySelector('#tile-t1 .links a[data-rel="report"]') as HTMLAnchorElement;
        return (await fetch(a.href)).json();
      });
      assert.equal(report.verified, true);
      assert.equal(report.blocks.length, 256);
      assert.equal(report.method, 'purge');
      assert.match(report.nonce, /^[0-9a-f]{64}$/);

      assert.equal(await page.locator('#tile-t2').getAttribute('data-status'), 'failed');
      assert.equal(await page.locator('#tile-t2 .cell[data-address="0x08012000"]').getAttribute('data-state'), 'failed');
      assert.equal(await page.locator('#tile-t2 .cell[data-state="failed"]').count(), 1);

      await page.screenshot({ path: artifact('web.png'), fullPage: true });
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
);
