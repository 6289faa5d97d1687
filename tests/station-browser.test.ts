import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI } from './helpers';
import { artifact, chromiumSkip, launchChromium } from './browser';

/**
 * End to end: `poswipe station` with three emulated terminals (one with a stuck byte) on a free
 * loopback port, driven through its page in headless Chromium.
 */
test(
  'station page: start three terminals, two end verified with certificate links, the stuck one failed with its block marked',
  { skip: chromiumSkip, timeout: 55000 },
  async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'poswipe-station-e2e-'));
    const proc = spawn(
      process.execPath,
      [CLI, 'station', '--board', 'stm32f407', '--port', 'emu', '--port', 'emu', '--port', 'emu:stuck@0x08012345', '--listen', '127.0.0.1:0'],
      {
        cwd: work,
        env: { ...process.env, POSWIPE_CONFIG_DIR: path.join(work, 'config'), POSWIPE_AUDIT_DB: path.join(work, 'audit.sqlite') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const browser = await (async () => {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`station did not print its address: ${out} ${stderr}`)), 15000);
        proc.stdout.on('data', (d) => {
          out += d;
          const m = /station: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        proc.on('exit', (code) => reject(new Error(`station exited (${code}): ${stderr}`)));
      });
      const b = await launchChromium();
      await b.page.goto(url);
      return b;
    })();
    const { page } = browser;
    try {
      await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
      const tiles = page.locator('article.tile');
      assert.equal(await tiles.count(), 3);
      for (const id of ['t1', 't2', 't3']) {
        assert.equal(await page.locator(`#tile-${id} .cell`).count(), 256, `${id}: one cell per 4 KiB block`);
        assert.equal(await page.locator(`#tile-${id}`).getAttribute('data-status'), 'idle');
      }
      // Start each terminal: the first from the keyboard, the others with the mouse
      await page.locator('#tile-t1 button[data-action="start"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('#tile-t2 button[data-action="start"]').click();
      await page.locator('#tile-t3 button[data-action="start"]').click();

      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('article.tile')).every((t) =>
            ['verified', 'failed', 'error', 'stopped'].includes(t.getAttribute('data-status') ?? ''),
          ),
        null,
        { timeout: 30000 },
      );
      const status = async (id: string): Promise<string | null> => page.locator(`#tile-${id}`).getAttribute('data-status');
      assert.equal(await status('t1'), 'verified', (await page.locator('#tile-t1 .reason').textContent()) ?? '');
      assert.equal(await status('t2'), 'verified', (await page.locator('#tile-t2 .reason').textContent()) ?? '');
      assert.equal(await status('t3'), 'failed');

      const uids = await page.locator('.f-uid').allTextContents();
      assert.equal(new Set(uids).size, 3, `three different terminals: ${uids.join(', ')}`);
      for (const id of ['t1', 't2']) {
        assert.equal(await page.locator(`#tile-${id} .cell[data-state="verified"]`).count(), 256);
        const pdf = page.locator(`#tile-${id} .links a[data-rel="certificate-pdf"]`);
        const json = page.locator(`#tile-${id} .links a[data-rel="certificate-json"]`);
        assert.equal(await pdf.count(), 1, `${id} links to its certificate PDF`);
        assert.equal(await json.count(), 1, `${id} links to its certificate JSON`);
        const pdfRes = await page.request.get(new URL((await pdf.getAttribute('href'))!, page.url()).href);
        assert.equal(pdfRes.status(), 200);
        assert.equal(pdfRes.headers()['content-type'], 'application/pdf');
        assert.equal((await pdfRes.body()).subarray(0, 5).toString('latin1'), '%PDF-');
        const jsonRes = await page.request.get(new URL((await json.getAttribute('href'))!, page.url()).href);
        assert.equal(jsonRes.status(), 200);
        const uid = (await page.locator(`#tile-${id} .f-uid`).textContent())!;
        assert.ok((await jsonRes.text()).includes(uid), `${id}: the certificate names the terminal's unique ID`);
      }
      // the failing block is marked on the stuck terminal's map, and only that one
      const failedCell = page.locator('#tile-t3 .cell[data-address="0x08012000"]');
      assert.equal(await failedCell.getAttribute('data-state'), 'failed');
      assert.equal(await page.locator('#tile-t3 .cell[data-state="failed"]').count(), 1);
      assert.match((await page.locator('#tile-t3 .failed-list').textContent()) ?? '', /0x08012000/);
      assert.match((await page.locator('#tile-t3 .map').getAttribute('aria-label')) ?? '', /1 failed.*0x08012000/);
      assert.equal(await page.locator('#tile-t3 .links a[data-rel^="certificate"]').count(), 0, 'a failed terminal is never certified');
      assert.equal(await page.locator('#tile-t3 .links a[data-rel="failure-report"]').count(), 1);
      assert.equal(await page.locator('#tile-t3 button[data-action="rerun"]').isEnabled(), true);
      assert.equal(await page.locator('#tile-t1 button[data-action="rerun"]').isEnabled(), false);

      await page.screenshot({ path: artifact('station.png'), fullPage: true });
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
      proc.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, `station exit on SIGTERM: ${stderr}`);
    }
  },
);
